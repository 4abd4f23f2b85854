"""Infeasible plans: a diagnosis a planner can act on, raised once (no retries)."""

from __future__ import annotations

import pytest

from inventory_assets.optimization.errors import PlanError, PlanInfeasibleError
from inventory_assets.optimization.params import PlanParameters
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
        plan_procurement(critical_frame(), PlanParameters(budget=150, relax_integrality=relax))
    err = info.value
    assert "critical safety stock needs $220.00, budget is $150.00" in str(err)
    assert err.family == "budget"
    assert err.money_needed == pytest.approx(220) and err.money_available == 150
    assert set(err.product_ids) == {"P1", "P2"}
    assert isinstance(err, PlanError)


def test_exactly_enough_budget_is_feasible():
    result = plan_procurement(critical_frame(), PlanParameters(budget=220))
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
        plan_procurement(frame, PlanParameters(budget=49))
    assert plan_procurement(frame, PlanParameters(budget=50)).summary.spend == pytest.approx(50)


def test_parent_without_enough_on_hand_for_critical_children():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 3, "on_order": 100},
            {"product_id": "P1", "location_id": "S1", "safety_stock": 5, "abc_class": "A"},
        ]
    )
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(frame, PlanParameters())
    assert info.value.family == "transfer_limit"
    assert "P1 at DC needs 5 units" in str(info.value) and "has 3 on hand" in str(info.value)


def test_critical_row_that_cannot_receive():
    frame = features([{"product_id": "P1", "location_id": "S1", "safety_stock": 5, "abc_class": "A"}])
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(frame, PlanParameters())
    assert info.value.family == "replenishment"
    assert "P1 at S1" in str(info.value)


def test_critical_minimum_that_does_not_fit_capacity():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100},
            {"product_id": "P1", "location_id": "S1", "safety_stock": 8, "abc_class": "A", "capacity_units": 5},
        ]
    )
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(frame, PlanParameters())
    assert info.value.family == "capacity"
    assert "S1" in str(info.value)


@pytest.mark.parametrize("relax", [False, True])
def test_highs_iis_names_the_constraint_families_and_products(relax):
    # skip the analytic check: HiGHS finds the model infeasible and its IIS is mapped back
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(critical_frame(), PlanParameters(budget=150, relax_integrality=relax), precheck=False)
    err = info.value
    families = err.family.split("+")
    assert "budget" in families and "critical_minimum" in families
    assert set(err.product_ids) <= {"P1", "P2"} and err.product_ids
    assert "irreducible infeasible subset" in str(err)


def test_iis_for_transfer_limit():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 3},
            {"product_id": "P1", "location_id": "S1", "safety_stock": 5, "order_up_to": 5, "abc_class": "A"},
        ]
    )
    with pytest.raises(PlanInfeasibleError) as info:
        plan_procurement(frame, PlanParameters(relax_integrality=True), precheck=False)
    assert "P1" in info.value.product_ids
    assert "critical_minimum" in info.value.family
