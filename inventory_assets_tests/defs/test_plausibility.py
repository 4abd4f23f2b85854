"""Plausibility gates: data that passes every row rule but cannot be the business never replaces the plan.

The gates by hand (``contract.plausibility``), then each gate through Dagster on real databases: a good
plan is published, the data turns implausible, the next run fails naming the cause, nothing downstream of
the gate runs and the current plan stays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract import plausibility
from inventory_assets.contract.plausibility import PlausibilityParameters
from inventory_assets.contract.validation import reference_failures
from inventory_assets.defs import constants
from inventory_assets.io import db, plan_store
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import TINY, check_results, materialize, materialized_keys, write_demo

SNAPSHOT = dt.date(2026, 11, 20)

# ---- the gates by hand -------------------------------------------------------------------------------------


def test_window_against_the_snapshot() -> None:
    params = PlausibilityParameters()
    assert plausibility.window_problems(SNAPSHOT, SNAPSHOT, params) == []
    assert plausibility.window_problems(SNAPSHOT + dt.timedelta(days=1), SNAPSHOT, params) == []
    assert plausibility.window_problems(SNAPSHOT - dt.timedelta(days=14), SNAPSHOT, params) == []
    (future,) = plausibility.window_problems(dt.date(2099, 12, 31), SNAPSHOT, params)
    assert "2099-12-31" in future and "26,704 days after" in future and "mistyped" in future
    (stale,) = plausibility.window_problems(SNAPSHOT - dt.timedelta(days=15), SNAPSHOT, params)
    assert "15 days before" in stale and "stopped" in stale
    assert plausibility.window_problems(dt.date(2099, 12, 31), None, params) == []  # no snapshot day known


def test_unknown_share_by_units() -> None:
    costs = pd.DataFrame({"product_id": ["P1", "P2"]})
    locations = pd.DataFrame({"location_id": ["S1"]})
    sales = pd.DataFrame(
        {"product_id": ["P1", "P2", "p1", "P1"], "location_id": ["S1", "S1", "S1", "X9"], "quantity": [90, 5, 3, 2]}
    )
    # 5 of 100 units unknown (3 for 'p1', 2 at 'X9'): exactly the limit passes, a hair less fails
    unknown = reference_failures("sales", sales, costs, locations)
    assert plausibility.unknown_share_problems(sales, unknown, PlausibilityParameters()) == ([], 0.05)
    (problem,), share = plausibility.unknown_share_problems(
        sales, unknown, PlausibilityParameters(max_unknown_sales_share=0.049)
    )
    assert share == pytest.approx(0.05)
    assert "5.0% of the window's sale units (5 of 100)" in problem
    assert "'p1'" in problem and "'X9'" in problem and "id format" in problem


def test_usable_sales_and_the_target_ratio() -> None:
    merged = pd.DataFrame({"demand_total": [0.0, 0.0]})
    (problem,) = plausibility.usable_sales_problems(merged, 120.0)
    assert "none of the window's 120 sale units" in problem
    assert plausibility.usable_sales_problems(merged.assign(demand_total=[0.0, 1.0]), 120.0) == []
    params = PlausibilityParameters()
    assert plausibility.target_ratio_problems(100.0, None, params) == ([], None)
    assert plausibility.target_ratio_problems(50.0, 100.0, params) == ([], 0.5)
    assert plausibility.target_ratio_problems(200.0, 100.0, params) == ([], 2.0)
    (low,), ratio = plausibility.target_ratio_problems(12.0, 100.0, params)
    assert ratio == pytest.approx(0.12) and "collapsed" in low and "0.12 x the current plan's 100" in low
    (high,), _ = plausibility.target_ratio_problems(250.0, 100.0, params)
    assert "exploded" in high and "max_target_ratio 2" in high
    assert plausibility.target_ratio_problems(1.0, 100.0, PlausibilityParameters(min_target_ratio=0.0))[0] == []


@pytest.mark.parametrize(
    "knobs",
    [
        {"max_days_after_snapshot": -1},
        {"max_unknown_sales_share": 1.5},
        {"min_target_ratio": float("nan")},
        {"max_target_ratio": 0.9},
        {"min_target_ratio": 3.0, "max_target_ratio": 2.0},
    ],
)
def test_limits_are_checked(knobs: dict) -> None:
    with pytest.raises(ValueError):
        PlausibilityParameters(**knobs)


# ---- through Dagster: the current plan stays ---------------------------------------------------------------


def _publish_a_good_plan(urls: dict[str, str]) -> str:
    write_demo(urls)
    materialize(raise_on_error=True)
    run = plan_store.current_run(urls[db.PLAN_URL_VAR])
    assert run is not None
    return str(run["run_id"])


def _sales_table(url: str) -> tuple[sa.Engine, sa.Table]:
    engine = db.make_engine(url)
    return engine, sa.Table("sales", sa.MetaData(), autoload_with=engine)


def _plan_again_and_expect(urls: dict[str, str], check: str, words: str, run_config: dict | None = None) -> None:
    """The next planning run fails ``check`` with ``words`` in its description; no plan is made or
    written; the current plan is the one before."""
    before = plan_store.current_run(urls[db.PLAN_URL_VAR])
    result = materialize(raise_on_error=False, run_config=run_config)
    evaluation = check_results(result)[check]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert words in (evaluation.description or ""), evaluation.description
    assert not {"procurement_plan", "published_plan"} & materialized_keys(result)
    after = plan_store.current_run(urls[db.PLAN_URL_VAR])
    assert before is not None and after is not None and after["run_id"] == before["run_id"]


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_sale_dated_2099_fails_the_run_and_the_plan_stays(database_env: dict[str, str]) -> None:
    _publish_a_good_plan(database_env)
    engine, sales = _sales_table(database_env[db.CLOUD_URL_VAR])
    with engine.begin() as conn:
        row = conn.execute(sa.select(sales).limit(1)).mappings().one()
        late = dict(row, sale_id=int(conn.execute(sa.select(sa.func.max(sales.c.sale_id))).scalar_one()) + 1)
        late["sold_at"] = (
            dt.datetime(2099, 12, 31) if isinstance(row["sold_at"], dt.datetime) else dt.date(2099, 12, 31)
        )
        conn.execute(sales.insert(), [late])
    _plan_again_and_expect(database_env, constants.SALES_REFERENCES_CHECK, "2099-12-31 is")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_feed_in_lower_case_ids_fails_the_run_and_the_plan_stays(database_env: dict[str, str]) -> None:
    _publish_a_good_plan(database_env)
    engine, sales = _sales_table(database_env[db.CLOUD_URL_VAR])
    with engine.begin() as conn:
        conn.execute(sales.update().values(product_id=sa.func.lower(sales.c.product_id)))
    _plan_again_and_expect(database_env, constants.SALES_REFERENCES_CHECK, "unknown product ids such as")


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_feed_that_stopped_fails_the_run(database_env: dict[str, str]) -> None:
    _publish_a_good_plan(database_env)
    engine, sales = _sales_table(database_env[db.CLOUD_URL_VAR])
    with engine.begin() as conn:
        last = pd.Timestamp(conn.execute(sa.select(sa.func.max(sales.c.sold_at))).scalar_one()).date()
        conn.execute(sales.delete().where(sales.c.sold_at > (last - dt.timedelta(days=20)).isoformat()))
    _plan_again_and_expect(database_env, constants.SALES_REFERENCES_CHECK, "the sales feed stopped")


@pytest.mark.parametrize("empty_database", backend_params("sqlite", "postgresql"), indirect=True)
def test_collapsed_demand_fails_against_the_plan_in_use_unless_the_run_allows_it(
    database_env: dict[str, str],
) -> None:
    _publish_a_good_plan(database_env)
    engine, sales = _sales_table(database_env[db.CLOUD_URL_VAR])
    with engine.begin() as conn:  # a feed that loaded a tenth of each day's lines' units
        conn.execute(sales.update().values(quantity=sales.c.quantity * 0.05))
    _plan_again_and_expect(database_env, constants.TARGETS_PLAUSIBLE_CHECK, "collapsed against the plan in use")
    # the planner confirms the change for one run: the gate lets it through and the new plan is current
    op = f"abc_risk_features_{constants.TARGETS_PLAUSIBLE_CHECK}"
    result = materialize(raise_on_error=True, run_config={"ops": {op: {"config": {"min_target_ratio": 0.0}}}})
    assert check_results(result)[constants.TARGETS_PLAUSIBLE_CHECK].passed
    run = plan_store.current_run(database_env[db.PLAN_URL_VAR])
    assert run is not None and run["run_id"] == result.run_id


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_new_data_set_of_another_size_is_not_compared_with_the_plan_in_use(database_env: dict[str, str]) -> None:
    # `make demo` then `make demo SIZE=medium`: the stocked pairs themselves changed, so the totals say
    # nothing about demand; the gate stands aside and says why.
    _publish_a_good_plan(database_env)
    write_demo(database_env, replace(TINY, products=TINY.products * 4, seed=11))
    result = materialize(raise_on_error=True)
    evaluation = check_results(result)[constants.TARGETS_PLAUSIBLE_CHECK]
    assert evaluation.passed and "the assortment changed" in (evaluation.description or "")
    run = plan_store.current_run(database_env[db.PLAN_URL_VAR])
    assert run is not None and run["run_id"] == result.run_id


def test_the_assortment_rule() -> None:
    params = PlausibilityParameters()
    assert not plausibility.assortment_changed(1_000, 1_000, params)
    assert not plausibility.assortment_changed(1_900, 1_000, params)
    assert plausibility.assortment_changed(2_100, 1_000, params)
    assert plausibility.assortment_changed(400, 1_000, params)
    assert plausibility.assortment_changed(5, 0, params)
