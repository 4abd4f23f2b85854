"""The data container: keys, network, bounds, and clear errors on bad features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from inventory_assets.optimization.data import NO_PARENT, build_plan_data, round_down_to_pack, round_up_to_pack
from inventory_assets.optimization.errors import PlanDataError
from inventory_assets.optimization.params import PlanParameters
from inventory_assets_tests.optimization.factories import features


def test_rows_sorted_parents_orphans_and_levels():
    frame = features(
        [
            {"product_id": "P2", "location_id": "S1", "order_up_to": 10},
            {"product_id": "P1", "location_id": "S2", "order_up_to": 10},
            {"product_id": "P1", "location_id": "DC", "on_hand": 50},
            {"product_id": "P2", "location_id": "DC"},
            {"product_id": "P3", "location_id": "S1", "order_up_to": 10},  # DC does not stock P3
        ]
    )
    data = build_plan_data(frame, PlanParameters(objective="target_gap"))
    assert list(zip(data.product_id, data.location_id, strict=True)) == [
        ("P1", "DC"),
        ("P1", "S2"),
        ("P2", "DC"),
        ("P2", "S1"),
        ("P3", "S1"),
    ]
    assert data.parent.tolist() == [NO_PARENT, 0, NO_PARENT, 2, NO_PARENT]
    assert data.is_root.tolist() == [True, False, True, False, False]
    assert data.is_orphan.tolist() == [False, False, False, False, True]
    assert data.level.tolist() == [0, 1, 0, 1, 1]
    assert data.upper[4] == 0  # the orphan receives nothing
    assert data.frame.index.equals(pd.RangeIndex(5))


def test_inbound_cap_bottom_up():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 7, "order_up_to": 20, "order_multiple": 4},
            {"product_id": "P1", "location_id": "S1", "on_hand": 1, "order_up_to": 10, "order_multiple": 4},
            {
                "product_id": "P1",
                "location_id": "S2",
                "on_hand": 9,
                "order_up_to": 10,
                "order_multiple": 4,
                "min_order_qty": 6,
            },
        ]
    )
    data = build_plan_data(frame, PlanParameters(objective="target_gap", budget=1e6))
    # S1: need 9 -> 12 but DC holds 7 -> at most 4 (whole packs of what the DC has)
    # S2: need 1 -> MOQ 6 in packs of 4 -> 8, capped by DC on hand 7 -> 0 (below the MOQ)
    assert data.upper[1] == 4 and data.upper[2] == 0
    # DC: can lose at most min(7, 4 + 0) = 4, target 20 -> 20 + 4 - 7 = 17 -> 20
    assert data.max_pull[0] == 4 and data.upper[0] == 20
    # budget caps a root: $10 a unit, $100 -> 10 units -> 8 in packs of 4
    assert build_plan_data(frame, PlanParameters(objective="target_gap", budget=100)).upper[0] == 8


def test_pack_rounding_helpers():
    m, q = np.array([5.0, 5.0, 4.0, 1.0]), np.array([5.0, 5.0, 12.0, 1.0])
    assert round_up_to_pack(np.array([7, 0, 1, 1e-9]), m, q).tolist() == [10, 0, 12, 0]
    assert round_down_to_pack(np.array([7, 4.9, 13, 0.5]), m, q).tolist() == [5, 0, 12, 0]


def test_over_capacity_location_is_blocked_and_capacity_is_per_location():
    frame = features(
        [
            {"product_id": "P1", "location_id": "DC", "on_hand": 100},
            {"product_id": "P1", "location_id": "S1", "on_hand": 4, "capacity_units": 6, "order_up_to": 10},
            {"product_id": "P2", "location_id": "DC", "on_hand": 100},
            {"product_id": "P2", "location_id": "S1", "on_hand": 4, "capacity_units": 6, "order_up_to": 10},
        ]
    )
    data = build_plan_data(frame, PlanParameters(objective="target_gap"))
    s1 = list(data.location_ids).index("S1")
    assert data.base_at_location[s1] == 8 and data.over_capacity[s1]
    assert data.inbound_blocked.tolist() == [False, True, False, True]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"on_hand": -1.0}, "on_hand finite and >= 0"),
        ({"on_hand": np.inf}, "on_hand finite and >= 0"),
        ({"unit_cost": 0.0}, "unit_cost > 0"),
        ({"order_multiple": 0.0}, "order_multiple > 0"),
        ({"order_up_to": np.nan}, "order_up_to finite and >= 0"),
        ({"shelf_life_days": -3.0}, "shelf_life_days > 0"),
        ({"review_days": 0.0}, "review_days > 0"),
    ],
)
def test_bad_numbers_are_named(change, message):
    frame = features(
        [{"product_id": "P1", "location_id": "DC"}, {"product_id": "P2", "location_id": "DC", **change}],
        network={"DC": None},
    )
    with pytest.raises(PlanDataError, match=message) as info:
        build_plan_data(frame, PlanParameters(objective="target_gap"))
    assert "(P2, DC)" in str(info.value)


def test_structural_errors():
    good = features([{"product_id": "P1", "location_id": "DC"}], network={"DC": None})
    with pytest.raises(PlanDataError, match="empty"):
        build_plan_data(good.iloc[:0], PlanParameters(objective="target_gap"))
    with pytest.raises(PlanDataError, match="lacks column"):
        build_plan_data(good.drop(columns=["order_up_to"]), PlanParameters(objective="target_gap"))
    with pytest.raises(PlanDataError, match="duplicate"):
        build_plan_data(pd.concat([good, good]), PlanParameters(objective="target_gap"))
    cyc = features(
        [{"product_id": "P1", "location_id": "A"}, {"product_id": "P1", "location_id": "B"}],
        network={"A": None, "B": None},
    )
    cyc["parent_location_id"] = ["B", "A"]
    with pytest.raises(PlanDataError, match="cycle"):
        build_plan_data(cyc, PlanParameters(objective="target_gap"))
    caps = features(
        [
            {"product_id": "P1", "location_id": "DC", "capacity_units": 5},
            {"product_id": "P2", "location_id": "DC", "capacity_units": 6},
        ],
        network={"DC": None},
    )
    with pytest.raises(PlanDataError, match="capacity_units differs"):
        build_plan_data(caps, PlanParameters(objective="target_gap"))


def test_review_period_override_sets_holding_days():
    frame = features([{"product_id": "P1", "location_id": "DC"}], network={"DC": None})
    assert build_plan_data(frame, PlanParameters(objective="target_gap")).hold[0] == pytest.approx(10 * 0.365 / 365 * 7)
    assert build_plan_data(frame, PlanParameters(objective="target_gap", review_period_days=14)).hold[
        0
    ] == pytest.approx(0.14)


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        PlanParameters(objective="target_gap", budget=-1)
    with pytest.raises(ValueError):
        PlanParameters(objective="target_gap", mip_rel_gap=1.5)
    from_run_config: Any = ["A", "B"]  # a run config hands over a list; the field is typed as the tuple it becomes
    assert PlanParameters(objective="target_gap", critical_classes=from_run_config).critical_classes == ("A", "B")
