"""The issue's invariants on a small network (a DC supplying two stores), for every policy, and the
input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.backtest import BacktestInputError, BacktestParameters, run_backtest
from inventory_assets.backtest.policies import POLICIES
from inventory_assets.backtest.results import RESULT_COLUMNS
from inventory_assets_tests.backtest import sources as src

HISTORY = 35
WEEKS = 3
NETWORK = {"DC": None, "S1": "DC", "S2": "DC"}
PRODUCTS = {
    "P1": {"unit_cost": 10.0, "order_multiple": 6.0, "min_order_qty": 12.0},
    "P2": {"unit_cost": 4.0, "shelf_life_days": 4.0, "waste_cost": 4.0},
    "P3": {"unit_cost": 50.0, "stockout_cost": 20.0},
    "P4": {"unit_cost": 1.0},
}
RATES = {("P1", "S1"): 5.0, ("P1", "S2"): 3.0, ("P2", "S1"): 4.0, ("P2", "S2"): 2.0, ("P3", "S1"): 0.2}
RATES.update({("P3", "S2"): 0.3, ("P4", "S1"): 1.0})
STOCK = {
    ("P1", "DC"): (60.0, 24.0),
    ("P1", "S1"): (20.0, 0.0),
    ("P1", "S2"): (5.0, 6.0),
    ("P2", "DC"): (30.0, 0.0),
    ("P2", "S1"): (8.0, 0.0),
    ("P2", "S2"): (0.0, 0.0),
    ("P3", "DC"): (2.0, 0.0),
    ("P3", "S1"): (1.0, 0.0),
    ("P3", "S2"): (0.0, 0.0),
    ("P4", "S1"): (3.0, 0.0),  # not stocked at the DC: the store cannot be replenished
}


def world(seed: int = 3) -> dict[str, pd.DataFrame]:
    days = HISTORY + 7 * WEEKS
    rng = np.random.default_rng(seed)
    draws = {pair: rng.poisson(rate, days) for pair, rate in RATES.items()}
    receipts = [
        (p, "DC", o, int(lead)) for p in ("P1", "P2", "P3") for o, lead in zip((0, 7, 14), (4, 6, 9), strict=True)
    ]
    receipts += [(p, s, o, int(lead)) for p in ("P1", "P2") for s in ("S1", "S2") for o, lead in ((1, 1), (8, 2))]
    return src.sources(
        network=NETWORK,
        products=PRODUCTS,
        stock=STOCK,
        days=days,
        units=lambda p, loc, d: float(draws[(p, loc)][d]) if (p, loc) in draws else 0.0,
        receipt_rows=receipts,
    )


def params(**kw: object) -> BacktestParameters:
    base: dict[str, object] = {"weeks": WEEKS, "history_days": HISTORY, "budget": 400.0, "seed": 11}
    base.update(kw)
    return BacktestParameters(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def result():
    return run_backtest(**world(), params=params(), record_daily=True)


def test_balance_per_pair_and_day_for_every_policy(result) -> None:
    assert result.daily is not None and set(result.daily) == set(POLICIES)
    for record in result.daily.values():
        flows = record.on_hand_before + record.arrivals - record.served - record.backlog_filled - record.expired
        np.testing.assert_allclose(flows - record.transfers_out, record.on_hand_after, atol=1e-9)
        np.testing.assert_allclose(record.served + record.short, record.demand, atol=1e-12)
        assert (record.on_hand_after >= -1e-9).all()
        np.testing.assert_array_equal(record.on_hand_before[1:], record.on_hand_after[:-1])


def test_demand_is_identical_across_policies(result) -> None:
    demands = [record.demand for record in result.daily.values()]
    for other in demands[1:]:
        np.testing.assert_array_equal(demands[0], other)
    assert demands[0].sum() == pytest.approx(result.run["held_out_demand_units"])
    weekly = result.weekly.pivot(index="week", columns="policy", values="demand_units")
    assert (weekly.nunique(axis=1) == 1).all()


def test_totals_equal_the_sums_over_classes_and_echelons(result) -> None:
    r = result.results
    assert list(r.columns) == list(RESULT_COLUMNS)
    additive = [c for c in RESULT_COLUMNS if c not in ("policy", "abc_class", "echelon", "fill_rate")]
    additive.remove("cycle_service_level")
    for _policy, table in r.groupby("policy"):
        total = table[(table["abc_class"] == "all") & (table["echelon"] == "all")][additive].iloc[0]
        by_class = table[(table["abc_class"] != "all") & (table["echelon"] == "all")][additive].sum()
        by_echelon = table[(table["abc_class"] == "all") & (table["echelon"] != "all")][additive].sum()
        cells = table[(table["abc_class"] != "all") & (table["echelon"] != "all")][additive].sum()
        for part in (by_class, by_echelon, cells):
            np.testing.assert_allclose(part.to_numpy(float), total.to_numpy(float), rtol=1e-12, atol=1e-9)
        assert total["pairs"] == len(STOCK)
        assert total["served_units"] + total["lost_units"] == pytest.approx(total["demand_units"])


def test_results_agree_with_the_daily_record(result) -> None:
    r = result.results
    for policy, record in result.daily.items():
        row = r[(r["policy"] == policy) & (r["abc_class"] == "all") & (r["echelon"] == "all")].iloc[0]
        assert row["served_units"] == pytest.approx(record.served.sum())
        assert row["waste_units"] == pytest.approx(record.expired.sum())
        assert row["fill_rate"] == pytest.approx(record.served.sum() / record.demand.sum())
        orders = result.orders[result.orders["policy"] == policy]
        assert row["orders"] == len(orders)
        assert row["spend"] == pytest.approx(orders["value"].sum())
        weekly = result.weekly[result.weekly["policy"] == policy]
        assert weekly["served_units"].sum() == pytest.approx(record.served.sum())
    # the store without a stocked parent never receives anything
    p4 = np.flatnonzero((result.pairs["product_id"] == "P4").to_numpy())
    assert not result.orders["product_id"].eq("P4").any()
    assert all(record.arrivals[:, p4].sum() == 0 for record in result.daily.values())


def test_budget_holds_at_every_review(result) -> None:
    orders = result.orders
    for policy in ("plan", "risk_ranked"):
        spend = orders[(orders["policy"] == policy)].groupby("review_date")["value"].sum()
        assert (spend <= 400.0 + 1e-6).all()


def test_same_seed_same_numbers_and_the_seed_matters() -> None:
    a = run_backtest(**world(), params=params(), policies=["order_up_to", "risk_ranked"])
    b = run_backtest(**world(), params=params(), policies=["order_up_to", "risk_ranked"])
    pd.testing.assert_frame_equal(a.results, b.results)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    c = run_backtest(**world(), params=params(seed=12), policies=["order_up_to", "risk_ranked"])
    assert not a.orders["lead_days"].equals(c.orders["lead_days"])


def test_held_out_period_shorter_than_one_review_is_refused() -> None:
    with pytest.raises(BacktestInputError, match="fewer than one review period"):
        run_backtest(**world(), params=params(weeks=1, review_days=10))


def test_feature_window_too_short_is_refused() -> None:
    with pytest.raises(BacktestInputError, match="feature window is too short"):
        run_backtest(**world(), params=params(history_days=HISTORY + 1))
    with pytest.raises(BacktestInputError, match="too short for the features"):
        params(history_days=5)


def test_no_sales_in_the_held_out_period_is_refused() -> None:
    s = world()
    held_out = s["sales"]["sale_date"] >= src.day(HISTORY)
    s["sales"] = s["sales"].loc[~held_out].reset_index(drop=True)
    s["sales"].attrs.update(window_start=src.day(0), window_end=src.day(HISTORY + 7 * WEEKS - 1))
    with pytest.raises(BacktestInputError, match="no sales in the held-out period"):
        run_backtest(**s, params=params())


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(BacktestInputError, match="policies must be"):
        run_backtest(**world(), params=params(), policies=["plan", "magic"])
