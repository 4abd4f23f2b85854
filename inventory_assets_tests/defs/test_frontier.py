"""The budget_frontier asset through Dagster on a real database: its own job, points written with the run
id, a chart and words in the metadata, a bad grid refused."""

from __future__ import annotations

import base64
import re

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.defs import constants
from inventory_assets.io import frontier_store
from inventory_assets.reporting.charts import PNG_MAGIC
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import materialize, metadata_text, refused_at_run_start, write_demo

WITH_FRONTIER = constants.PLANNING_SELECTION | dg.AssetSelection.assets(constants.FRONTIER_KEY)


def test_the_frontier_has_its_own_job_and_is_not_in_planning_job() -> None:
    definitions = defs()
    frontier_job = definitions.resolve_job_def("frontier_job")
    planning_job = definitions.resolve_job_def("planning_job")
    assert constants.FRONTIER_KEY in frontier_job.asset_layer.executable_asset_keys
    assert constants.FRONTIER_KEY not in planning_job.asset_layer.executable_asset_keys


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_budget_frontier_writes_its_points_and_explains_them(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    run_config = {"ops": {"budget_frontier": {"config": {"budgets": [20_000.0, 50_000.0, 100_000.0]}}}}
    result = materialize(WITH_FRONTIER, run_config=run_config, raise_on_error=True)
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == constants.FRONTIER_KEY
    ).materialization
    points = frontier_store.read_frontier(database_env["INVENTORY_PLAN_DB_URL"], result.run_id)
    assert points["point"].tolist() == list(range(1, len(points) + 1))
    assert points["budget"].iloc[-1] == pytest.approx(points["saturation_budget"].iloc[0])
    assert points["is_configured"].astype(bool).sum() == 1  # the configured 100,000 is a point
    assert event.metadata["dagster/row_count"].value == len(points)
    words = metadata_text(event.metadata["what_more_budget_buys"])
    assert "more budget buys nothing" in words and "$" in words
    chart = re.search(r"base64,([A-Za-z0-9+/=]+)\)", metadata_text(event.metadata["frontier_chart"]))
    assert chart and base64.b64decode(chart.group(1)).startswith(PNG_MAGIC)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_bad_grid_fails_without_retry_and_writes_nothing(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    run_config = {"ops": {"budget_frontier": {"config": {"budgets": [-5.0]}}}}
    result = materialize(WITH_FRONTIER, run_config=run_config)
    assert "budget_frontier: budgets must be finite and > 0" in refused_at_run_start(result)
    assert frontier_store.read_frontier(database_env["INVENTORY_PLAN_DB_URL"], result.run_id).empty
