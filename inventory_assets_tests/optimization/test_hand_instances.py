"""Hand-solvable instances: each constraint binding in turn, the exact optimum asserted.

Defaults (factories.DEFAULTS): unit cost 10, holding 0.07 $/unit over the 7-day review,
stock-out cost 5 $/unit.  Network: DC (buys) -> S1, S2 (transfers).
"""

from __future__ import annotations

import pytest

from inventory_assets.contract.plan import ProcurementPlanSchema, plan_violations
from inventory_assets.optimization.data import ECHELON_TIE_BREAK
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.factories import HOLD, features

DC_ONLY = {"DC": None}


def short(level: int, cost: float = 5.0) -> float:
    """Objective weight of a unit short at an echelon (docs/model.md: 1 + 0.001 x echelon)."""
    return cost * (1 + ECHELON_TIE_BREAK * level)


ENGINES = ["pyomo", "matrix"]


def solve(frame, engine="pyomo", **params):
    params.setdefault("mip_rel_gap", 0.0)
    p = PlanParameters(objective="target_gap", **params)
    result = plan_procurement(frame, p, engine=engine)
    ProcurementPlanSchema.validate(result.plan)
    assert plan_violations(result.plan, p).empty
    return result


def row(result, product, location):
    plan = result.plan
    return plan[(plan.product_id == product) & (plan.location_id == location)].iloc[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_order_up_to_when_nothing_binds(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100, "order_up_to": 50},
            {"product_id": "P1", "location_id": "S1", "on_hand": 2, "order_up_to": 10},
            {"product_id": "P1", "location_id": "S2", "on_hand": 20, "order_up_to": 10},
        ]
    )
    r = solve(frame, engine)
    assert row(r, "P1", "S1").order_qty == 8
    assert row(r, "P1", "S2").order_qty == 0
    assert row(r, "P1", "DC").order_qty == 0
    assert row(r, "P1", "DC").position_after == 92
    assert r.summary.objective == pytest.approx(HOLD * (92 + 10 + 20), rel=1e-9)
    assert r.summary.solver_objective == pytest.approx(r.summary.objective, rel=1e-9)
    assert row(r, "P1", "S1").reason_code == "below_target"
    assert row(r, "P1", "S2").reason_code == "nothing_needed"
    assert row(r, "P1", "DC").reason_code == "nothing_needed"
    assert row(r, "P1", "S1").source_location_id == "DC"
    assert r.summary.spend == 0 and r.summary.budget_shadow_price == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_budget_binds_and_goes_to_the_dearer_stockout(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "order_up_to": 100, "stockout_cost": 5.0},
            {"product_id": "P2", "location_id": "DC", "order_up_to": 100, "stockout_cost": 8.0},
        ],
        network=DC_ONLY,
    )
    r = solve(frame, engine, budget=1500)
    assert row(r, "P2", "DC").order_qty == 100
    assert row(r, "P1", "DC").order_qty == 50
    assert r.summary.spend == pytest.approx(1500)
    assert r.summary.objective == pytest.approx(HOLD * 150 + 5.0 * 50, rel=1e-9)
    # one more dollar buys 0.1 unit of P1: saves (5 - 0.07) / 10
    assert r.summary.budget_shadow_price == pytest.approx((5.0 - HOLD) / 10.0, rel=1e-6)
    assert row(r, "P1", "DC").reason_code == "limited_by_budget"
    assert row(r, "P2", "DC").reason_code == "below_target"
    assert row(r, "P1", "DC").order_value == pytest.approx(500)


@pytest.mark.parametrize("engine", ENGINES)
def test_parent_on_hand_limits_transfers_and_on_order_is_not_transferable(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 10, "on_order": 50, "order_up_to": 0},
            {"product_id": "P1", "location_id": "S1", "order_up_to": 8},
            # S2 holds stock twice as long (review 14 days): the scarce units go to S1 first
            {"product_id": "P1", "location_id": "S2", "order_up_to": 8, "review_days": 14.0},
        ]
    )
    r = solve(frame, engine)
    assert row(r, "P1", "S1").order_qty == 8
    assert row(r, "P1", "S2").order_qty == 2
    assert row(r, "P1", "DC").transfers_out == 10
    assert row(r, "P1", "DC").order_qty == 0  # its target is 0; purchases would not be transferable
    expected = HOLD * (50 + 8) + 2 * HOLD * 2 + short(1) * 6
    assert r.summary.objective == pytest.approx(expected, rel=1e-9)
    assert row(r, "P1", "S2").reason_code == "limited_by_parent_stock"


@pytest.mark.parametrize("engine", ENGINES)
def test_critical_minimum_is_hard(engine):
    frame = features(
        [
            # ordering does not pay (no stock-out cost), but class A must reach its safety stock
            {
                "product_id": "P1",
                "location_id": "DC",
                "on_hand": 2,
                "order_up_to": 20,
                "safety_stock": 12,
                "stockout_cost": 0.0,
                "abc_class": "A",
            },
            {
                "product_id": "P2",
                "location_id": "DC",
                "on_hand": 2,
                "order_up_to": 20,
                "safety_stock": 12,
                "stockout_cost": 0.0,
                "abc_class": "B",
            },
        ],
        network=DC_ONLY,
    )
    r = solve(frame, engine)
    assert row(r, "P1", "DC").order_qty == 10
    assert row(r, "P2", "DC").order_qty == 0
    assert r.summary.objective == pytest.approx(HOLD * (12 + 2), rel=1e-9)
    assert row(r, "P1", "DC").reason_code == "critical_minimum"
    assert bool(row(r, "P1", "DC").is_critical) and not bool(row(r, "P2", "DC").is_critical)
    # critical classes are configurable
    r2 = solve(frame, engine, critical_classes=("A", "B"))
    assert row(r2, "P2", "DC").order_qty == 10


@pytest.mark.parametrize("engine", ENGINES)
def test_shelf_life_caps_perishables(engine):
    frame = features(
        [
            {
                "product_id": "P1",
                "location_id": "DC",
                "order_up_to": 50,
                "shelf_life_days": 10,
                "forecast_demand_mean": 3.0,
                "waste_cost": 20.0,
            },
        ],
        network=DC_ONLY,
    )
    r = solve(frame, engine)
    assert row(r, "P1", "DC").order_qty == 30  # 3/day x 10 days sells; more would expire
    assert row(r, "P1", "DC").position_after <= 3.0 * 10  # nothing beyond what sells in the shelf life
    assert row(r, "P1", "DC").order_up_to - row(r, "P1", "DC").position_after == 20
    assert r.summary.objective == pytest.approx(HOLD * 30 + 5.0 * 20, rel=1e-9)
    assert row(r, "P1", "DC").reason_code == "limited_by_shelf_life"


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_is_shared_by_the_products_of_a_location(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100, "stockout_cost": 5.0},
            {"product_id": "P1", "location_id": "S1", "order_up_to": 20, "stockout_cost": 5.0, "capacity_units": 30},
            {"product_id": "P2", "location_id": "DC", "on_hand": 100, "stockout_cost": 8.0},
            {"product_id": "P2", "location_id": "S1", "order_up_to": 20, "stockout_cost": 8.0, "capacity_units": 30},
        ]
    )
    r = solve(frame, engine)
    assert row(r, "P2", "S1").order_qty == 20
    assert row(r, "P1", "S1").order_qty == 10
    assert r.summary.objective == pytest.approx(HOLD * (30 + 90 + 80) + short(1) * 10, rel=1e-9)
    assert row(r, "P1", "S1").reason_code == "limited_by_capacity"


@pytest.mark.parametrize("engine", ENGINES)
def test_location_already_over_capacity_receives_nothing(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100},
            {"product_id": "P1", "location_id": "S1", "on_hand": 10, "order_up_to": 20, "capacity_units": 5},
        ]
    )
    r = solve(frame, engine)
    assert row(r, "P1", "S1").order_qty == 0
    assert row(r, "P1", "S1").reason_code == "limited_by_capacity"
    assert r.summary.objective == pytest.approx(HOLD * 110 + short(1) * 10, rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("relax", [False, True])
def test_pack_and_moq_rounding(engine, relax):
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 3, "order_up_to": 10, "order_multiple": 5},
            {"product_id": "P2", "location_id": "DC", "on_hand": 3, "order_up_to": 10, "min_order_qty": 50},
            {
                "product_id": "P3",
                "location_id": "DC",
                "on_hand": 3,
                "order_up_to": 10,
                "min_order_qty": 50,
                "stockout_cost": 0.01,
            },
            {
                "product_id": "P4",
                "location_id": "DC",
                "on_hand": 3,
                "order_up_to": 10,
                "order_multiple": 4,
                "min_order_qty": 9,
            },
        ],
        network=DC_ONLY,
    )
    r = solve(frame, engine, relax_integrality=relax)
    assert row(r, "P1", "DC").order_qty == 10  # need 7 -> two packs of 5
    assert row(r, "P2", "DC").order_qty == 50  # need 7 -> the MOQ, as 7 x 5 $ short > 43 x 0.07 $
    assert row(r, "P3", "DC").order_qty == 0  # 7 x 0.01 $ short < 47 x 0.07 $ holding
    assert row(r, "P4", "DC").order_qty == 12  # MOQ 9 in packs of 4 -> 12
    assert {row(r, p, "DC").reason_code for p in ("P1", "P2", "P3", "P4")} == {"pack_moq_rounding"}
    holding = HOLD * (13 + 53 + 3 + 15)
    assert r.summary.objective == pytest.approx(holding + 0.01 * 7, rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_row_whose_parent_does_not_stock_the_product_receives_nothing(engine):
    frame = features(
        [
            {"product_id": "P1", "location_id": "S1", "on_hand": 1, "order_up_to": 10},
            {"product_id": "P2", "location_id": "DC", "on_hand": 50},
            {"product_id": "P2", "location_id": "S1", "on_hand": 1, "order_up_to": 10},
        ]
    )
    r = solve(frame, engine)
    assert row(r, "P1", "S1").order_qty == 0
    assert row(r, "P1", "S1").reason_code == "limited_by_parent_stock"
    assert row(r, "P2", "S1").order_qty == 9


def test_three_echelons_pull_in_order():
    network = {"DC": None, "R1": "DC", "S1": "R1"}
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 5, "order_up_to": 20},
            {"product_id": "P1", "location_id": "R1", "on_hand": 12, "order_up_to": 15},
            {"product_id": "P1", "location_id": "S1", "on_hand": 0, "order_up_to": 10},
        ],
        network=network,
    )
    r = solve(frame, "pyomo", budget=1e6)
    # S1 pulls 10 from R1 (12 on hand; a unit short costs more at the store), R1 then needs
    # 13 but DC has only 5 on hand
    assert row(r, "P1", "S1").order_qty == 10
    assert row(r, "P1", "R1").order_qty == 5
    assert row(r, "P1", "R1").reason_code == "limited_by_parent_stock"
    # DC: 5 - 5 pulled + x >= 20 -> buys 20
    assert row(r, "P1", "DC").order_qty == 20
    assert row(r, "P1", "DC").order_value == 200
    assert r.summary.objective == pytest.approx(HOLD * (20 + 7 + 10) + short(1) * 8, rel=1e-9)
