"""The plan and its write-back, materialized through Dagster on real databases."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

import dagster as dg
import pytest
import sqlalchemy as sa

from inventory_assets.demo import data as demo_data
from inventory_assets.io import db, plan_store
from inventory_assets.reporting.charts import PLAN_CHARTS, PNG_MAGIC, save_plan_charts
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import (
    PROJECT_ROOT,
    check_results,
    materialize,
    materialized_keys,
    metadata_text,
    value,
    write_demo,
)

SMALL = demo_data.PRESETS["small"]


def _plan_config(**fields) -> dg.RunConfig:
    return dg.RunConfig(ops={"procurement_plan": {"config": fields}})


def _current_run(urls: dict[str, str]) -> dict | None:
    return plan_store.current_run(db.make_engine(urls[db.PLAN_URL_VAR]))


@pytest.mark.slow
@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_full_graph_on_the_small_demo_plans_within_budget(database_env: dict[str, str]) -> None:
    write_demo(database_env, SMALL)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(instance=instance, raise_on_error=True)
    checks = check_results(result)
    assert all(c.passed for c in checks.values() if c.severity == dg.AssetCheckSeverity.ERROR), {
        n: c.description for n, c in checks.items() if not c.passed
    }
    plan = value(result, "procurement_plan")
    spend = plan["order_value"].sum()
    assert 0 < spend <= 100_000 + 1e-6
    metadata = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("procurement_plan")
    ).materialization.metadata
    assert metadata["status"].value == "optimal"
    assert metadata["spend"].value == pytest.approx(spend)
    assert metadata["budget"].value == 100_000
    shadow_price = metadata["budget_shadow_price"]
    assert isinstance(shadow_price, dg.FloatMetadataValue) and shadow_price.value is not None
    assert shadow_price.value >= 0
    reason_counts = metadata["reason_counts"]
    assert isinstance(reason_counts, dg.JsonMetadataValue) and reason_counts.value is not None
    assert "limited_by_budget" in reason_counts.value
    top_orders = metadata["top_orders"]
    assert isinstance(top_orders, dg.MarkdownMetadataValue)
    assert "| product_id |" in top_orders.value
    current = _current_run(database_env)
    assert current is not None and current["run_id"] == result.run_id
    # The run row is written from the plan_summary asset the write-back takes as input, not the event log.
    summary = value(result, "plan_summary")
    assert summary["plan_run_id"] == result.run_id and summary["budget"] == 100_000
    for figure in ("budget", "spend", "objective"):
        assert current[figure] == pytest.approx(summary[figure], rel=1e-12), figure
    assert current["shadow_price_budget"] == pytest.approx(summary["budget_shadow_price"], rel=1e-12)
    stored = plan_store.current_plan(db.make_engine(database_env[db.PLAN_URL_VAR]))
    assert len(stored) == len(plan)
    assert stored["order_value"].sum() == pytest.approx(spend)
    # The small demo's charts, for the README (as the browser test copies its screenshots to docs/).
    written = save_plan_charts(value(result, "abc_risk_features"), plan, PROJECT_ROOT / "docs")
    assert [p.name for p in written] == list(PLAN_CHARTS)


HEADLINE = (
    "spend_against_budget",
    "expected_fill_rate",
    "rows_at_risk",
    "expected_lost_sales",
    "expected_waste",
    "more_budget",
)


def _materialization(result: dg.ExecuteInProcessResult, asset: str) -> Mapping[str, dg.MetadataValue]:
    return next(
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
    ).materialization.metadata


def _png(entry: dg.MetadataValue) -> bytes:
    """The PNG inside a markdown image entry with a base64 data URI."""
    match = re.search(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", metadata_text(entry))
    assert match, metadata_text(entry)[:200]
    return base64.b64decode(match.group(1))


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_plan_page_leads_with_what_a_planner_acts_on(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    result = materialize(raise_on_error=True)
    plan = value(result, "procurement_plan")
    metadata = _materialization(result, "procurement_plan")
    assert list(metadata)[: len(HEADLINE)] == list(HEADLINE)
    spend = metadata_text(metadata["spend_against_budget"])
    assert re.match(r"\$[\d,]+ of \$100,000 \(", spend), spend
    assert "e+" not in spend
    assert "%" in metadata_text(metadata["expected_fill_rate"])
    before = int((plan["stockout_risk_before"] > 0.5).sum())
    after = int((plan["stockout_risk_after"] > 0.5).sum())
    assert metadata["rows_at_risk_before"].value == before and metadata["rows_at_risk_after"].value == after
    assert metadata_text(metadata["rows_at_risk"]).startswith(f"{before:,} rows with stock-out risk above 50 %")
    fill_after = metadata["expected_fill_rate_after"].value
    assert isinstance(fill_after, float) and 0.0 <= fill_after <= 1.0
    assert "units" in metadata_text(metadata["expected_lost_sales"])
    words = metadata_text(metadata["more_budget"])
    assert "$1,000 of budget" in words or "does not bind" in words
    # the two native tables: purchases from the supplier, largest value first; transfers from a location
    purchases = metadata["top_purchases"]
    transfers = metadata["top_transfers"]
    assert isinstance(purchases, dg.TableMetadataValue) and isinstance(transfers, dg.TableMetadataValue)
    bought = plan[(plan["order_qty"] > 0) & plan["source_location_id"].isna()]
    moved = plan[(plan["order_qty"] > 0) & plan["source_location_id"].notna()]
    assert len(purchases.records) == min(10, len(bought)) > 0
    assert len(transfers.records) == min(10, len(moved)) > 0
    assert {r.data["source"] for r in purchases.records} == {"supplier"}
    assert "supplier" not in {r.data["source"] for r in transfers.records}
    values = [float(r.data["value"] or 0.0) for r in purchases.records]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(bought["order_value"].max())
    # the chart, the solver's internals in one entry, the figures other code reads
    assert _png(metadata["risk_by_class_chart"]).startswith(PNG_MAGIC)
    solver = metadata["solver"]
    assert isinstance(solver, dg.JsonMetadataValue) and solver.value is not None
    assert {"engine", "n_variables", "solve_seconds"} <= set(solver.value)
    assert "n_variables" not in metadata and "reason_limited_by_budget" not in metadata
    for key in ("status", "spend", "budget", "budget_shadow_price", "objective", "n_orders", "reason_counts"):
        assert key in metadata, key
    assert "preview" in metadata and "dagster/row_count" in metadata
    # the Pareto as a chart on the features' page
    assert _png(_materialization(result, "abc_risk_features")["pareto_chart"]).startswith(PNG_MAGIC)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_plan_refuses_data_whose_checks_failed_in_an_earlier_run(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    instance = dg.DagsterInstance.ephemeral()
    good = materialize(instance=instance, raise_on_error=True)
    with db.make_engine(database_env[db.ONPREM_URL_VAR]).begin() as conn:
        conn.execute(sa.text("UPDATE inventory SET on_hand = -1 WHERE product_id = 'P000002'"))
    failed_sources = materialize(dg.AssetSelection.groups("sources"), instance=instance)
    assert not check_results(failed_sources)["inventory_valid"].passed
    # only the plan and its write-back selected: they must refuse to read the stored bad data
    for asset in ("procurement_plan", "published_plan"):
        refused = materialize([asset], instance=instance)
        assert not refused.success
        error = refused.get_step_failure_events()[0].step_failure_data.error
        assert error is not None
        assert "refusing" in error.message and "inventory:inventory_valid" in error.message
    current = _current_run(database_env)
    assert current is not None and current["run_id"] == good.run_id


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_an_infeasible_budget_names_the_money_and_writes_nothing(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    instance = dg.DagsterInstance.ephemeral()
    good = materialize(instance=instance, raise_on_error=True)
    result = materialize(instance=instance, run_config=_plan_config(budget=1.0, critical_classes=["A", "B", "C"]))
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "procurement_plan"
    error = failure.step_failure_data.error
    assert error is not None
    message = error.message
    assert "PlanInfeasibleError" in message and "budget" in message and "1.00" in message
    assert failure.step_failure_data.user_failure_data is not None
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # never retried
    assert "published_plan" not in materialized_keys(result)
    current = _current_run(database_env)
    assert current is not None and current["run_id"] == good.run_id


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_two_runs_make_two_runs_of_history_and_the_second_is_current(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(instance=instance, raise_on_error=True)
    second = materialize(instance=instance, run_config=_plan_config(budget=50_000.0), raise_on_error=True)
    engine = db.make_engine(database_env[db.PLAN_URL_VAR])
    history = plan_store.plan_history(engine)
    assert list(history["run_id"]) == [second.run_id, first.run_id]
    current = plan_store.current_run(engine)
    assert current is not None and current["run_id"] == second.run_id
    assert plan_store.current_plan(engine)["order_value"].sum() <= 50_000 + 1e-6
