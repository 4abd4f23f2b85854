"""Infeasible plans: a diagnosis a planner can act on, raised once (no retries); critical rows no plan can
reach are reported and the rest is planned."""

from __future__ import annotations

import pytest

from inventory_assets.contract.plan import plan_violations
from inventory_assets.optimization.errors import PlanError, PlanInfeasibleError
from inventory_assets.optimization.params import OBJECTIVES, PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.factories import features

DC_ONLY = {"DC": None}


def critical_frame():
    return features(
        [
            # needs 10 units x $10 = $100
            {"product_id": "P1", "location_id": "DC", "safety_stock": 10, "order_up_to": 15, "abc_class": "A"},
            # needs 5 units, packs of 6 -> 6 x $20 = $120
            {
                "product_id": "P2",
                "location_id": "DC",
                "on_hand": 5,
                "safety_stock": 10,
                "order_up_to": 15,
                "abc_class": "A",
                "unit_cost": 20.0,
                "order_multiple": 6,
            },
            {"product_id": "P3", "location_id": "DC", "safety_stock": 10, "order_up_to": 15, "abc_class": "B"},
        ],
        network=DC_ONLY,
    )


@pytest.mark.parametrize("relax", [False, True])
def test_budget_below_critical_safety_stock_names_both_amounts(relax):
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(critical_frame(), PlanParameters(objective="target_gap", budget=150, relax_integrality=relax))
    err = info.value
    assert "critical safety stock needs $220.00, budget is $150.00" in str(err)
    assert err.family == "budget"
    assert err.money_needed == pytest.approx(220) and err.money_available == 150
    assert set(err.product_ids) == {"P1", "P2"}
    assert isinstance(err, PlanError)


def test_exactly_enough_budget_is_feasible():
    result = plan_procurement(critical_frame(), PlanParameters(objective="target_gap", budget=220))
    assert result.summary.spend == pytest.approx(220)


def test_critical_children_count_in_the_money_needed():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 4, "safety_stock": 5, "abc_class": "A"},
            {"product_id": "P1", "location_id": "S1", "safety_stock": 4, "abc_class": "A"},
            {"product_id": "P1", "location_id": "S2", "safety_stock": 0, "abc_class": "A"},
        ]
    )
    # S1 pulls 4, leaving the DC at 0: it must buy 5 -> $50
    with pytest.raises(PlanInfeasibleError, match=r"needs \$50\.00, budget is \$49\.00"):
        plan_procurement(frame, PlanParameters(objective="target_gap", budget=49))
    assert plan_procurement(frame, PlanParameters(objective="target_gap", budget=50)).summary.spend == pytest.approx(50)


def row(result, product, location):
    plan = result.plan
    return plan[(plan.product_id == product) & (plan.location_id == location)].iloc[0]


_P9_STORE = {"product_id": "P9", "location_id": "S2", "order_up_to": 10, "safety_stock": 2}


def _unreachable_plan(rows, objective):
    """Plan with a second, ordinary product P9 at S2 that must be planned as usual."""
    frame = features([*rows, {"product_id": "P9", "location_id": "DC", "on_hand": 50}, _P9_STORE])
    params = PlanParameters(objective=objective)
    result = plan_procurement(frame, params)
    assert plan_violations(result.plan, params).empty
    assert row(result, "P9", "S2").order_qty > 0  # the rest of the plan is made
    return result


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_parent_without_enough_on_hand_for_critical_children_is_reported_not_fatal(objective):
    result = _unreachable_plan(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 3, "on_order": 100},
            {"product_id": "P1", "location_id": "S1", "safety_stock": 5, "order_up_to": 6, "abc_class": "A"},
        ],
        objective,
    )
    s1 = row(result, "P1", "S1")
    assert s1.reason_code == "critical_unreachable"
    assert s1.order_qty == 3  # all the DC has on hand goes to the critical store
    assert result.summary.critical_unreachable == 1


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_critical_row_that_cannot_receive_is_reported_not_fatal(objective):
    # S1's parent (DC) does not stock P1: nothing can be transferred
    result = _unreachable_plan(
        [{"product_id": "P1", "location_id": "S1", "safety_stock": 5, "abc_class": "A"}], objective
    )
    s1 = row(result, "P1", "S1")
    assert s1.reason_code == "critical_unreachable" and s1.order_qty == 0
    assert result.summary.reason_counts["critical_unreachable"] == 1


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_critical_minimum_that_does_not_fit_capacity_is_reported_not_fatal(objective):
    result = _unreachable_plan(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100},
            {
                "product_id": "P1",
                "location_id": "S1",
                "safety_stock": 8,
                "order_up_to": 10,
                "abc_class": "A",
                "capacity_units": 5,
            },
        ],
        objective,
    )
    s1 = row(result, "P1", "S1")
    assert s1.reason_code == "critical_unreachable"
    assert s1.position_after == 5  # filled to the capacity, not to the safety stock it cannot hold


@pytest.mark.parametrize("relax", [False, True])
def test_highs_iis_names_the_constraint_families_and_products(relax):
    # skip the analytic check: HiGHS finds the model infeasible and its IIS is mapped back
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(
            critical_frame(),
            PlanParameters(objective="target_gap", budget=150, relax_integrality=relax),
            precheck=False,
        )
    err = info.value
    families = err.family.split("+")
    assert "budget" in families and "critical_minimum" in families
    assert set(err.product_ids) <= {"P1", "P2"} and err.product_ids
    assert "irreducible infeasible subset" in str(err)
