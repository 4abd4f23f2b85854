"""Helpers shared by the tests: demo databases, materializing through Dagster, reading results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from inventory_assets.definitions import defs
from inventory_assets.defs import constants
from inventory_assets.demo import data as demo_data
from inventory_assets.io import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: A demo small enough for a test: 30 products at 1 DC + 2 stores, 45 days of sales.
TINY = demo_data.DemoSpec(products=30, dcs=1, stores=2, days=45, seed=7)
#: TINY with enough history for the default backtest (8 held-out weeks and 28 days of features before them).
BACKTESTABLE = demo_data.DemoSpec(products=30, dcs=1, stores=2, days=84, seed=7)


def write_demo(urls: dict[str, str], spec: demo_data.DemoSpec = TINY) -> dict[str, int]:
    """Generate ``spec`` into the cloud and on-prem databases named by ``urls`` (replacing tables)."""
    return demo_data.build(spec, urls[db.CLOUD_URL_VAR], urls[db.ONPREM_URL_VAR], replace=True)


def point_databases_at(url: str | None, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Point the three database variables at ``url`` (emptied first), or at fresh SQLite files when None."""
    from inventory_assets_tests.conftest import drop_all_tables

    if url is None:
        urls = {var: f"sqlite:///{tmp_path / (var.lower() + '.db')}" for var in db.DEFAULT_URLS}
    else:
        drop_all_tables(url)
        urls = {var: url for var in db.DEFAULT_URLS}
    for var, value_ in urls.items():
        monkeypatch.setenv(var, value_)
    return urls


def all_assets_and_checks() -> list:
    """Every asset and asset check of the project's definitions."""
    assets = defs().assets
    assert assets is not None, "the definitions have no assets"
    return [*assets, *(defs().asset_checks or [])]


def materialize(
    selection: str | Sequence[str] | dg.AssetSelection = constants.PLANNING_SELECTION,
    *,
    instance: dg.DagsterInstance | None = None,
    run_config: dict | dg.RunConfig | None = None,
    raise_on_error: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialize ``selection`` (default: the planning graph, as ``planning_job``) of the project's
    definitions in process, against the env's databases."""
    return dg.materialize(
        all_assets_and_checks(),
        selection=selection,
        resources=defs().resources,
        instance=instance or dg.DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def refused_at_run_start(result: dg.ExecuteInProcessResult) -> str:
    """The errors of a run whose config was refused when it started (`defs/run_config.py`), after asserting
    that it failed before any step started and that nothing was retried."""
    assert not result.success
    kinds = {e.event_type_value for e in result.all_events}
    assert "STEP_START" not in kinds and "STEP_UP_FOR_RETRY" not in kinds, kinds
    errors = [getattr(e.event_specific_data, "error", None) for e in result.all_events]
    return "\n".join(error.message for error in errors if error is not None)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's check evaluations by check name."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized_keys(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        e.step_materialization_data.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }


def value(result: dg.ExecuteInProcessResult, asset: str) -> pd.DataFrame:
    return result.asset_value(dg.AssetKey(asset))


def metadata_text(entry: dg.MetadataValue) -> str:
    """The text of a text or markdown metadata entry (asserted to be text)."""
    value = entry.value
    assert isinstance(value, str), f"expected text metadata, got {type(value).__name__}"
    return value
