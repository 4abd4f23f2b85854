"""The issue's hand cases: answers computed on paper from the conventions of docs/backtest.md.

World: one top-level location ``S`` (buys from suppliers), 28 days of history then 2 held-out weeks
(days 28..41 of the data; held-out day t = data day 28 + t), review every 7 days (held-out days 0 and 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.backtest import BacktestParameters, Orders, PolicyInput, run_backtest
from inventory_assets.backtest.policies import POLICIES
from inventory_assets_tests.backtest import sources as src

HISTORY = 28
WEEKS = 2
DAYS = HISTORY + 7 * WEEKS
FIRST = src.day(HISTORY)


def one_item(
    on_hand: float, *, rate: float = 4.0, swing: float = 0.0, shelf: float = np.nan, lead: int = 3
) -> dict[str, pd.DataFrame]:
    """P1 at S selling ``rate + swing`` units on even data days and ``rate - swing`` on odd ones; three
    receipts of ``lead`` days (pair level)."""
    return src.sources(
        network={"S": None},
        products={"P1": {"shelf_life_days": shelf}},
        stock={("P1", "S"): (on_hand, 0.0)},
        days=DAYS,
        units=lambda p, loc, d: rate + (swing if d % 2 == 0 else -swing),
        receipt_rows=[("P1", "S", 0, lead), ("P1", "S", 5, lead), ("P1", "S", 10, lead)],
    )


def params(**kw: object) -> BacktestParameters:
    base: dict[str, object] = {"weeks": WEEKS, "review_days": 7, "history_days": HISTORY, "seed": 1}
    base.update(kw)
    return BacktestParameters(**base)  # type: ignore[arg-type]


def total(result, policy: str) -> pd.Series:
    r = result.results
    return r[(r["policy"] == policy) & (r["abc_class"] == "all") & (r["echelon"] == "all")].iloc[0]


def test_stock_covering_all_demand_fills_everything_without_purchases() -> None:
    s = one_item(on_hand=1_000.0)
    result = run_backtest(**s, params=params(), policies=["plan", "order_up_to"])
    for policy in ("plan", "order_up_to"):
        row = total(result, policy)
        assert row["demand_units"] == pytest.approx(56.0)
        assert row["fill_rate"] == 1.0
        assert row["cycle_service_level"] == 1.0
        assert row["purchase_orders"] == 0 and row["spend"] == 0.0
    assert result.orders.empty


def test_zero_stock_and_zero_budget_serve_nothing() -> None:
    s = one_item(on_hand=0.0, swing=2.0)  # 6, 2, 6, 2, ...: a positive safety stock
    result = run_backtest(**s, params=params(budget=0.0), policies=["plan", "risk_ranked"])
    for policy in ("plan", "risk_ranked"):
        row = total(result, policy)
        assert row["fill_rate"] == 0.0
        assert row["lost_units"] == pytest.approx(56.0)
        assert row["cycle_service_level"] == 0.0
        assert row["spend"] == 0.0
    # P1 is class A (the only product, critical): its safety stock is out of reach of a zero budget, so the
    # plan is infeasible and each review is planned again without critical classes
    assert result.run["plan_critical_relaxed_reviews"] == {"plan": 2, "risk_ranked": 0}


@pytest.mark.parametrize("policy", ["order_up_to", "replace_sold", "risk_ranked", "plan"])
def test_constant_demand_fixed_lead_time_loses_the_units_computed_by_hand(policy: str) -> None:
    """4 units/day, lead time always 3 days, 10 on hand at day 0.

    order_up_to: mu = 4, sigma = 0, L = 3 +- 0, R = 7 -> T = 10, target 40, safety stock 0.
    Day 0: position 10 -> order 30, arrives day 3. Days 0, 1 sell 4 + 4, day 2 sells 2 and loses 2.
    Day 3: +30, days 3..6 sell 16 -> 14. Day 7: order 26, arrives day 10; days 7..9 sell 12 -> 2;
    day 10: +26, days 10..13 sell 16 -> 12. Lost 2 of 56.
    replace_sold: day 0 orders the 28 sold in the last history week (arrives day 3), day 7 the 26 sold in
    days 0..6: the same 2 units lost (days 7..9 empty the 12 left exactly).
    risk_ranked with the default budget and the plan (stock-out cost 5 >> holding) order as order_up_to.
    """
    result = run_backtest(**one_item(on_hand=10.0), params=params(), policies=[policy])
    row = total(result, policy)
    assert row["demand_units"] == pytest.approx(56.0)
    assert row["lost_units"] == pytest.approx(2.0)
    assert row["served_units"] == pytest.approx(54.0)
    assert row["fill_rate"] == pytest.approx(54.0 / 56.0)
    assert row["stockout_cycles"] == 1 and row["demand_cycles"] == 2
    orders = result.orders
    assert (orders["lead_days"] == 3).all()
    expected = {"order_up_to": [30.0, 26.0], "replace_sold": [28.0, 26.0]}.get(policy, [30.0, 26.0])
    assert orders["quantity"].tolist() == expected
    assert orders["review_date"].tolist() == [FIRST, FIRST + pd.Timedelta(days=7)]
    assert orders["arrival_date"].tolist() == [FIRST + pd.Timedelta(days=3), FIRST + pd.Timedelta(days=10)]
    assert row["spend"] == pytest.approx(10.0 * sum(expected))


def nothing(inp: PolicyInput) -> Orders:
    """A policy that never orders (plugs in through the registry)."""
    n = len(inp.features)
    return Orders(quantity=np.zeros(n), transfer=np.zeros(n, dtype=bool))


def test_perishable_lot_expires_on_the_documented_day() -> None:
    """10 units on hand at day 0 (origin day 0), shelf life 5 days, 1 unit sold per day, no orders.

    Sellable on days 0..4 (5 units sold), written off at the start of day 5: 5 units of waste that day;
    days 5..13 lose 9 units.
    """
    s = one_item(on_hand=10.0, rate=1.0, shelf=5.0)
    result = run_backtest(
        **s, params=params(), policies=["nothing"], registry={**POLICIES, "nothing": nothing}, record_daily=True
    )
    assert result.daily is not None
    record = result.daily["nothing"]
    assert record.expired[:, 0].tolist() == [0, 0, 0, 0, 0, 5] + [0] * 8
    assert record.served[:, 0].tolist() == [1] * 5 + [0] * 9
    row = total(result, "nothing")
    assert row["waste_units"] == 5.0 and row["waste_value"] == 50.0
    assert row["lost_units"] == 9.0 and row["served_units"] == 5.0
    # mean on-hand value: end-of-day stock 9, 8, 7, 6, 5, then 0 for 9 days, at unit cost 10, over 14 days
    assert row["mean_on_hand_value"] == pytest.approx(10.0 * (9 + 8 + 7 + 6 + 5) / 14)
