"""The feature assets materialized through Dagster from demo data on real databases."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract import spec
from inventory_assets.defs import constants
from inventory_assets.io import db
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import (
    check_results,
    materialize,
    materialized_keys,
    metadata_text,
    point_databases_at,
    value,
    write_demo,
)

FEATURES = dg.AssetSelection.groups(constants.SOURCES_GROUP, constants.FEATURES_GROUP)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_features_materialize_with_their_metadata(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    result = materialize(FEATURES, raise_on_error=True)
    checks = check_results(result)
    assert checks["merged_dataset_valid"].passed and checks["abc_risk_features_valid"].passed
    assert checks["demand_forecast_valid"].passed
    features = value(result, "abc_risk_features")
    inventory = value(result, "inventory")
    assert len(features) == len(inventory)
    assert set(features["abc_class"]) <= {"A", "B", "C"}
    assert features["stockout_risk"].between(0, 1).all()
    events = {
        e.materialization.asset_key.to_user_string(): e.materialization
        for e in result.get_asset_materialization_events()
    }
    metadata = events["abc_risk_features"].metadata
    assert metadata["items_at_risk"].value == int((features["stockout_risk"] > 0.5).sum())
    assert isinstance(metadata["expected_waste_value"].value, float)
    assert "A" in metadata_text(metadata["pareto"])
    forecast = value(result, "demand_forecast")
    np.testing.assert_allclose(features["forecast_demand_mean"], forecast["echelon_forecast_mean"])
    shown = events["demand_forecast"].metadata
    assert shown["forecast_method"].value == "auto"
    counts = [shown[f"method_{m}_rows"].value for m in spec.FORECAST_MODELS + spec.FORECAST_FALLBACKS]
    assert sum(int(str(c)) for c in counts) == len(forecast)
    assert "data:image/png;base64," in metadata_text(shown["examples_chart"])
    assert "baseline_rmsse" in metadata_text(shown["accuracy_by_method"])
    assert "baseline_pinball_loss" in metadata_text(metadata["forecast_accuracy_by_abc_class"])
    # the forecast's pinball loss is scored at each row's own service level
    np.testing.assert_array_equal(forecast["pinball_quantile"].to_numpy(), features["service_level"].to_numpy())
    assert metadata["forecast_pinball_at_other_service_level_rows"].value == 0
    merged = events["merged_dataset"].metadata
    assert merged["window_days"].value == 45
    assert merged["dagster/row_count"].value == len(inventory)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_features_say_when_the_forecast_scored_rows_at_another_service_level(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    config = {"ops": {"abc_risk_features": {"config": {"service_level_c": 0.8}}}}
    result = materialize(FEATURES, run_config=config, raise_on_error=True)
    features = value(result, "abc_risk_features")
    forecast = value(result, "demand_forecast")
    c_rows = int((features["abc_class"] == "C").sum())
    assert c_rows > 0 and (features.loc[features["abc_class"] == "C", "service_level"] == 0.8).all()
    assert (forecast.loc[features["abc_class"] == "C", "pinball_quantile"] == 0.9).all()
    events = {
        e.materialization.asset_key.to_user_string(): e.materialization
        for e in result.get_asset_materialization_events()
    }
    assert events["abc_risk_features"].metadata["forecast_pinball_at_other_service_level_rows"].value == c_rows


def _frames(urls: dict[str, str]) -> dict[str, pd.DataFrame]:
    write_demo(urls)
    result = materialize(FEATURES, raise_on_error=True)
    return {name: value(result, name) for name in ("merged_dataset", "demand_forecast", "abc_risk_features")}


@pytest.mark.postgresql
def test_sqlite_and_postgresql_give_the_same_features(
    tmp_path, monkeypatch: pytest.MonkeyPatch, postgres_database: str
) -> None:
    frames = {}
    for backend, url in (("sqlite", None), ("postgresql", postgres_database)):
        frames[backend] = _frames(point_databases_at(url, tmp_path, monkeypatch))
    for name in ("merged_dataset", "demand_forecast", "abc_risk_features"):
        pd.testing.assert_frame_equal(frames["sqlite"][name], frames["postgresql"][name], rtol=1e-9, obj=name)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_failed_source_check_stops_everything_downstream(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    with db.make_engine(database_env[db.ONPREM_URL_VAR]).begin() as conn:
        conn.execute(sa.text("UPDATE costs SET unit_cost = -1 WHERE product_id = 'P000001'"))
    result = materialize(FEATURES)
    assert not check_results(result)[constants.VALID_CHECK.format(table="costs")].passed
    assert "merged_dataset" not in materialized_keys(result)
    assert "abc_risk_features" not in materialized_keys(result)
