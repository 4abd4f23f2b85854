"""Schemas and explicit checks of the sources on tiny frames: good data, and each kind of bad data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.contract.validation import unknown_references, validate_source


def inventory_frame(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "product_id": ["P1", "P1", "P2"],
            "location_id": ["DC1", "S1", "S1"],
            "on_hand": [10, 0, 5.5],
            "on_order": [None, 3, 0],
            "as_of": ["2026-11-20", "2026-11-20", "2026-11-20"],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def costs_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "unit_cost": [2.5, 10],
            "holding_cost_rate": [0.2, 0.25],
            "stockout_cost": [4.0, 9.0],
            "waste_cost": [2.5, 0.0],
            "shelf_life_days": [7, None],
            "min_order_qty": [None, 12],
            "order_multiple": [6, None],
            "product_name": ["Oat Milk 1 l", None],
            "supplier_id": ["SUP1", None],
            "supplier_name": [None, None],
        }
    )


def locations_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "location_id": ["DC1", "S1", "S2"],
            "name": ["Central DC", "Store 1", None],
            "echelon": [0, 1, 1],
            "parent_location_id": [None, "DC1", "DC1"],
            "capacity_units": [None, 500, 300],
        }
    )


def receipts_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["P1", "P1"],
            "location_id": ["DC1", "S1"],
            "ordered_at": ["2026-10-01", "2026-10-05"],
            "received_at": ["2026-10-08", "2026-10-06"],
            "quantity": [120, 12],
        }
    )


def sales_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sale_date": ["2026-11-19", "2026-11-20"],
            "product_id": ["P1", "P1"],
            "location_id": ["S1", "S1"],
            "quantity": [3, 4],
            "sale_lines": [2, 1],
            "min_line_quantity": [1, 4],
            "null_quantity_lines": [0, 0],
            "non_numeric_quantity_lines": [0, 0],
            "offset_day_lines": [0, 0],
            "duplicate_sale_id_lines": [0, 0],
        }
    )


GOOD = {
    "inventory": inventory_frame,
    "costs": costs_frame,
    "locations": locations_frame,
    "receipts": receipts_frame,
    "sales": sales_frame,
}


@pytest.mark.parametrize("table", sorted(GOOD))
def test_good_frames_pass_and_are_coerced(table: str) -> None:
    result = validate_source(table, GOOD[table]())
    assert result.passed, result.message()
    for column in ("as_of", "ordered_at", "received_at", "sale_date"):
        if column in result.frame:
            assert pd.api.types.is_datetime64_any_dtype(result.frame[column])


def test_null_meanings_are_applied() -> None:
    inventory = validate_source("inventory", inventory_frame()).frame
    assert inventory["on_order"].tolist() == [0.0, 3.0, 0.0]
    costs = validate_source("costs", costs_frame()).frame
    assert costs.set_index("product_id")["min_order_qty"].to_dict() == {"P1": 0.0, "P2": 12.0}
    assert costs.set_index("product_id")["order_multiple"].to_dict() == {"P1": 6.0, "P2": 1.0}
    assert np.isnan(costs.set_index("product_id").loc["P2", "shelf_life_days"])
    locations = validate_source("locations", locations_frame()).frame
    assert locations.loc[locations.location_id == "DC1", "parent_location_id"].isna().all()
    assert np.isnan(locations.loc[0, "capacity_units"])


def test_decimal_values_and_string_dates_coerce() -> None:
    from decimal import Decimal

    frame = inventory_frame(on_hand=[Decimal("10.5000"), Decimal("0"), Decimal("5")])
    result = validate_source("inventory", frame)
    assert result.passed
    assert result.frame["on_hand"].dtype == np.float64
    assert result.frame["on_hand"].tolist() == [10.5, 0.0, 5.0]


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, -np.inf])
def test_negative_nan_or_infinite_stock_fails(bad: float) -> None:
    result = validate_source("inventory", inventory_frame(on_hand=[10, bad, 5]))
    assert not result.passed
    assert (result.failures["column"] == "on_hand").all()
    assert set(result.failures["key"]) == {"P1 / S1"}


@pytest.mark.parametrize("column", ["unit_cost", "holding_cost_rate", "stockout_cost", "waste_cost"])
@pytest.mark.parametrize("bad", [-2.0, np.nan, np.inf])
def test_bad_costs_fail(column: str, bad: float) -> None:
    frame = costs_frame()
    frame.loc[1, column] = bad
    result = validate_source("costs", frame)
    assert not result.passed
    assert set(result.failures["column"]) == {column}
    assert "P2" in result.failures["key"].tolist()


def test_five_violations_in_one_table_make_one_report() -> None:
    frame = pd.DataFrame(
        {
            "product_id": ["P1", "P1", "P2", "P3", "P4"],
            "location_id": ["S1", "S1", "S1", "S1", "S1"],
            "on_hand": [1.0, 2.0, -3.0, np.inf, 4.0],
            "on_order": [0, 0, 0, 0, -5],
            "as_of": ["2026-11-20", "2026-11-20", "2026-11-20", "2026-11-20", "not a date"],
        }
    )
    result = validate_source("inventory", frame)
    checks = set(zip(result.failures["column"].fillna(""), result.failures["check"], strict=True))
    # duplicate key, negative on_hand, infinite on_hand, negative on_order, an unparseable date
    assert len({c for _, c in checks}) >= 4, checks
    columns = {c for c, _ in checks}
    assert {"on_hand", "on_order", "as_of"} <= columns
    assert any("duplicate" in c or "unique" in c for _, c in checks)
    message = result.message()
    assert message.startswith("inventory:") and "on_hand" in message and "on_order" in message


def test_empty_table_is_an_error() -> None:
    result = validate_source("costs", costs_frame().iloc[0:0])
    assert not result.passed
    assert "not_empty" in result.failures["check"].tolist()


def test_missing_column_is_named() -> None:
    result = validate_source("costs", costs_frame().drop(columns=["unit_cost"]))
    assert not result.passed
    assert "unit_cost" in result.failures["failure_case"].tolist()


def test_wrong_type_is_reported() -> None:
    frame = locations_frame()
    frame["echelon"] = ["zero", "1", "1"]
    result = validate_source("locations", frame)
    assert not result.passed
    assert "echelon" in result.failures["column"].tolist()


def test_duplicate_keys_fail() -> None:
    frame = pd.concat([costs_frame(), costs_frame().iloc[[0]]], ignore_index=True)
    result = validate_source("costs", frame)
    assert not result.passed
    assert "P1" in result.failures["failure_case"].tolist()


def test_receipt_received_before_ordered_fails() -> None:
    frame = receipts_frame()
    frame.loc[1, "received_at"] = "2026-10-01"
    result = validate_source("receipts", frame)
    assert not result.passed
    assert "received_after_ordered" in result.failures["check"].tolist()


def test_sales_with_a_negative_or_null_line_fail() -> None:
    frame = sales_frame()
    frame.loc[0, "min_line_quantity"] = -1
    frame.loc[1, "null_quantity_lines"] = 2
    result = validate_source("sales", frame)
    assert set(result.failures["column"]) == {"min_line_quantity", "null_quantity_lines"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"parent_location_id": [None, "DC9", "DC1"]}, "missing_parent"),
        ({"echelon": [0, 2, 1]}, "echelon_mismatch"),
        ({"parent_location_id": ["S2", "DC1", "S1"], "echelon": [0, 1, 1]}, "cycle"),
    ],
)
def test_network_problems_fail_locations(change: dict, problem: str) -> None:
    frame = locations_frame()
    for column, values in change.items():
        frame[column] = values
    result = validate_source("locations", frame)
    assert not result.passed
    assert problem in result.failures["check"].tolist(), result.failures


def test_unknown_references_list_every_row() -> None:
    inventory = validate_source("inventory", inventory_frame(product_id=["P1", "PX", "PY"])).frame
    failures = unknown_references("inventory", inventory, "product_id", costs_frame()["product_id"])
    assert sorted(failures["failure_case"]) == ["PX", "PY"]
    assert failures["table"].eq("inventory").all()


def test_unicode_ids_survive() -> None:
    frame = inventory_frame(product_id=["P1", "P😀", "製品2"])
    result = validate_source("inventory", frame)
    assert result.passed
    assert set(result.frame["product_id"]) == {"P1", "P😀", "製品2"}


def test_a_missing_id_in_a_failing_row_reads_none_in_its_key() -> None:
    frame = sales_frame()
    frame["location_id"] = pd.Series([None, "S1"], dtype="str")  # pandas' text dtype keeps it NaN
    frame.loc[0, "quantity"] = -3
    frame.loc[0, "min_line_quantity"] = -3
    result = validate_source("sales", frame)
    keys = set(result.failures["key"])
    assert "2026-11-19 / P1 / None" in keys and not result.passed


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("sales", "quantity", 3e15),  # a misplaced exponent on a daily sum
        ("inventory", "on_hand", 2e12),
        ("inventory", "on_order", 1e13),
        ("costs", "unit_cost", 5e9),  # cents read as millions
        ("costs", "holding_cost_rate", 250.0),  # 25,000 % a year: a percentage given as a whole number x 100
        ("costs", "shelf_life_days", 100_000),
        ("costs", "order_multiple", 1e13),
        ("locations", "capacity_units", 1e14),
        ("receipts", "quantity", 1e13),
    ],
)
def test_magnitudes_no_business_reaches_fail_at_the_source_naming_the_value(
    table: str, column: str, bad: float
) -> None:
    frame = GOOD[table]()
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = bad
    result = validate_source(table, frame)
    assert not result.passed
    failing = result.failures.loc[result.failures["column"] == column]
    assert len(failing) == 1 and int(failing["row"].iloc[0]) == 1
    assert float(failing["failure_case"].iloc[0]) == bad
    assert "less_than_or_equal_to" in failing["check"].iloc[0]


def test_a_network_deeper_than_the_contract_allows_fails() -> None:
    from inventory_assets.contract.spec import MAX_ECHELON

    depth = MAX_ECHELON + 2
    ids = [f"L{i}" for i in range(depth)]
    frame = pd.DataFrame(
        {
            "location_id": ids,
            "name": None,
            "echelon": list(range(depth)),
            "parent_location_id": [None, *ids[:-1]],
            "capacity_units": None,
        }
    )
    result = validate_source("locations", frame)
    assert not result.passed
    deep = result.failures.loc[result.failures["column"] == "echelon"]
    assert deep["failure_case"].astype(int).tolist() == [MAX_ECHELON + 1]  # the one level past the limit


@pytest.mark.parametrize("table", sorted(GOOD))
def test_validation_leaves_the_frame_it_was_given_as_it_was(table: str) -> None:
    """Validation copies only what it changes (copy-on-write; pandera coerces a shallow copy in place): the
    caller's frame keeps its values and dtypes, whether the table passes or fails."""
    good = GOOD[table]()
    bad = GOOD[table]()
    bad[bad.columns[0]] = None  # a key missing on every row: the table fails
    for frame in (good, bad):
        before = frame.copy(deep=True)
        result = validate_source(table, frame)
        pd.testing.assert_frame_equal(frame, before)
        assert result.frame is not frame
    assert validate_source(table, good).passed and not validate_source(table, bad).passed


@pytest.mark.parametrize("table", sorted(GOOD))
def test_a_query_s_extra_columns_are_dropped_and_the_rest_validates_as_without_them(table: str) -> None:
    """A frame of the contract's columns is coerced in place (``strict=True``); one with a user query's extra
    columns is filtered from a copy (``strict="filter"``, which pandera does not do in place): the same
    validated frame and report either way, the caller's frames untouched."""
    for make, passes in ((GOOD[table], True), (lambda: _failing(GOOD[table]()), False)):
        plain = make()
        extra = make().assign(note="from the user's query", weight=1.5)
        before = extra.copy(deep=True)
        a, b = validate_source(table, plain), validate_source(table, extra)
        assert a.passed is b.passed is passes
        pd.testing.assert_frame_equal(a.frame, b.frame)
        pd.testing.assert_frame_equal(a.failures, b.failures)
        pd.testing.assert_frame_equal(extra, before)
        assert "note" not in b.frame


def _failing(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a value no number coerces from in its first numeric column (or its key missing)."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    frame = frame.astype({numeric[0]: object}) if numeric else frame
    frame.loc[0, numeric[0] if numeric else frame.columns[0]] = "not a number" if numeric else None
    return frame


@pytest.mark.parametrize(
    ("days", "coerced_first"),
    [
        (["2026-11-19", "2026-11-20", "2026-11-19", "2026-11-18", "2026-11-20"], True),  # ISO days, repeated
        (["2026-11-19", "2026-11-20", "2026-11-19", None, "2026-11-20"], True),  # one missing
        (["2026-11-19", "2026-11-20 13:45", "20261121", "2026-11-19", "2026-11-20 13:45"], False),  # mixed forms
        (["2026-11-19", "2026-02-30", "2026-11-19", "yesterday", "2026-11-20"], False),  # no date coerces
    ],
)
@pytest.mark.parametrize("text", ["str", object])
def test_text_days_coerce_as_pandera_coerces_the_whole_column(
    days: list, coerced_first: bool, text: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day columns read as text are coerced one distinct text at a time (`_days_coerced`): the frame and
    the report are those of pandera coercing the whole column (the reference: validation without that
    step), and a column with a text that does not coerce is left to pandera, which names each such value."""
    from inventory_assets.contract import validation
    from inventory_assets.contract.schemas import SOURCE_SCHEMAS

    frame = pd.concat([sales_frame()] * 3, ignore_index=True).iloc[: len(days)].reset_index(drop=True)
    frame["sale_date"] = pd.Series(days, dtype=text)
    coerced = validation._days_coerced(SOURCE_SCHEMAS["sales"], frame.copy(deep=False))["sale_date"]
    assert pd.api.types.is_datetime64_any_dtype(coerced) is coerced_first
    fast = validate_source("sales", frame)
    with monkeypatch.context() as patch:
        patch.setattr(validation, "_days_coerced", lambda schema, frame: frame)
        reference = validate_source("sales", frame)
    pd.testing.assert_frame_equal(fast.frame, reference.frame)
    pd.testing.assert_frame_equal(fast.failures, reference.failures)
    assert fast.passed is (days[0:4] == ["2026-11-19", "2026-11-20", "2026-11-19", "2026-11-18"])
    if "yesterday" in days:
        bad = set(fast.failures.loc[fast.failures["column"] == "sale_date", "failure_case"])
        assert {"2026-02-30", "yesterday"} <= bad


def test_date_objects_coerce_once_per_day_as_pandera_coerces_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's and MariaDB's reads hand days over as ``datetime.date`` objects: coerced one distinct
    day at a time, the same frame as pandera's coercion of the whole column."""
    import datetime as dt

    from inventory_assets.contract import validation

    frame = pd.concat([sales_frame()] * 3, ignore_index=True)
    frame["sale_date"] = pd.Series([dt.date(2026, 11, 19 + i % 2) for i in range(len(frame))], dtype=object)
    fast = validate_source("sales", frame)
    with monkeypatch.context() as patch:
        patch.setattr(validation, "_days_coerced", lambda schema, frame: frame)
        reference = validate_source("sales", frame)
    assert fast.passed and reference.passed
    pd.testing.assert_frame_equal(fast.frame, reference.frame)
