"""merge_dataset on a tiny network with hand-computed figures.

Window 2025-01-01 .. 2025-01-10 (10 days). DC supplies stores S1 and S2.

| pair   | sales (day: units)                 | total | mean | sample var (ddof=1)         |
|--------|------------------------------------|-------|------|-----------------------------|
| P1@S1  | 0: 3, 4: 5, 6: 0                   | 8     | 0.8  | (9 + 25 - 10*0.64) / 9 = 27.6/9 |
| P1@S2  | 4: 2, 9: 2                         | 4     | 0.4  | (4 + 4 - 10*0.16) / 9 = 6.4/9  |
| P1@DC  | none (supplies S1, S2)             | 0     | 0    | 0                           |
| P2@S1  | 1 unit every day                   | 10    | 1.0  | 0                           |
| P3@S2  | none                               | 0     | 0    | 0                           |

Echelon P1@DC: mean 0 + 0.8 + 0.4 = 1.2, variance 27.6/9 + 6.4/9 = 34/9, sale days {0, 4, 9} = 3.
Not joined: P2@S2 (7 units, P2 not stocked there), P9@S1 (unknown product, 1 unit), one P1@S1 row
dated before the window.

Receipts (lead days): P1@S1 2, 4, 6 -> pair (3 >= min_receipts): 4 +- 2. P1@S2 3 (one receipt) ->
product P1 (2, 4, 6, 3): mean 3.75, var 8.75/3. P1@DC none -> product P1. P2@S1 none, product P2 none ->
location S1 (2, 4, 6): 4 +- 2. P3@S2: product none, location S2 has 1 -> default 7 +- 2. One receipt
received before it was ordered is ignored.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from inventory_assets.analytics.merge import (
    MERGED_COLUMNS,
    MissingCostsError,
    UnknownLocationsError,
    merge_dataset,
)
from inventory_assets.contract.frames import MergedDatasetSchema

START = pd.Timestamp("2025-01-01")
END = pd.Timestamp("2025-01-10")


def day(n: int) -> pd.Timestamp:
    return START + pd.Timedelta(days=n)


def make_sources() -> dict[str, pd.DataFrame]:
    locations = pd.DataFrame(
        {
            "location_id": pd.Series(["DC", "S1", "S2"], dtype="str"),
            "name": pd.Series(["dc", "store 1", "store 2"], dtype="str"),
            "echelon": [0, 1, 1],
            "parent_location_id": pd.Series([None, "DC", "DC"], dtype="str"),
            "capacity_units": [np.nan, 500.0, 300.0],
        }
    )
    costs = pd.DataFrame(
        {
            "product_id": pd.Series(["P1", "P2", "P3", "P9"], dtype="str"),
            "unit_cost": [2.0, 10.0, 1.0, 5.0],
            "holding_cost_rate": [0.2, 0.25, 0.2, 0.2],
            "stockout_cost": [4.0, 20.0, 2.0, 1.0],
            "waste_cost": [1.5, 0.0, 0.0, 0.0],
            "shelf_life_days": [30.0, np.nan, np.nan, np.nan],
            "min_order_qty": [0.0, 10.0, np.nan, 0.0],
            "order_multiple": [1.0, 5.0, np.nan, 1.0],
        }
    )
    # Deliberately not sorted by key.
    inventory = pd.DataFrame(
        {
            "product_id": pd.Series(["P2", "P1", "P1", "P1", "P3"], dtype="str"),
            "location_id": pd.Series(["S1", "S1", "DC", "S2", "S2"], dtype="str"),
            "on_hand": [5.0, 4.0, 20.0, 0.0, 7.0],
            "on_order": [0.0, 1.0, np.nan, 0.0, 0.0],
            "as_of": [END] * 5,
        }
    )
    rows = [
        (day(0), "P1", "S1", 3.0),
        (day(4), "P1", "S1", 5.0),
        (day(6), "P1", "S1", 0.0),
        (day(4), "P1", "S2", 2.0),
        (day(9), "P1", "S2", 2.0),
        (day(1), "P2", "S2", 7.0),
        (day(2), "P9", "S1", 1.0),
        (day(-1), "P1", "S1", 100.0),
    ] + [(day(d), "P2", "S1", 1.0) for d in range(10)]
    sales = pd.DataFrame(rows, columns=["sale_date", "product_id", "location_id", "quantity"])
    sales["product_id"] = sales["product_id"].astype("str")
    sales["location_id"] = sales["location_id"].astype("str")
    sales["sale_lines"] = 1
    receipts = pd.DataFrame(
        [
            ("P1", "S1", day(0), day(2)),
            ("P1", "S1", day(1), day(5)),
            ("P1", "S1", day(2), day(8)),
            ("P1", "S2", day(0), day(3)),
            ("P3", "S2", day(5), day(4)),  # received before ordered: ignored
        ],
        columns=["product_id", "location_id", "ordered_at", "received_at"],
    )
    receipts["quantity"] = 10.0
    return {"sales": sales, "inventory": inventory, "costs": costs, "locations": locations, "receipts": receipts}


def merge(**overrides):
    src = make_sources()
    src.update(overrides)
    return merge_dataset(
        src["sales"],
        src["inventory"],
        src["costs"],
        src["locations"],
        src["receipts"],
        window_start=START,
        window_end=END,
    )


def by_key(frame: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    return {(r.product_id, r.location_id): r for r in frame.itertuples(index=False)}


def test_columns_order_and_schema():
    merged, _ = merge()
    assert list(merged.columns) == list(MERGED_COLUMNS)
    assert list(zip(merged["product_id"], merged["location_id"], strict=True)) == [
        ("P1", "DC"),
        ("P1", "S1"),
        ("P1", "S2"),
        ("P2", "S1"),
        ("P3", "S2"),
    ]
    assert merged.index.equals(pd.RangeIndex(5))
    MergedDatasetSchema.validate(merged, lazy=True)


def test_direct_demand_counts_days_without_sales_as_zero():
    merged, _ = merge()
    rows = by_key(merged)
    s1 = rows[("P1", "S1")]
    assert s1.window_days == 10
    assert s1.demand_total == 8.0
    assert s1.demand_mean == pytest.approx(0.8)
    assert s1.demand_std == pytest.approx(math.sqrt(27.6 / 9))
    assert s1.sale_days == 2  # the 0-unit row is not a sale day
    assert s1.last_sale_date == day(4)
    s2 = rows[("P1", "S2")]
    assert (s2.demand_total, s2.sale_days, s2.last_sale_date) == (4.0, 2, day(9))
    assert s2.demand_std == pytest.approx(math.sqrt(6.4 / 9))
    p2 = rows[("P2", "S1")]
    assert (p2.demand_mean, p2.demand_std, p2.sale_days) == (1.0, 0.0, 10)
    p3 = rows[("P3", "S2")]
    assert (p3.demand_total, p3.demand_mean, p3.demand_std, p3.sale_days) == (0.0, 0.0, 0.0, 0)
    assert pd.isna(p3.last_sale_date)


def test_upper_echelon_pools_its_two_children():
    merged, _ = merge()
    rows = by_key(merged)
    dc = rows[("P1", "DC")]
    assert dc.demand_mean == 0.0 and dc.sale_days == 0
    assert dc.echelon_demand_mean == pytest.approx(1.2)
    assert dc.echelon_demand_std == pytest.approx(math.sqrt(34 / 9))
    assert dc.echelon_sale_days == 3
    for key in [("P1", "S1"), ("P1", "S2"), ("P2", "S1"), ("P3", "S2")]:
        leaf = rows[key]
        assert leaf.echelon_demand_mean == leaf.demand_mean
        assert leaf.echelon_demand_std == leaf.demand_std
        assert leaf.echelon_sale_days == leaf.sale_days


def test_lead_time_fallback_levels():
    merged, report = merge()
    rows = by_key(merged)
    expected = {
        ("P1", "S1"): ("pair", 3, 4.0, 2.0),
        ("P1", "S2"): ("product", 4, 3.75, math.sqrt(8.75 / 3)),  # single receipt: P1 at the DC's stores
        # no receipts at the pair, and the product's receipts are the stores' transfers from the DC:
        # a different source, so the DC does not borrow them (nor has the DC any receipts) -> default
        ("P1", "DC"): ("default", 0, 7.0, 2.0),
        ("P2", "S1"): ("location", 3, 4.0, 2.0),
        ("P3", "S2"): ("default", 0, 7.0, 2.0),
    }
    for key, (level, n, mean, std) in expected.items():
        row = rows[key]
        assert (row.lead_time_level, row.lead_time_receipts) == (level, n), key
        assert row.lead_time_mean == pytest.approx(mean), key
        assert row.lead_time_std == pytest.approx(std), key
    assert report.receipts_ignored == 1 and report.receipts_used == 4
    assert report.lead_time_levels == {"pair": 1, "product": 1, "location": 1, "default": 2}


def test_single_receipt_is_used_when_min_receipts_is_one():
    src = make_sources()
    merged, _ = merge_dataset(
        src["sales"],
        src["inventory"],
        src["costs"],
        src["locations"],
        src["receipts"],
        window_start=START,
        window_end=END,
        min_receipts=1,
        default_lead_time_days=9.0,
        default_lead_time_std_days=0.5,
    )
    rows = by_key(merged)
    s2 = rows[("P1", "S2")]
    assert (s2.lead_time_level, s2.lead_time_receipts, s2.lead_time_mean, s2.lead_time_std) == ("pair", 1, 3.0, 0.0)
    p3 = rows[("P3", "S2")]  # the location's single receipt now suffices
    assert (p3.lead_time_level, p3.lead_time_mean) == ("location", 3.0)


def test_no_receipts_at_all_uses_the_default():
    empty = make_sources()["receipts"].iloc[:0]
    merged, report = merge(receipts=empty)
    assert set(merged["lead_time_level"]) == {"default"}
    assert (merged["lead_time_mean"] == 7.0).all() and (merged["lead_time_std"] == 2.0).all()
    assert (merged["lead_time_receipts"] == 0).all()
    assert report.receipts_used == 0


def test_report_of_what_did_not_join():
    merged, report = merge()
    assert report.window_days == 10 and report.pairs == 5 and report.products == 3
    assert report.stocked_pairs_without_sales == 2
    assert set(report.stocked_pairs_without_sales_sample) == {("P1", "DC"), ("P3", "S2")}
    assert report.stocked_pairs_without_demand == 1
    assert report.stocked_pairs_without_demand_sample == (("P3", "S2"),)
    assert report.unstocked_sales_pairs == 2
    assert report.unstocked_sales_rows == 2
    assert report.unstocked_sales_units == 8.0
    assert report.unstocked_sales_sample == (("P2", "S2"), ("P9", "S1"))
    assert report.sales_rows_outside_window == 1
    assert report.duplicate_sale_rows_merged == 0
    as_dict = report.as_dict()
    assert as_dict["unstocked_sales_sample"] == ["P2@S2", "P9@S1"]
    assert as_dict["window_start"] == "2025-01-01"
    # the stocked pair without sales is kept with zero demand
    assert ("P3", "S2") in by_key(merged)


def test_inventory_products_without_costs_raise_naming_them():
    src = make_sources()
    costs = src["costs"][src["costs"]["product_id"] != "P2"]
    extra = pd.DataFrame(
        {"product_id": ["P7"], "location_id": ["S1"], "on_hand": [1.0], "on_order": [0.0], "as_of": [END]}
    ).astype({"product_id": "str", "location_id": "str"})
    inventory = pd.concat([src["inventory"], extra], ignore_index=True)
    with pytest.raises(MissingCostsError, match="P2.*P7") as info:
        merge(costs=costs, inventory=inventory)
    assert info.value.products == ("P2", "P7")
    assert isinstance(info.value, ValueError)


def test_unknown_inventory_location_raises():
    src = make_sources()
    inventory = src["inventory"].copy()
    inventory.loc[0, "location_id"] = "NOWHERE"
    with pytest.raises(UnknownLocationsError, match="NOWHERE"):
        merge(inventory=inventory)


def test_duplicate_sale_days_are_summed():
    src = make_sources()
    sales = src["sales"].copy()
    first = sales.index[(sales["product_id"] == "P1") & (sales["location_id"] == "S1") & (sales["sale_date"] == day(0))]
    sales.loc[first, "quantity"] = 1.0
    extra = sales.loc[first].assign(quantity=2.0)  # same day: 1 + 2 = 3, as before
    merged, report = merge(sales=pd.concat([sales, extra], ignore_index=True))
    s1 = by_key(merged)[("P1", "S1")]
    assert report.duplicate_sale_rows_merged == 1
    assert s1.demand_std == pytest.approx(math.sqrt(27.6 / 9))
    assert s1.sale_days == 2


def test_window_is_required_and_its_ends_are_inclusive():
    src = make_sources()
    with pytest.raises(ValueError, match="window_start is required"):
        merge_dataset(src["sales"], src["inventory"], src["costs"], src["locations"], src["receipts"])
    src["sales"].attrs["window_start"] = START  # a side channel is not read
    with pytest.raises(ValueError, match="window_start is required"):
        merge_dataset(src["sales"], src["inventory"], src["costs"], src["locations"], src["receipts"])
    merged, report = merge()
    assert report.window_start == START and report.window_end == END and report.window_days == 10
    one_day, report1 = merge_dataset(
        src["sales"],
        src["inventory"],
        src["costs"],
        src["locations"],
        src["receipts"],
        window_start=day(4),
        window_end=day(4),
    )
    assert report1.window_days == 1
    s1 = by_key(one_day)[("P1", "S1")]
    assert (s1.demand_total, s1.demand_mean, s1.demand_std) == (5.0, 5.0, 0.0)
    with pytest.raises(ValueError, match="before"):
        merge_dataset(
            src["sales"],
            src["inventory"],
            src["costs"],
            src["locations"],
            src["receipts"],
            window_start=END,
            window_end=START,
        )


def test_duplicate_inventory_keys_raise():
    src = make_sources()
    inventory = pd.concat([src["inventory"], src["inventory"].iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate"):
        merge(inventory=inventory)


def test_no_sales_at_all():
    merged, report = merge(sales=make_sources()["sales"].iloc[:0])
    assert (merged["demand_total"] == 0).all() and (merged["echelon_demand_mean"] == 0).all()
    assert report.stocked_pairs_without_sales == 5 and report.unstocked_sales_pairs == 0
    MergedDatasetSchema.validate(merged, lazy=True)


def test_costs_and_locations_are_joined():
    merged, _ = merge()
    rows = by_key(merged)
    p3 = rows[("P3", "S2")]
    assert (p3.min_order_qty, p3.order_multiple) == (0.0, 1.0)  # NULLs read as 0 and 1
    assert (p3.echelon, p3.parent_location_id, p3.capacity_units) == (1, "DC", 300.0)
    dc = rows[("P1", "DC")]
    assert pd.isna(dc.parent_location_id) and np.isnan(dc.capacity_units) and dc.on_order == 0.0
    assert dc.shelf_life_days == 30.0 and dc.unit_cost == 2.0


def test_three_levels_pool_past_an_unstocked_middle():
    # N (0) -> R (1) -> S (2). P1 stocked at S and N only: N pools S; R is not a row.
    locations = pd.DataFrame(
        {
            "location_id": pd.Series(["N", "R", "S"], dtype="str"),
            "name": pd.Series(["n", "r", "s"], dtype="str"),
            "echelon": [0, 1, 2],
            "parent_location_id": pd.Series([None, "N", "R"], dtype="str"),
            "capacity_units": [np.nan] * 3,
        }
    )
    src = make_sources()
    inventory = pd.DataFrame(
        {
            "product_id": ["P1", "P1", "P2"],
            "location_id": ["N", "S", "R"],
            "on_hand": [1.0, 1.0, 1.0],
            "on_order": [0.0] * 3,
            "as_of": [END] * 3,
        }
    ).astype({"product_id": "str", "location_id": "str"})
    sales = pd.DataFrame(
        {
            "sale_date": [day(1), day(2), day(2)],
            "product_id": ["P1", "P1", "P2"],
            "location_id": ["S", "S", "S"],
            "quantity": [2.0, 4.0, 9.0],
            "sale_lines": 1,
        }
    ).astype({"product_id": "str", "location_id": "str"})
    merged, report = merge(locations=locations, inventory=inventory, sales=sales, receipts=src["receipts"].iloc[:0])
    rows = by_key(merged)
    n = rows[("P1", "N")]
    assert n.echelon_demand_mean == pytest.approx(0.6) and n.echelon_sale_days == 2
    assert n.echelon_demand_std == pytest.approx(rows[("P1", "S")].demand_std)
    assert rows[("P2", "R")].echelon_demand_mean == 0.0  # P2 sold at S, where it is not stocked
    assert report.unstocked_sales_pairs == 1 and report.unstocked_sales_units == 9.0
    MergedDatasetSchema.validate(merged, lazy=True)


def test_nullable_integers_decimals_and_string_dates_are_read():
    from decimal import Decimal

    src = make_sources()
    costs = src["costs"].copy()
    costs["shelf_life_days"] = pd.array([30, None, None, None], dtype="Int64")
    sales = src["sales"].copy()
    sales["quantity"] = [Decimal(str(q)) for q in sales["quantity"]]
    sales["sale_date"] = sales["sale_date"].dt.strftime("%Y-%m-%d")
    plain, _ = merge()
    merged, _ = merge(costs=costs, sales=sales)
    pd.testing.assert_frame_equal(merged, plain)
