"""The plan's schema and its hard-rule checks, on good and on deliberately broken plans."""

from __future__ import annotations

import numpy as np
import pandera.pandas as pa
import pytest

from inventory_assets.contract.plan import VIOLATION_CHECKS, ProcurementPlanSchema, plan_violations
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.factories import features

PARAMS = PlanParameters(budget=1000, objective="target_gap")  # the hand plan below is that objective's


@pytest.fixture(scope="module")
def plan():
    frame = features(
        [
            {
                "product_id": "P1",
                "location_id": "DC",
                "on_hand": 20,
                "order_up_to": 30,
                "abc_class": "A",
                "safety_stock": 5,
                "order_multiple": 5,
                "min_order_qty": 10,
            },
            {
                "product_id": "P1",
                "location_id": "S1",
                "on_hand": 1,
                "order_up_to": 8,
                "abc_class": "A",
                "safety_stock": 3,
                "order_multiple": 5,
                "min_order_qty": 10,
                "capacity_units": 40,
            },
            {
                "product_id": "P1",
                "location_id": "S2",
                "on_hand": 9,
                "order_up_to": 8,
                "abc_class": "A",
                "safety_stock": 3,
                "order_multiple": 5,
                "min_order_qty": 10,
            },
        ]
    )
    return plan_procurement(frame, PARAMS).plan


def test_good_plan_passes(plan):
    validated = ProcurementPlanSchema.validate(plan)
    assert plan_violations(validated, PARAMS).empty
    assert plan.loc[plan.location_id == "S1", "order_qty"].item() == 10
    assert plan.loc[plan.location_id == "DC", "order_qty"].item() == 20


def test_every_field_is_described():
    schema = ProcurementPlanSchema
    assert all(col.description for col in schema.columns.values())


@pytest.mark.parametrize(
    "changes, check",
    [
        ({("S1", "order_qty"): -5.0}, "order_qty_non_negative"),
        ({("S1", "order_qty"): 12.0}, "pack_multiple"),
        ({("S2", "order_qty"): 5.0, ("S2", "min_order_qty"): 10.0}, "min_order_qty"),
        ({("DC", "order_qty"): 200.0}, "budget"),
        ({("DC", "on_hand"): 5.0}, "parent_stock"),
        ({("S1", "position_after"): 2.0}, "critical_safety_stock"),
        ({("S1", "capacity_units"): 5.0}, "capacity"),
        ({("S2", "position_after"): 99.0}, "position_balance"),
    ],
)
def test_each_broken_rule_is_reported(plan, changes, check):
    bad = plan.copy()
    for (location, column), value in changes.items():
        bad.loc[bad.location_id == location, column] = value
    if check == "budget":
        bad.loc[bad.location_id == "DC", "order_value"] = 2000.0
    found = plan_violations(bad, PARAMS)
    assert check in set(found["check"]), found
    assert check in VIOLATION_CHECKS


def test_five_violations_in_one_report(plan):
    bad = plan.copy()
    bad.loc[bad.location_id == "S1", "order_qty"] = 12.0  # pack
    bad.loc[bad.location_id == "S2", "order_qty"] = 5.0  # pack ok, below MOQ
    bad.loc[bad.location_id == "DC", "on_hand"] = 1.0  # parent stock
    bad.loc[bad.location_id == "S1", "position_after"] = 1.0  # critical + balance
    found = plan_violations(bad, PARAMS)
    assert {"pack_multiple", "min_order_qty", "parent_stock", "critical_safety_stock", "position_balance"} <= set(
        found["check"]
    )


def test_schema_rejects_bad_frames(plan):
    with pytest.raises(pa.errors.SchemaErrors):
        ProcurementPlanSchema.validate(broken_reason(plan), lazy=True)
    bad = plan.copy()
    bad["stockout_risk_after"] = 1.5
    with pytest.raises(pa.errors.SchemaError):
        ProcurementPlanSchema.validate(bad)
    bad = plan.copy()
    bad["order_value"] = bad["order_value"] + 1.0
    with pytest.raises(pa.errors.SchemaError):
        ProcurementPlanSchema.validate(bad)
    bad = plan.copy()
    bad["holding_cost"] = np.inf
    with pytest.raises(pa.errors.SchemaError):
        ProcurementPlanSchema.validate(bad)


def broken_reason(plan):
    bad = plan.copy()
    bad["reason_code"] = "because"
    return bad
