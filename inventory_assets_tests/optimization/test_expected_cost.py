"""The ``expected_cost`` objective: hand values, the cases that exposed ``target_gap``, the newsvendor
optimum, the echelon trade-off, monotone budgets, and an exhaustive search as an independent solver."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from inventory_assets.analytics.risk import demand_quantile
from inventory_assets.contract.plan import plan_violations
from inventory_assets.optimization.data import build_plan_data
from inventory_assets.optimization.diagnose import exempt_unreachable_critical
from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.evaluate import evaluate_plan, hard_violations
from inventory_assets.optimization.expected_cost import cost_curves, evaluate_rows
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.factories import HOLD, features
from inventory_assets_tests.optimization.instances import random_instance

DC_ONLY = {"DC": None}
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def row(result, product, location):
    plan = result.plan
    return plan[(plan.product_id == product) & (plan.location_id == location)].iloc[0]


def two_items():
    """The issue's case: two identical items, mean 100 and sd 20 over the protection interval
    (target 146.5), X holding 0 and Y 100, Y's stock-out cost 1 % higher; budget for 100 units."""
    frame = features(
        [
            {"product_id": "X", "location_id": "DC", "on_hand": 0.0, "stockout_cost": 5.0},
            {"product_id": "Y", "location_id": "DC", "on_hand": 100.0, "stockout_cost": 5.05},
        ],
        network=DC_ONLY,
    )
    frame["unit_cost"] = 1.0
    frame["order_up_to"] = 146.5
    frame["safety_stock"] = 46.5
    frame["demand_over_protection"] = 100.0
    frame["demand_std_over_protection"] = 20.0
    return frame


@pytest.mark.parametrize("engine", ["pyomo", "matrix"])
def test_two_items_the_empty_one_is_ordered_first(engine):
    frame = two_items()
    gap = plan_procurement(frame, PlanParameters(budget=100, objective="target_gap"), engine=engine)
    risk = plan_procurement(frame, PlanParameters(budget=100), engine=engine)
    # target_gap splits the money 54 / 46 (each unit below target costs the same) ...
    assert (row(gap, "X", "DC").order_qty, row(gap, "Y", "DC").order_qty) == (54, 46)
    assert gap.summary.expected_lost_units == pytest.approx(46.1, abs=0.05)
    # ... the expected cost sends all of it to the item with nothing on hand
    assert (row(risk, "X", "DC").order_qty, row(risk, "Y", "DC").order_qty) == (100, 0)
    # a normal's L(0) = E[max(N, 0)] = sd x G(-mean / sd) = 20 x G(-5): the mean and its vanishing negative part
    at_zero = build_plan_data(frame, PlanParameters(budget=100)).demand_at_zero
    np.testing.assert_allclose(at_zero, 100.0 + 20.0 * (stats.norm.pdf(5.0) - 5.0 * stats.norm.sf(5.0)), rtol=1e-12)
    # both end at y = 100: lost = sd x G(0) = 20 x 0.3989 each (Silver, Pyke & Peterson, table B.1)
    assert risk.summary.expected_lost_units == pytest.approx(2 * 20 * 0.398942, rel=1e-5)
    assert risk.summary.expected_lost_units == pytest.approx(16.0, abs=0.05)


def test_row_cost_by_hand_poisson():
    # a store, Poisson demand with mean 2 over the protection interval, position 1 after the plan:
    # L(1) = E[(N - 1)+] = 2 - 1 + P(N = 0) = 1 + e^-2; leftover E[(1 - N)+] = P(N = 0) = e^-2
    frame = features([{"product_id": "P", "location_id": "DC", "stockout_cost": 5.0}], network=DC_ONLY)
    frame["safety_stock_method"] = "poisson"
    frame["demand_over_protection"] = 2.0
    data = build_plan_data(frame, PlanParameters())
    assert data.demand_at_zero[0] == pytest.approx(2.0, rel=1e-12)  # L(0): the mean of a count
    cost = evaluate_rows(data, np.array([0]), np.array([1.0]))
    e2 = math.exp(-2)
    assert cost.lost_units[0] == pytest.approx(1 + e2, rel=1e-12)
    assert cost.leftover_units[0] == pytest.approx(e2, rel=1e-12)
    # phi = c^s L + c^h (L - mu); with the holding on the position (c^h x 1) the row pays c^h e^-2
    assert cost.value[0] == pytest.approx(5.0 * (1 + e2) + HOLD * (1 + e2 - 2), rel=1e-12)
    ev = evaluate_plan(data, np.array([1.0]))
    assert ev.holding[0] == pytest.approx(HOLD * e2, rel=1e-12)
    assert ev.expected_cost == pytest.approx(5.0 * (1 + e2) + HOLD * e2, rel=1e-12)


def test_chords_are_exact_at_every_feasible_quantity_of_a_short_row():
    frame = features(
        [{"product_id": "P", "location_id": "DC", "order_up_to": 30, "safety_stock": 10, "order_multiple": 3}],
        network=DC_ONLY,
    )
    data = build_plan_data(frame, PlanParameters())
    curves = cost_curves(data)
    x = np.concatenate([[0.0], np.cumsum(curves.seg_len)])
    assert np.all(np.mod(x, 3) == 0) and x[-1] == data.upper[0]
    values = curves.value_at_zero[0] + np.concatenate([[0.0], np.cumsum(curves.seg_len * curves.seg_slope)])
    exact = evaluate_rows(data, np.zeros(len(x), np.int64), x).value
    np.testing.assert_allclose(values, exact, rtol=1e-9, atol=1e-9)
    assert np.all(np.diff(curves.seg_slope) >= 0)  # convex


@pytest.mark.parametrize(
    ("method", "mean", "std", "stockout", "multiple"),
    [
        ("normal", 100.0, 20.0, 5.0, 1.0),
        ("normal", 100.0, 20.0, 0.2, 6.0),
        ("normal", 40.0, 25.0, 2.0, 1.0),
        ("poisson", 7.0, math.sqrt(7.0), 5.0, 1.0),
        ("negative_binomial", 12.0, 6.0, 1.0, 4.0),
    ],
)
def test_non_binding_budget_reaches_the_newsvendor_level(method, mean, std, stockout, multiple):
    frame = features(
        [{"product_id": "P", "location_id": "DC", "stockout_cost": stockout, "order_multiple": multiple}],
        network=DC_ONLY,
    )
    frame["safety_stock_method"] = method
    frame["demand_over_protection"] = mean
    frame["demand_std_over_protection"] = std
    frame["order_up_to"] = mean
    result = plan_procurement(frame, PlanParameters(budget=1e6))
    fractile = stockout / (stockout + HOLD)
    level = float(demand_quantile(np.array([method], object), np.array([mean]), np.array([std]), fractile)[0])
    assert abs(row(result, "P", "DC").position_after - level) <= multiple + 1e-9


def test_a_dc_never_keeps_a_unit_its_short_store_would_sell():
    # equal costs; the DC holds 30, the store none: the store takes up to its own newsvendor level
    frame = features(
        [
            {"product_id": "P", "location_id": "DC", "on_hand": 30.0, "order_up_to": 40, "safety_stock": 10},
            {"product_id": "P", "location_id": "S1", "order_up_to": 20, "safety_stock": 8},
        ],
    )
    frame.loc[frame.location_id == "DC", "demand_over_protection"] = 30.0
    frame.loc[frame.location_id == "DC", "demand_std_over_protection"] = 6.0
    result = plan_procurement(frame, PlanParameters(budget=0.0))
    store = row(result, "P", "S1")
    level = 12 + 4 * stats.norm.ppf(5.0 / (5.0 + HOLD))
    assert store.position_after == pytest.approx(round(level), abs=1)
    assert row(result, "P", "DC").position_after == 30 - store.order_qty
    # a store that could sell more than the DC has empties the DC
    frame.loc[frame.location_id == "S1", "demand_over_protection"] = 60.0
    result = plan_procurement(frame, PlanParameters(budget=0.0))
    assert row(result, "P", "S1").order_qty == 30 and row(result, "P", "DC").position_after == 0


def _run(frame, budget, relax=False):
    params = PlanParameters(budget=budget, relax_integrality=relax, mip_rel_gap=0.0)
    try:
        return params, plan_procurement(frame, params)
    except PlanInfeasibleError:
        return params, None


@SETTINGS
@given(seed=st.integers(0, 10_000), n_locations=st.integers(1, 7), relax=st.booleans())
def test_more_budget_never_raises_the_expected_cost(seed, n_locations, relax):
    frame, budget = random_instance(seed, 3, n_locations)
    previous = None
    for factor in (0.5, 1.0, 1.5, 2.0, 4.0):
        params, result = _run(frame, budget * factor, relax)
        if result is None:
            assume(previous is None)
            continue
        assert plan_violations(result.plan, params).empty
        if previous is not None:
            # the optimum of the model (MIP at gap 0, or the LP bound) is monotone in the budget
            assert result.summary.solver_objective <= previous.summary.solver_objective * (1 + 1e-9) + 1e-9
        previous = result


def test_whole_packs_can_trade_lost_units_for_cost():
    # more budget lowers the expected cost, not always the expected lost units (docs/model.md): $107 buys a
    # case of P0 (perishable, part of it would expire), $143 a case of P1 instead
    frame, budget = random_instance(622, 3, 1)
    low = plan_procurement(frame, PlanParameters(budget=budget * 1.5, mip_rel_gap=0.0)).summary
    high = plan_procurement(frame, PlanParameters(budget=budget * 2.0, mip_rel_gap=0.0)).summary
    assert high.objective < low.objective and high.expected_lost_units > low.expected_lost_units


def _brute_force(data) -> float:
    """Least exact expected cost over every feasible plan (each row: 0 or whole packs >= MOQ up to U)."""
    choices = []
    for i in range(data.n):
        m, q, u = data.order_multiple[i], data.min_qty[i], data.upper[i]
        choices.append([0.0] + list(np.arange(q, u + 1e-9, m)))
    best = math.inf
    for combination in itertools.product(*choices):
        x = np.array(combination)
        if any(len(v) for v in hard_violations(data, x).values()):
            continue
        best = min(best, evaluate_plan(data, x).objective)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_mip_equals_an_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    rows = [
        {
            "product_id": f"P{k}",
            "location_id": loc,
            "on_hand": float(rng.integers(0, 6)),
            "order_up_to": float(rng.integers(4, 10)),
            "safety_stock": 2.0,
            "order_multiple": float(rng.choice([1, 2, 3])),
            "min_order_qty": float(rng.choice([0, 4])),
            "stockout_cost": float(rng.uniform(1, 8)),
            "abc_class": str(rng.choice(["A", "B"])),
            "shelf_life_days": float(rng.choice([np.nan, 3.0])),
            "waste_cost": 4.0,
            "capacity_units": np.nan,
        }
        for k in range(2)
        for loc in ("DC", "S1")
    ]
    frame = features(rows, network={"DC": None, "S1": "DC"})
    frame["safety_stock_method"] = rng.choice(["normal", "poisson", "negative_binomial"], len(frame))
    frame["demand_std_over_protection"] = np.sqrt(frame["demand_over_protection"].to_numpy() * 2.0) + 0.5
    budget = float(rng.uniform(20, 120))
    params = PlanParameters(budget=budget, mip_rel_gap=0.0)
    result = plan_procurement(frame, params)  # every seed here has a feasible plan
    data = exempt_unreachable_critical(build_plan_data(frame, params))
    assert cost_curves(data).max_error == 0.0  # few packs: the chords are exact at every quantity
    assert result.summary.objective == pytest.approx(_brute_force(data), rel=1e-9, abs=1e-9)


def test_rows_priced_in_pieces_by_several_threads_cost_the_same_and_so_does_the_plan(monkeypatch):
    """`evaluate_rows` cuts many rows into pieces that threads price at once (and the plan's quantiles and
    risks too): every figure, the curves and the plan are those of one thread pricing them all."""
    import inventory_assets.parallel as parallel
    from inventory_assets.analytics.risk import stockout_risk

    frame, budget = random_instance(11, n_products=40, n_locations=4)
    one = build_plan_data(frame, PlanParameters(budget=budget, threads=1))
    rows = np.repeat(np.arange(one.n), 7)
    x = np.random.default_rng(2).uniform(0.0, 60.0, len(rows))
    whole = evaluate_rows(one, rows, x)
    whole_curves = cost_curves(one)
    whole_plan = plan_procurement(frame, PlanParameters(budget=budget, threads=1)).plan
    # the plan's risks are the features' stock-out risk at its positions (priced from the plan's codes)
    for column, position in (("stockout_risk_before", "position_before"), ("stockout_risk_after", "position_after")):
        np.testing.assert_array_equal(whole_plan[column], stockout_risk(one.frame, whole_plan[position].to_numpy()))
    monkeypatch.setattr(parallel, "PIECE_ROWS", 13)
    for threads in (1, 3):
        data = build_plan_data(frame, PlanParameters(budget=budget, threads=threads))
        pieces = evaluate_rows(data, rows, x)
        for name in ("lost_units", "waste_units", "leftover_units", "value"):
            np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name))
        curves = cost_curves(data)
        for name in ("value_at_zero", "seg_row", "seg_len", "seg_slope"):
            np.testing.assert_array_equal(getattr(curves, name), getattr(whole_curves, name))
        assert curves.max_error == whole_curves.max_error
    pd.testing.assert_frame_equal(plan_procurement(frame, PlanParameters(budget=budget, threads=3)).plan, whole_plan)
