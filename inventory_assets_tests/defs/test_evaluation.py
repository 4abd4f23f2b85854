"""``policy_backtest`` and ``backtest_job``: the asset on the tiny demo, its metadata, its config, its failures."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from inventory_assets.backtest import POLICIES, BacktestSettings
from inventory_assets.backtest.settings import FIELD_DOCS
from inventory_assets.definitions import defs
from inventory_assets.defs.evaluation.assets import EVALUATION_GROUP, BacktestConfig, policy_backtest
from inventory_assets.io import backtest_store, db
from inventory_assets.reporting.charts import PNG_MAGIC
from inventory_assets_tests.helpers import (
    materialize,
    metadata_text,
    point_databases_at,
    refused_at_run_start,
    write_demo,
)


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    urls = point_databases_at(None, tmp_path, monkeypatch)
    write_demo(urls)
    return urls


def _config(**values: object) -> dg.RunConfig:
    return dg.RunConfig(ops={"policy_backtest": BacktestConfig(**values)})


def _png(entry: dg.MetadataValue) -> bytes:
    text = metadata_text(entry)
    prefix = "data:image/png;base64,"
    assert prefix in text
    return base64.b64decode(text.split(prefix, 1)[1].rstrip(")"))


def test_the_backtest_is_written_and_shown_with_a_table_and_charts(demo_env: dict[str, str]) -> None:
    result = materialize(["policy_backtest"], run_config=_config(weeks=2, budget=20_000.0), raise_on_error=True)
    [event] = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    assert metadata_text(metadata["backtest_id"]) == result.run_id

    table = metadata["comparison"].value
    assert isinstance(table, dg.TableMetadataValue)
    assert [r.data["policy"] for r in table.records] == list(POLICIES)
    assert {c.name for c in table.schema.columns} >= {"fill_rate", "mean_on_hand_value", "waste_value", "spend"}
    for name in ("fill_rate_vs_inventory", "weekly_fill_rate"):
        png = _png(metadata[name])
        assert png.startswith(PNG_MAGIC) and len(png) > 2_000
    assert isinstance(metadata["plan/fill_rate"].value, float)

    run, results, weekly = backtest_store.latest_backtest(demo_env[db.PLAN_URL_VAR])
    assert run is not None and run["backtest_id"] == result.run_id
    assert (run["weeks"], run["budget"]) == (2, 20_000.0)
    assert metadata["dagster/row_count"].value == len(results)
    plan_total = results[
        (results["policy"] == "plan") & (results["abc_class"] == "all") & (results["echelon"] == "all")
    ]
    assert metadata["plan/fill_rate"].value == pytest.approx(float(plan_total["fill_rate"].iloc[0]))
    assert len(weekly) == 2 * len(POLICIES)


def test_unknown_policies_fail_without_retry_and_write_nothing(demo_env: dict[str, str]) -> None:
    result = materialize(["policy_backtest"], run_config=_config(weeks=2, policies=["plan", "magic"]))
    assert "policy_backtest: policies must be distinct names among" in refused_at_run_start(result)
    assert not sa.inspect(db.make_engine(demo_env[db.PLAN_URL_VAR])).has_table("backtest_runs")


def test_invalid_sources_fail_listing_the_failures(demo_env: dict[str, str]) -> None:
    with db.make_engine(demo_env[db.ONPREM_URL_VAR]).begin() as conn:
        conn.execute(sa.text("UPDATE inventory SET on_hand = -1 WHERE rowid IN (SELECT rowid FROM inventory LIMIT 3)"))
    result = materialize(["policy_backtest"], run_config=_config(weeks=2))
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    text = str(failures[-1].step_failure_data.error)
    assert "not valid" in text and "inventory" in text and "on_hand" in text
    assert [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY] == []


def test_a_window_too_short_is_a_permanent_failure(demo_env: dict[str, str]) -> None:
    result = materialize(["policy_backtest"], run_config=_config(weeks=7))
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "feature window is too short" in str(failures[-1].step_failure_data.error)
    assert [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY] == []


def test_backtest_job_holds_only_the_evaluation_group_and_planning_job_leaves_it_out() -> None:
    definitions = defs()
    backtest = definitions.resolve_job_def("backtest_job").asset_layer.selected_asset_keys
    planning = definitions.resolve_job_def("planning_job").asset_layer.selected_asset_keys
    assert backtest == {dg.AssetKey("policy_backtest")}
    assert dg.AssetKey("policy_backtest") not in planning
    assert {dg.AssetKey("published_plan"), dg.AssetKey("sales")} <= planning
    spec = definitions.resolve_assets_def("policy_backtest").specs_by_key[dg.AssetKey("policy_backtest")]
    assert spec.group_name == EVALUATION_GROUP
    assert spec.kinds and spec.description
    assert policy_backtest.required_resource_keys >= {"cloud_db", "onprem_db", "plan_db"}


def test_the_config_is_the_settings_every_field_described() -> None:
    fields = BacktestConfig.model_fields
    assert set(fields) == set(FIELD_DOCS)
    for name, field in fields.items():
        assert field.description == FIELD_DOCS[name]
    assert BacktestConfig().parameters() == BacktestSettings()
    knobs: dict[str, object] = {"policies": ["plan"], "weeks": 3}
    assert BacktestConfig(**knobs).parameters() == BacktestSettings(policies=("plan",), weeks=3)
