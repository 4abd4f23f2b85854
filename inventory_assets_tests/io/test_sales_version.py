"""The version of the cloud sale lines (``io/sales_version.py``) on real SQLite, PostgreSQL and MariaDB:
hand-computed on four lines, and what each kind of change does to it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from inventory_assets.contract import tables as t
from inventory_assets.io import db
from inventory_assets.io.sales_version import SalesVersion, read_sales_version, value_text
from inventory_assets_tests.conftest import backend_params

#: (sale_id, sold_at, product, location, quantity)
LINES = [
    (1, dt.date(2024, 3, 1), "P1", "S1", 2),
    (2, dt.date(2024, 3, 1), "P2", "S1", 3),
    (3, dt.date(2024, 3, 2), "P1", "S1", 5),
    (10, dt.date(2024, 3, 3), "P1", "S2", 0),
]

#: The day numbers of 2024-03-01 on each dialect (SQLite julianday, PostgreSQL days since 1970, TO_DAYS).
DAY_ONE = {"sqlite": 2460370.5, "postgresql": 19783, "mysql": 739311, "mariadb": 739311}


def write(url: str, lines: list[tuple]) -> sa.Engine:
    engine = db.make_engine(url)
    t.SALES.metadata.drop_all(engine, tables=[t.SALES])
    t.SALES.metadata.create_all(engine, tables=[t.SALES])
    with engine.begin() as conn:
        conn.execute(
            t.SALES.insert(),
            [
                {"sale_id": i, "sold_at": day, "product_id": p, "location_id": loc, "quantity": q}
                for i, day, p, loc, q in lines
            ],
        )
    return engine


def version(engine: sa.Engine, column: str = "sale_id") -> SalesVersion:
    return read_sales_version(engine, "sales", column, timeout_seconds=5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (Decimal("12.0000"), "12"),
        (Decimal("12.500"), "12.5"),
        (np.int64(7), "7"),
        (12.0, "12"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.3"),  # 12 significant digits: a float sum's last bits do not make a new version
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 6, 30), "2024-03-01T06:30:00"),
        ("2024-03-01", "2024-03-01"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_a_value_has_the_same_text_whatever_the_driver_returns(value: object, text: str | None) -> None:
    assert value_text(value) == text


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_the_version_by_hand_and_what_changes_it(empty_database: str) -> None:
    engine = write(empty_database, LINES)
    first = version(engine)
    d1 = DAY_ONE[engine.dialect.name]
    # units 2 + 3 + 5 + 0; unit_days 2*d1 + 3*d1 + 5*(d1 + 1); unit_ids 2*1 + 3*2 + 5*3 (ids below 9973)
    assert (first.lines, first.watermark, first.units) == (4, "10", "10")
    assert first.unit_days == value_text(10 * d1 + 5) and first.unit_ids == "23"
    assert first.text == f"lines=4;max=10;units=10;unit_days={value_text(10 * d1 + 5)};unit_ids=23"
    assert version(engine) == first  # nothing changed: the same version

    seen = {first.digest}
    changes = [
        "UPDATE sales SET quantity = 4 WHERE sale_id = 2",  # a corrected quantity
        "UPDATE sales SET quantity = 1 WHERE sale_id = 1",  # a unit moved between two lines of one day:
        # units and unit_days are back to the first version's, unit_ids is not
        "UPDATE sales SET sold_at = sold_at + 0 WHERE sale_id = 0",  # nothing
        "DELETE FROM sales WHERE sale_id = 10",  # a zero line deleted: the count and the max change
    ]
    for statement in changes:
        with engine.begin() as conn:
            changed = conn.execute(sa.text(statement)).rowcount
        now = version(engine)
        if changed:
            assert now.digest not in seen, (statement, now.text)
            seen.add(now.digest)
        else:
            assert now.digest in seen
    assert version(engine).change_from(first.text) == "lines 4 -> 3, max 10 -> 3, unit_ids 23 -> 24"

    moved = write(empty_database, [*LINES[:2], (3, dt.date(2024, 3, 3), "P1", "S1", 5), LINES[3]])
    assert version(moved).unit_days != first.unit_days  # a line moved to another day
    assert version(moved).change_from(first.text) == (f"unit_days {first.unit_days} -> {value_text(10 * d1 + 10)}")


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_watermark_can_be_a_day_and_names_are_checked_against_the_catalogue(empty_database: str) -> None:
    engine = write(empty_database, LINES)
    assert version(engine, "sold_at").watermark == "2024-03-03"
    with pytest.raises(ValueError, match="unknown column of sales 'sale_id\\) FROM sales; DROP TABLE sales; --'"):
        version(engine, "sale_id) FROM sales; DROP TABLE sales; --")
    with pytest.raises(ValueError, match="unknown table 'sales_archive'"):
        read_sales_version(engine, "sales_archive", "sale_id")
    assert version(engine).lines == 4  # intact


def test_a_cursor_that_is_no_version_is_named() -> None:
    now = SalesVersion(lines=3, watermark="7", units="9")
    assert now.change_from(None) == "no version seen yet"
    assert "not a version" in now.change_from("123")
    assert now.change_from(now.text) == "the same"
