"""SQLite sources read as Arrow columns through ADBC (`db.sqlite_arrow`): the same frames as SQLAlchemy's
read, a decline wherever they would differ, and no write ever, on real SQLite files."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.io import db, queries
from inventory_assets_tests.conftest import backend_params

# column values -> whether the Arrow read gives the frame (True) or declines (False)
COLUMNS: dict[str, tuple[list, bool]] = {
    "ints_with_null": ([1, None, 3] * 600, True),
    "floats_then_ints": ([1.5] + [2] * 1500, True),
    "numeric_affinity": ([1, 2.0, 3] * 10, True),
    "big_ints": ([2**62, 1, -(2**62)], True),
    "all_null": ([None] * 5, True),
    "text_with_null": (["a", None, "ü", ""] * 10, True),
    "ints_then_float": ([1] * 1500 + [2.5], False),  # the driver typed the column from its first rows
    "ints_then_text": ([1] * 1500 + ["abc"], False),
    "nulls_then_text": ([None] * 1500 + ["x"], False),
    "blobs": ([b"ab", b"cd"], False),
}


def _file(tmp_path: Path, columns: dict[str, list]) -> str:
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as conn:
        for name, values in columns.items():
            conn.execute(f"CREATE TABLE {name} (v)")
            conn.executemany(f"INSERT INTO {name} VALUES (?)", [(v,) for v in values])
    return f"sqlite:///{path}"


@pytest.mark.parametrize("name", list(COLUMNS))
def test_the_arrow_read_gives_sqlalchemys_frame_or_declines(tmp_path: Path, name: str) -> None:
    values, taken = COLUMNS[name]
    engine = db.make_engine(_file(tmp_path, {name: values}))
    legacy = db.read_frame(engine, f"SELECT v FROM {name}", share_text=False)
    with db.sqlite_arrow(engine) as fast:
        assert fast is not None
        frame = fast.frame(f"SELECT v FROM {name}")
    if not taken:
        assert frame is None
        return
    assert frame is not None
    pd.testing.assert_frame_equal(frame, legacy, check_dtype=True)


def test_a_numeric_column_that_arrives_as_text_is_declined(tmp_path: Path) -> None:
    """Text first, numbers later: the driver writes the numbers as text, where SQLAlchemy keeps them numbers."""
    engine = db.make_engine(_file(tmp_path, {"mixed": ["abc"] + [5] * 10}))
    with db.sqlite_arrow(engine) as fast:
        assert fast is not None
        assert fast.frame("SELECT v AS quantity FROM mixed", numeric={"quantity"}) is None
        text = fast.frame("SELECT v AS product_id FROM mixed", numeric={"quantity"})
    assert text is not None and text["product_id"].tolist() == ["abc"] + ["5"] * 10


def test_values_are_bound_by_name_and_an_empty_result_has_sqlalchemys_columns(tmp_path: Path) -> None:
    engine = db.make_engine(_file(tmp_path, {"t": list(range(10))}))
    statement = "SELECT v, v * 2 AS w FROM t WHERE v >= :low AND v < :high AND :low >= 0 ORDER BY v"
    with db.sqlite_arrow(engine) as fast:
        assert fast is not None
        got = fast.frame(statement, {"high": 5, "low": 2})
        empty = fast.frame(statement, {"high": 0, "low": 2})
    assert got is not None and got.to_dict("list") == {"v": [2, 3, 4], "w": [4, 6, 8]}
    assert empty is not None
    pd.testing.assert_frame_equal(empty, db.read_frame(engine, statement, {"high": 0, "low": 2}))


def test_the_arrow_reader_cannot_write(tmp_path: Path) -> None:
    url = _file(tmp_path, {"t": [1, 2, 3]})
    engine = db.make_engine(url)
    with db.sqlite_arrow(engine) as fast:
        assert fast is not None
        for statement in (
            "DELETE FROM t",
            "UPDATE t SET v = 0",
            "INSERT INTO t VALUES (4)",
            "CREATE TABLE intruder (x INTEGER)",
            "DROP TABLE t",
            f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other",
            "CREATE TABLE other.intruder (x INTEGER)",  # an attached file is opened read-only too
            "PRAGMA query_only = OFF",
            "DELETE FROM t",
        ):
            fast.frame(statement)
        assert fast.frame("SELECT COUNT(*) AS n FROM t") is not None
    with sqlite3.connect(tmp_path / "source.db") as conn:
        assert conn.execute("SELECT v FROM t ORDER BY v").fetchall() == [(1,), (2,), (3,)]
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    # As through SQLAlchemy's read-only connection, ATTACH leaves an empty file and nothing in it.
    assert not (tmp_path / "other.db").exists() or (tmp_path / "other.db").stat().st_size == 0


def test_only_a_sqlite_file_gets_an_arrow_reader(tmp_path: Path) -> None:
    url = _file(tmp_path, {"t": [1]})
    for other in ("sqlite://", f"{url}?timeout=5", f"sqlite:///{tmp_path / 'absent.db'}"):
        with db.sqlite_arrow(db.make_engine(other)) as fast:
            assert fast is None, other
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_other_dialects_read_through_sqlalchemy(empty_database: str) -> None:
    with db.sqlite_arrow(db.make_engine(empty_database)) as fast:
        assert fast is None


def test_the_sales_days_and_tables_read_as_arrow_equal_sqlalchemys(tmp_path: Path, monkeypatch) -> None:
    """The whole sales read and a table read, with the Arrow reader and with it switched off."""
    path = tmp_path / "cloud.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (sale_id INTEGER, sold_at TEXT, product_id TEXT, location_id TEXT, quantity)")
        conn.execute("CREATE INDEX ix_sales_day_product_location ON sales (sold_at, product_id, location_id, quantity)")
        rows: list[tuple[object, ...]] = []
        for d in range(6):
            day = (dt.date(2026, 1, 1) + dt.timedelta(days=d)).isoformat()
            for i in range(40):
                rows.append((len(rows), day, f"P{i % 7}", f"S{i % 3}", (i % 5) + (0.5 if d == 2 else 0)))
        rows.append((len(rows), "2026-01-04 13:30:00", "P1", "S1", 2))  # a day with a timestamp
        rows.append((3, "2026-01-05", "P2", "S2", 1))  # a repeated sale id
        conn.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", rows)
    engine = db.make_engine(f"sqlite:///{path}")
    source = queries.SourceSpec(table="sales")
    fast = queries.read_sales(engine, source, 30)
    with monkeypatch.context() as patched:
        patched.setattr(db.ArrowReader, "frame", lambda self, *a, **k: None)
        slow = queries.read_sales(engine, source, 30)
    assert fast.window == slow.window and len(fast.frame) > 0
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_dtype=True)
    assert fast.rows.in_key_order == slow.rows.in_key_order
    assert sa.inspect(engine).get_table_names() == ["sales"]
