"""The buyer's lists from a plan frame: hand-computed rows, names falling back to ids, the invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from inventory_assets.contract import spec
from inventory_assets.reporting.orders import (
    NO_SUPPLIER,
    PURCHASE_COLUMNS,
    TRANSFER_COLUMNS,
    number_words,
    order_lists,
    reason_text,
)
from inventory_assets_tests.io.test_plan_store import make_plan

DAY = date(2026, 11, 30)


def _row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "product_id": "P1",
        "location_id": "DC",
        "source_location_id": None,
        "is_critical": False,
        "order_qty": 0.0,
        "order_value": 0.0,
        "unit_cost": 2.5,
        "order_multiple": 1.0,
        "min_order_qty": 0.0,
        "transfers_out": 0.0,
        "position_before": 0.0,
        "position_after": 0.0,
        "order_up_to": 0.0,
        "safety_stock": 0.0,
        "reason_code": "nothing_needed",
    }
    base.update(values)
    return base


def hand_plan() -> pd.DataFrame:
    """Four rows: a budget-limited purchase, a row without order, a parent-limited transfer, a rounded one."""
    rows = [
        _row(
            product_id="P1",
            order_qty=40.0,
            order_value=100.0,
            order_multiple=4.0,
            position_before=94.0,
            position_after=134.0,
            order_up_to=146.0,
            safety_stock=20.0,
            reason_code="limited_by_budget",
        ),
        _row(product_id="P2", position_before=50.0, position_after=50.0, order_up_to=30.0),
        _row(
            product_id="P1",
            location_id="S1",
            source_location_id="DC",
            order_qty=8.0,
            order_multiple=4.0,
            position_before=2.0,
            position_after=10.0,
            order_up_to=15.0,
            safety_stock=3.0,
            reason_code="limited_by_parent_stock",
        ),
        _row(
            product_id="P2",
            location_id="S1",
            source_location_id="DC",
            order_qty=12.0,
            order_multiple=6.0,
            unit_cost=1.0,
            position_before=1.0,
            position_after=13.0,
            order_up_to=8.0,
            safety_stock=2.0,
            reason_code="pack_moq_rounding",
        ),
    ]
    return pd.DataFrame(rows)


FEATURES = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P1", "P2"],
        "location_id": ["DC", "DC", "S1", "S1"],
        "lead_time_mean": [6.2, 9.0, 2.0, 1.0],
    }
)
COSTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2"],
        "product_name": ["Oat Milk 1 l", None],
        "supplier_id": ["SUP1", "SUP2"],
        "supplier_name": ["Fairview Farms", None],
    }
)
LOCATIONS = pd.DataFrame({"location_id": ["DC", "S1"], "name": ["Central DC", None]})


def test_a_hand_plan_gives_the_hand_computed_lists() -> None:
    lists = order_lists(hand_plan(), order_date=DAY, features=FEATURES, costs=COSTS, locations=LOCATIONS)
    purchases, transfers = lists.purchases, lists.transfers
    assert list(purchases.columns) == list(PURCHASE_COLUMNS) and list(transfers.columns) == list(TRANSFER_COLUMNS)

    assert len(purchases) == 1
    p = purchases.iloc[0]
    assert (p["supplier_id"], p["supplier_name"], p["product_name"], p["location_name"]) == (
        "SUP1",
        "Fairview Farms",
        "Oat Milk 1 l",
        "Central DC",
    )
    assert (p["order_qty"], p["packs"], p["order_value"], p["lead_time_days"]) == (40.0, 10, 100.0, 7)
    assert p["order_date"] == pd.Timestamp("2026-11-30") and p["expected_arrival"] == pd.Timestamp("2026-12-07")
    assert p["reason"] == "below target 146 by 52; budget exhausted after 40; position 94 + 40 = 134"

    assert list(transfers["product_id"]) == ["P1", "P2"]
    t1, t2 = transfers.iloc[0], transfers.iloc[1]
    assert (t1["source_location_id"], t1["source_location_name"], t1["location_name"]) == ("DC", "Central DC", "S1")
    assert (t1["order_value"], t1["packs"], t1["expected_arrival"]) == (0.0, 2, pd.Timestamp("2026-12-02"))
    assert t1["reason"] == "below target 15 by 13; DC has no more stock after 8; position 2 + 8 = 10"
    assert t2["product_name"] == "P2"  # no name in costs: the id
    assert t2["reason"] == "below target 8 by 7; rounded to 2 pack(s) of 6 = 12; position 1 + 12 = 13"

    spec.PURCHASE_ORDERS.to_pandera().validate(purchases, lazy=True)
    spec.TRANSFER_ORDERS.to_pandera().validate(transfers, lazy=True)


def test_names_missing_in_the_sources_fall_back_to_ids() -> None:
    # No name columns at all (optional columns absent), and no sources at all.
    bare_costs = COSTS[["product_id"]]
    bare_locations = LOCATIONS[["location_id"]]
    for costs, locations in ((bare_costs, bare_locations), (None, None)):
        lists = order_lists(hand_plan(), order_date=DAY, features=FEATURES, costs=costs, locations=locations)
        p = lists.purchases.iloc[0]
        assert pd.isna(p["supplier_id"]) and p["supplier_name"] == NO_SUPPLIER
        assert (p["product_name"], p["location_name"]) == ("P1", "DC")
        assert list(lists.transfers["source_location_name"]) == ["DC", "DC"]
        assert list(lists.transfers["location_name"]) == ["S1", "S1"]
        spec.PURCHASE_ORDERS.to_pandera().validate(lists.purchases, lazy=True)
    # A supplier id without a name: the id.
    costs = COSTS.assign(supplier_name=None)
    lists = order_lists(hand_plan(), order_date=DAY, features=FEATURES, costs=costs, locations=LOCATIONS)
    assert lists.purchases.iloc[0]["supplier_name"] == "SUP1"


def test_without_lead_times_orders_arrive_on_the_order_day() -> None:
    lists = order_lists(hand_plan(), order_date=DAY)
    assert (lists.purchases["expected_arrival"] == pd.Timestamp(DAY)).all()
    assert (lists.purchases["lead_time_days"] == 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_the_invariants_of_the_lists(seed: int) -> None:
    plan = make_plan(40, seed=seed)
    lists = order_lists(plan, order_date=DAY)
    purchases, transfers = lists.purchases, lists.transfers
    assert len(purchases) + len(transfers) == int((plan["order_qty"] > 0).sum())
    assert (purchases["order_qty"] > 0).all() and (transfers["order_qty"] > 0).all()
    # Purchases come from suppliers (no source location in the plan) and are worth qty x unit cost.
    bought = plan[plan["source_location_id"].isna() & (plan["order_qty"] > 0)]
    assert set(zip(purchases["product_id"], purchases["location_id"], strict=True)) == set(
        zip(bought["product_id"], bought["location_id"], strict=True)
    )
    np.testing.assert_allclose(purchases["order_value"], purchases["order_qty"] * purchases["unit_cost"])
    # Transfers have a source and no value.
    assert transfers["source_location_id"].notna().all() and (transfers["order_value"] == 0).all()
    # Whole packs.
    for frame in (purchases, transfers):
        np.testing.assert_allclose(frame["packs"] * frame["order_multiple"], frame["order_qty"])
        assert (frame["packs"] >= 1).all()
    spec.PURCHASE_ORDERS.to_pandera().validate(purchases, lazy=True)
    spec.TRANSFER_ORDERS.to_pandera().validate(transfers, lazy=True)


def test_a_plan_without_orders_gives_empty_lists_with_the_columns() -> None:
    plan = make_plan(10).assign(order_qty=0.0, order_value=0.0)
    lists = order_lists(plan, order_date=DAY)
    assert lists.purchases.empty and list(lists.purchases.columns) == list(PURCHASE_COLUMNS)
    assert lists.transfers.empty and list(lists.transfers.columns) == list(TRANSFER_COLUMNS)


def test_every_reason_code_reads_as_words() -> None:
    for code in spec.REASON_CODES:
        text = reason_text(
            _row(order_qty=6.0, position_before=1.0, position_after=7.0, order_up_to=9.5, reason_code=code)
        )
        assert text.startswith("below target 9.5 by 8.5; ") and "_" not in text, text
    critical = _row(
        is_critical=True, order_qty=5.0, safety_stock=20.0, order_up_to=12.0, reason_code="critical_minimum"
    )
    assert reason_text(critical).startswith("below safety stock 20 by 20; critical item: 5 brings it")


def test_transfers_out_show_in_the_position() -> None:
    row = _row(order_qty=28.0, transfers_out=29.0, position_before=99.0, position_after=98.0, order_up_to=97.25)
    text = reason_text({**row, "reason_code": "below_target"})
    assert text == "below target 97.25 by 27.25; ordering 28 covers it; position 99 - 29 transferred out + 28 = 98"


def test_numbers_read_as_people_write_them() -> None:
    assert [number_words(v) for v in (18210.0, 52.0, 12.5, 0.333, 1e6)] == ["18,210", "52", "12.5", "0.33", "1,000,000"]
