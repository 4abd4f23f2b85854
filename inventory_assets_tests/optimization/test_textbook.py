"""With no binding budget and no perishables the plan is the textbook order-up-to rule:
order max(0, target - position), rounded up to the pack and MOQ, echelon by echelon."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.factories import features

NETWORKS = [
    {"DC": None, "S1": "DC", "S2": "DC"},
    {"DC": None, "R1": "DC", "S1": "R1", "S2": "R1", "S3": "DC"},
]


def textbook(qty_need: float, mult: float, moq: float) -> float:
    if qty_need <= 0:
        return 0.0
    packs = max(math.ceil(qty_need / mult - 1e-9), math.ceil(moq / mult - 1e-9), 1)
    return packs * mult


@st.composite
def instances(draw):
    network = draw(st.sampled_from(NETWORKS))
    n_products = draw(st.integers(1, 3))
    levels = {"DC": 0, "R1": 1, "S1": 2 if "R1" in network else 1, "S2": 2 if "R1" in network else 1, "S3": 1}
    rows = []
    for p in range(n_products):
        mult = draw(st.sampled_from([1.0, 4.0, 6.0]))
        moq = draw(st.sampled_from([0.0, 0.0, 10.0, 25.0]))
        abc = draw(st.sampled_from(["A", "B", "C"]))
        for loc in network:
            target = float(draw(st.integers(0, 60)))
            rows.append(
                {
                    "product_id": f"P{p}",
                    "location_id": loc,
                    "order_multiple": mult,
                    "min_order_qty": moq,
                    "on_hand": float(draw(st.integers(0, 70))),
                    "on_order": float(draw(st.integers(0, 10))),
                    "order_up_to": target,
                    "safety_stock": float(draw(st.integers(0, int(target)))),
                    "abc_class": abc,
                    "stockout_cost": 1000.0,
                    "unit_cost": float(draw(st.integers(1, 50))),
                    "review_days": float(draw(st.sampled_from([7, 14]))),
                    "_level": levels[loc],
                }
            )
    return network, rows


def expected_orders(network, rows):
    """Apply the rule from the stores up; parents hold what their children pull."""
    orders: dict[tuple[str, str], float] = {}
    for r in sorted(rows, key=lambda r: -r["_level"]):
        key = (r["product_id"], r["location_id"])
        pulls = sum(orders[(r["product_id"], c)] for c, par in network.items() if par == r["location_id"])
        position = r["on_hand"] + r["on_order"] - pulls
        orders[key] = textbook(r["order_up_to"] - position, r["order_multiple"], r["min_order_qty"])
    return orders


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from(["pyomo", "matrix"]))
def test_plan_equals_order_up_to_rule(instance, engine):
    network, rows = instance
    orders = expected_orders(network, rows)
    # parents hold enough for what their children pull (not binding)
    for r in rows:
        pulled = sum(orders[(r["product_id"], c)] for c, par in network.items() if par == r["location_id"])
        r["on_hand"] = max(r["on_hand"], pulled)
    orders = expected_orders(network, rows)
    frame = features([{k: v for k, v in r.items() if k != "_level"} for r in rows], network=network)
    result = plan_procurement(frame, PlanParameters(objective="target_gap", budget=1e9, mip_rel_gap=0.0), engine=engine)
    got = {
        (p, loc): q
        for p, loc, q in zip(result.plan.product_id, result.plan.location_id, result.plan.order_qty, strict=True)
    }
    assert got == orders
    assert np.all(result.plan["position_after"] >= result.plan["order_up_to"])
