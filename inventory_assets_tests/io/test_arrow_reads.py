"""Sources read as Arrow columns through ADBC or ConnectorX (`db.arrow_reader`): the same frames as SQLAlchemy's read, a
decline wherever they would differ, and no write ever, on real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import time
from collections.abc import Callable
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
    with db.arrow_reader(engine) as fast:
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
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        assert fast.frame("SELECT v AS quantity FROM mixed", numeric={"quantity"}) is None
        text = fast.frame("SELECT v AS product_id FROM mixed", numeric={"quantity"})
    assert text is not None and text["product_id"].tolist() == ["abc"] + ["5"] * 10


def test_values_are_bound_by_name_and_an_empty_result_has_sqlalchemys_columns(tmp_path: Path) -> None:
    engine = db.make_engine(_file(tmp_path, {"t": list(range(10))}))
    statement = "SELECT v, v * 2 AS w FROM t WHERE v >= :low AND v < :high AND :low >= 0 ORDER BY v"
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        got = fast.frame(statement, {"high": 5, "low": 2})
        empty = fast.frame(statement, {"high": 0, "low": 2})
    assert got is not None and got.to_dict("list") == {"v": [2, 3, 4], "w": [4, 6, 8]}
    assert empty is not None
    pd.testing.assert_frame_equal(empty, db.read_frame(engine, statement, {"high": 0, "low": 2}))


WRITES = (
    "DELETE FROM t",
    "UPDATE t SET v = 0",
    "INSERT INTO t VALUES (4)",
    "CREATE TABLE intruder (x INTEGER)",
    "DROP TABLE t",
)
"""Statements an Arrow reader is handed and must not run (on a table ``t`` of 1, 2, 3)."""


def test_the_arrow_reader_cannot_write(tmp_path: Path) -> None:
    url = _file(tmp_path, {"t": [1, 2, 3]})
    engine = db.make_engine(url)
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        for statement in (
            *WRITES,
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
        with db.arrow_reader(db.make_engine(other)) as fast:
            assert fast is None, other
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize(
    ("half_units", "timestamp", "null_day", "one_conversion"),
    [
        (False, False, False, True),  # every day one Arrow schema: concatenated, converted once
        (True, True, False, False),  # one day's sums are REAL, another day is read by the statement
        (False, False, True, False),  # one day's quantities all NULL: a frame per day
    ],
    ids=["one schema", "real sums and a timestamp", "a day all null"],
)
def test_the_sales_days_and_tables_read_as_arrow_equal_sqlalchemys(
    tmp_path: Path, monkeypatch, half_units: bool, timestamp: bool, null_day: bool, one_conversion: bool
) -> None:
    """The whole sales read and a table read, with the Arrow reader and with it switched off."""
    path = tmp_path / "cloud.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (sale_id INTEGER, sold_at TEXT, product_id TEXT, location_id TEXT, quantity)")
        conn.execute("CREATE INDEX ix_sales_day_product_location ON sales (sold_at, product_id, location_id, quantity)")
        rows: list[tuple[object, ...]] = []
        for d in range(6):
            day = (dt.date(2026, 1, 1) + dt.timedelta(days=d)).isoformat()
            for i in range(40):
                quantity = None if null_day and d == 3 else (i % 5) + (0.5 if half_units and d == 2 else 0)
                rows.append((len(rows), day, f"P{i % 7}", f"S{i % 3}", quantity))
        if timestamp:
            rows.append((len(rows), "2026-01-04 13:30:00", "P1", "S1", 2))  # a day with a timestamp
        rows.append((3, "2026-01-05", "P2", "S2", 1))  # a repeated sale id
        conn.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", rows)
    engine = db.make_engine(f"sqlite:///{path}")
    source = queries.SourceSpec(table="sales")
    conversions: list[int] = []
    arrow_frame = db.arrow_frame

    def counted(table):
        conversions.append(table.num_rows)
        return arrow_frame(table)

    with monkeypatch.context() as patched:
        patched.setattr(db, "arrow_frame", counted)
        fast = queries.read_sales(engine, source, 30)
    assert (conversions == [len(fast.frame)]) == one_conversion, conversions
    with monkeypatch.context() as patched:
        patched.setattr(db.ArrowReader, "table", lambda self, *a, **k: None)
        slow = queries.read_sales(engine, source, 30)
    assert fast.window == slow.window and len(fast.frame) > 0
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_dtype=True)
    assert fast.rows.in_key_order == slow.rows.in_key_order
    assert sa.inspect(engine).get_table_names() == ["sales"]
    assert fast.frame["product_id"].dtype.storage == "pyarrow"


# --- PostgreSQL -------------------------------------------------------------------------------------------

PG_COLUMNS = (
    "CREATE TABLE kinds (id varchar(64), n numeric(18, 4), i integer, s smallint, b bigint, f double precision, "
    "d date, t text)"
)
PG_ROWS = [
    ("P1", decimal.Decimal("12.3456"), 1, 2, 2**62, 1.5, dt.date(2026, 1, 2), "ü"),
    ("P2", None, None, None, -1, None, None, None),
    ("P3", decimal.Decimal("-0.0001"), -7, 0, 0, -2.0, dt.date(1999, 12, 31), ""),
    ("P4", decimal.Decimal("99999999999999.9999"), 2**31 - 1, -1, 5, 1e300, dt.date(2026, 3, 1), "x"),
]


def _kinds(url: str, create: str, rows: list[tuple]) -> sa.Engine:
    """A table ``kinds`` made by ``create`` and holding ``rows`` (values bound)."""
    engine = db.make_engine(url)
    names = [f"v{i}" for i in range(len(rows[0]))]
    with engine.begin() as conn:
        conn.exec_driver_sql(create)
        conn.execute(
            sa.text(f"INSERT INTO kinds VALUES ({', '.join(f':{n}' for n in names)})"),
            [dict(zip(names, row, strict=True)) for row in rows],
        )
    return engine


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_postgresql_columns_read_as_arrow_equal_sqlalchemys(empty_database: str) -> None:
    """Every column kind a source holds on PostgreSQL: the frame psycopg's tuples give, but NUMERIC, which
    arrives as the float64 validation makes of psycopg's Decimal, and only where the contract wants a number."""
    engine = _kinds(empty_database, PG_COLUMNS, PG_ROWS)
    statement = "SELECT * FROM kinds ORDER BY id"
    legacy = db.read_frame(engine, statement, share_text=False)
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        frame = fast.frame(statement, numeric={"n"})
        assert fast.frame(statement) is None  # NUMERIC where no number belongs (an id as NUMERIC): declined
        for other in ("true AS flag", "now() AS at", "CAST(0.1 AS real) AS r"):  # kinds no source column has
            assert fast.frame(f"SELECT {other}") is None, other
    assert frame is not None
    expected = legacy.assign(n=pd.to_numeric(legacy["n"]).astype(float))
    assert frame["n"].dtype == "float64" and frame["n"].tolist()[0] == float(decimal.Decimal("12.3456"))
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["b"].dtype == legacy["b"].dtype == "int64" and frame["i"].dtype == legacy["i"].dtype == "float64"
    assert [type(v) for v in frame["d"].dropna()] == [dt.date] * 3


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_postgresql_values_are_bound_and_days_read_as_the_bound_date_would(empty_database: str) -> None:
    """The window's days are written in as dates (the driver streams a statement without values); any other
    value is bound; a timestamptz counts on its UTC day whatever the server's zone."""
    engine = db.make_engine(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ev (at timestamptz, label text)")
        conn.exec_driver_sql(
            "INSERT INTO ev VALUES ('2026-03-01 23:30+00', 'a'), ('2026-03-02 01:00+02', 'b'), "
            "('2026-03-02 00:00+00', 'c'), ('2026-03-03 00:00+00', 'd')"
        )
    statement = (
        "SELECT CAST(at AS DATE) AS day, label FROM ev WHERE at >= :start AND at < :end "
        "AND label <> :skip ORDER BY label"
    )
    params = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 2), "skip": "x'; DROP TABLE ev; --"}
    name = engine.url.database
    with engine.begin() as conn:  # new sessions start in Tokyo: the read sets UTC itself
        conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Asia/Tokyo'")
    try:
        legacy = db.read_frame(engine, statement, params, share_text=False)
        with db.arrow_reader(engine) as fast:
            assert fast is not None
            frame = fast.frame(statement, params)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" RESET TimeZone')
    assert frame is not None and legacy["label"].tolist() == ["a", "b"]
    pd.testing.assert_frame_equal(frame, legacy, check_dtype=False)
    assert frame["day"].tolist() == [dt.date(2026, 3, 1)] * 2
    assert sa.inspect(engine).get_table_names() == ["ev"]


def _three_rows(url: str) -> sa.Engine:
    """A table ``t`` of three rows for the reader to try to change."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v integer)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2), (3)")
    return engine


def _assert_still_three_rows(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t ORDER BY v").scalars().all() == [1, 2, 3]
    assert sa.inspect(engine).get_table_names() == ["t"]  # and nothing else: no table made, none dropped


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_the_postgresql_arrow_reader_cannot_write(empty_database: str) -> None:
    engine = _three_rows(empty_database)
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        for statement in (
            *WRITES,
            "SELECT 1 AS one; DELETE FROM t",  # a second statement: PostgreSQL prepares one only
            "WITH d AS (DELETE FROM t RETURNING v) SELECT v FROM d",
            "SELECT set_config('transaction_read_only', 'off', false) AS s",
            "SELECT set_config('default_transaction_read_only', 'off', false) AS s",
            "COMMIT",  # would make the setting above the next transaction's
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "DELETE FROM t",
        ):
            assert fast.frame(statement) is None or statement.startswith("SELECT set_config"), statement
            fast.connection.rollback()  # a failed statement leaves the transaction unusable: a new one each time
        settings = fast.frame(
            "SELECT current_setting('transaction_read_only') AS ro, current_setting('TimeZone') AS tz"
        )
    assert settings is not None and settings.iloc[0].tolist() == ["on", "UTC"]
    _assert_still_three_rows(engine)


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_a_postgresql_arrow_read_past_its_timeout_fails_once_without_a_secret(empty_database: str) -> None:
    """A cancelled statement is a permanent error at once (not read a second time through SQLAlchemy),
    naming no password; the URL's own libpq options are kept, ours after them."""
    url = sa.make_url(empty_database).set(password="s3cret-pw").update_query_dict({"application_name": "ia test"})
    url = url.update_query_dict({"options": "-c search_path=public -c work_mem=8MB"})
    engine = db.make_engine(url.render_as_string(hide_password=False))
    with db.arrow_reader(engine, timeout_seconds=0.5) as fast:
        assert fast is not None
        settings = fast.frame(
            "SELECT current_setting('application_name') AS app, current_setting('work_mem') AS mem, "
            "current_setting('statement_timeout') AS timeout"
        )
        assert settings is not None and settings.iloc[0].tolist() == ["ia test", "8MB", "500ms"]
        started = time.monotonic()
        with pytest.raises(db.DatabaseError) as raised:
            fast.frame("SELECT pg_sleep(30) AS s")
    assert time.monotonic() - started < 20 and not raised.value.transient
    assert "statement timeout" in str(raised.value) and "s3cret" not in str(raised.value)


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_postgresql_sales_and_tables_read_as_arrow_validate_to_sqlalchemys(empty_database: str, monkeypatch) -> None:
    """The sales window (timestamps on both sides of midnight UTC, a repeated sale id, NULL quantities) and an
    on-prem table, with the Arrow reader and with it switched off: the same validated frames and failures."""
    from inventory_assets_tests.io.test_sale_lines import _insert, _lines_table

    engine = db.make_engine(empty_database)
    table = _lines_table(empty_database, unique_id=False)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sales ALTER COLUMN sold_at TYPE timestamptz")
    _insert(
        empty_database,
        table,
        _window_lines(lambda i: f"2026-01-0{1 + i % 6} {i % 24:02d}:30:00+0{i % 3}", "2026-01-05 12:00:00+00"),
    )
    _write_receipts(engine)
    _assert_arrow_reads_validate_as_sqlalchemys(engine, monkeypatch)


def _window_lines(sold_at: Callable[[int], object], repeated_at: object) -> list[dict]:
    """600 sale lines on six days (``sold_at(i)`` the i-th line's), every 50th quantity NULL, and one line
    repeating sale id 3 at ``repeated_at``."""
    lines = [
        {
            "sale_id": i,
            "sold_at": sold_at(i),
            "product_id": f"P{i % 7}",
            "location_id": f"S{i % 3}",
            "quantity": None if i % 50 == 0 else decimal.Decimal(i % 5) + decimal.Decimal("0.25"),
        }
        for i in range(600)
    ]
    repeated = {"sale_id": 3, "sold_at": repeated_at, "product_id": "P2", "location_id": "S2", "quantity": 1}
    return [*lines, repeated]


def _write_receipts(engine: sa.Engine) -> None:
    """400 receipts (some not positive) and the view ``good_receipts`` of the positive ones."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE receipts (product_id varchar(64), location_id varchar(64), ordered_at date, "
            "received_at date, quantity decimal(18, 4))"
        )
        conn.execute(
            sa.text("INSERT INTO receipts VALUES (:p, :l, :o, :r, :q)"),
            [
                {
                    "p": f"P{g % 7}",
                    "l": f"S{g % 3}",
                    "o": dt.date(2026, 1, 1) + dt.timedelta(days=g % 20),
                    "r": dt.date(2026, 1, 5) + dt.timedelta(days=g % 20),
                    "q": decimal.Decimal(g % 9) * decimal.Decimal("1.5") - 1,
                }
                for g in range(1, 401)
            ],
        )
        conn.exec_driver_sql("CREATE VIEW good_receipts AS SELECT * FROM receipts WHERE quantity > 0")


def _assert_arrow_reads_validate_as_sqlalchemys(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sales window, ``receipts`` and the view ``good_receipts`` read with the Arrow reader (every read
    taken, none declined) and with it switched off: the same validated frames and failure reports."""
    from inventory_assets.contract.validation import validate_source

    source = queries.SourceSpec(table="sales")

    def reads() -> list[pd.DataFrame]:
        sales = validate_source("sales", queries.read_sales(engine, source, 30).frame)
        receipts = validate_source("receipts", queries.read_table(engine, queries.SourceSpec(table="receipts")))
        good = queries.read_table(engine, queries.SourceSpec(table="receipts", table_name="good_receipts"))
        # a failed result keeps the frame as read (NUMERIC as Decimal through SQLAlchemy): only its report counts
        return [sales.frame, sales.failures, receipts.failures, validate_source("receipts", good).frame]

    calls: list[tuple[str, bool]] = []
    arrow_table = db.ArrowReader.table

    def spied(self: db.ArrowReader, statement: str, *args: object, **kwargs: object) -> object:
        table = arrow_table(self, statement, *args, **kwargs)  # type: ignore[arg-type]
        calls.append((statement, table is not None))
        return table

    with monkeypatch.context() as patched:
        patched.setattr(db.ArrowReader, "table", spied)
        fast = reads()
    # the sales window (a range per thread), both receipts: none declined
    assert all(taken for _, taken in calls) and sum("receipts" in statement for statement, _ in calls) == 2
    assert any("GROUP BY" in statement for statement, _ in calls)
    with monkeypatch.context() as patched:
        patched.setattr(db.ArrowReader, "table", lambda self, *a, **k: None)
        slow = reads()
    assert len(fast[0]) > 0 and len(fast[2]) > 0 and len(fast[3]) > 300  # negative receipts are reported
    for got, reference in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(got, reference, check_dtype=True)


# --- MariaDB / MySQL (ConnectorX) ---------------------------------------------------------------------------

MARIADB_COLUMNS = (
    "CREATE TABLE kinds (id varchar(64), n decimal(18, 4), i int, s smallint, y tinyint, b bigint, f double, "
    "d date, t text) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
)
MARIADB_ROWS = [
    ("P1 ", decimal.Decimal("12.3456"), 1, 2, 1, 2**62, 1.5, dt.date(2026, 1, 2), "ü"),
    ("p2😀", None, None, None, None, -1, None, None, None),
    ("P3", decimal.Decimal("-0.0001"), -7, 0, -128, 0, -2.0, dt.date(1999, 12, 31), ""),
    ("P4", decimal.Decimal("99999999999999.9999"), 2**31 - 1, -1, 127, 5, 1e300, dt.date(2026, 3, 1), "x"),
]


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_mariadb_columns_read_as_arrow_equal_sqlalchemys(empty_database: str) -> None:
    """Every column kind a source holds on MariaDB: the frame PyMySQL's tuples give, but DECIMAL, which arrives
    as the float64 validation makes of PyMySQL's Decimal, and only where the contract wants a number; kinds
    no source column has are declined, a panic of ConnectorX's on one (GEOMETRY) included."""
    engine = _kinds(empty_database, MARIADB_COLUMNS, MARIADB_ROWS)
    statement = "SELECT * FROM kinds"  # no ORDER BY: MariaDB keeps no order of a subquery's (`_compiled`)
    legacy = db.read_frame(engine, statement, share_text=False).sort_values("id", ignore_index=True)
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        frame = fast.frame(statement, numeric={"n"})
        frame = None if frame is None else frame.sort_values("id", ignore_index=True)
        assert fast.frame(statement) is None  # DECIMAL where no number belongs: declined
        for other in ("NOW() AS at", "CAST('10:00' AS TIME) AS tm", "CAST(1 AS UNSIGNED) AS u", "x'00' AS bin"):
            assert fast.frame(f"SELECT {other}") is None, other
        assert fast.frame("SELECT POINT(1, 1) AS g") is None
    assert frame is not None
    expected = legacy.assign(n=pd.to_numeric(legacy["n"]).astype(float))
    assert frame["id"].tolist() == ["P1 ", "P3", "P4", "p2😀"]
    assert frame["n"].tolist()[:3] == [float(decimal.Decimal(v)) for v in ("12.3456", "-0.0001", "99999999999999.9999")]
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["b"].dtype == legacy["b"].dtype == "int64" and frame["i"].dtype == legacy["i"].dtype == "float64"
    assert [type(v) for v in frame["d"].dropna()] == [dt.date] * 3


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_mariadb_days_are_written_in_and_a_statement_with_other_values_declined(empty_database: str) -> None:
    """ConnectorX binds nothing: the window's days are written into the statement as dates, a statement with
    any other value is left to SQLAlchemy; a '%' in the text stays one; a TIMESTAMP counts on its UTC day
    whatever zone the server starts sessions in."""
    engine = db.make_engine(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ev (at TIMESTAMP NULL, label varchar(8))")
        conn.exec_driver_sql("SET time_zone = '+00:00'")
        conn.execute(
            sa.text(
                "INSERT INTO ev VALUES ('2026-03-01 23:30', 'a%'), ('2026-03-01 22:59', 'b'), "
                "('2026-03-02 00:00', 'c'), ('2026-03-03 00:00', 'd')"
            )
        )
    statement = "SELECT CAST(at AS DATE) AS day, label FROM ev WHERE at >= :start AND at < :end AND label NOT LIKE 'z%'"
    params = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 2)}
    with engine.begin() as conn:  # new sessions start in Tokyo: the read sets UTC itself
        zone = conn.exec_driver_sql("SELECT @@global.time_zone").scalar_one()
        conn.exec_driver_sql("SET GLOBAL time_zone = '+09:00'")
    try:
        legacy = db.read_frame(engine, statement, params, share_text=False)
        with db.arrow_reader(engine) as fast:
            assert fast is not None
            frame = fast.frame(statement, params)
            assert fast.frame(f"{statement} AND label <> :skip", {**params, "skip": "b"}) is None
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET GLOBAL time_zone = '{zone}'")
    assert frame is not None
    frame, legacy = (f.sort_values("label", ignore_index=True) for f in (frame, legacy))
    assert legacy["label"].tolist() == ["a%", "b"]
    pd.testing.assert_frame_equal(frame, legacy, check_dtype=False)
    assert frame["day"].tolist() == [dt.date(2026, 3, 1)] * 2


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_the_mariadb_arrow_reader_cannot_write(empty_database: str) -> None:
    engine = _three_rows(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql(  # a function a user's query could call: it writes when it runs
            "CREATE FUNCTION wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM t; RETURN 1; END"
        )
    with db.arrow_reader(engine) as fast:
        assert fast is not None
        for statement in (
            *WRITES,
            "SELECT 1 AS one; DELETE FROM t",
            "SELECT wipe() AS w",
            "SET SESSION TRANSACTION READ WRITE",
            "COMMIT",
            "SELECT wipe() AS w",
        ):
            assert fast.frame(statement) is None, statement
        settings = fast.frame("SELECT @@session.tx_read_only AS ro, @@session.time_zone AS tz")
    assert settings is not None and settings.iloc[0].tolist() == [1, "+00:00"]
    _assert_still_three_rows(engine)


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_a_mariadb_arrow_read_past_its_timeout_fails_once_without_a_secret(empty_database: str) -> None:
    """A user whose password needs quoting in a URL reads through ConnectorX, over TCP as SQLAlchemy does (the
    MySQL crate would move a connection to 127.0.0.1 onto the server's socket); a statement past its timeout
    is a permanent error at once, naming no password; a URL with options of its own gets no Arrow reader."""
    url = sa.make_url(empty_database)
    password = "s3cret p@ss:/%?#"
    admin = db.make_engine(empty_database)
    with admin.begin() as conn:
        conn.execute(sa.text("DROP USER IF EXISTS 'ia_arrow'@'%'"))
        conn.execute(sa.text("CREATE USER 'ia_arrow'@'%' IDENTIFIED BY :pw"), {"pw": password})
        conn.execute(sa.text(f"GRANT SELECT ON `{url.database}`.* TO 'ia_arrow'@'%'"))
    try:
        reader = url.set(username="ia_arrow", password=password)
        engine = db.make_engine(reader.render_as_string(hide_password=False))
        with engine.connect():  # the dialect knows its server (MariaDB) once connected, as a source read has
            pass
        with db.arrow_reader(engine, timeout_seconds=0.5) as fast:
            assert fast is not None
            me = fast.frame(
                "SELECT CURRENT_USER() AS me, @@session.max_statement_time AS timeout, "
                "(SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()) AS client"
            )
            assert me is not None and me.iloc[0].tolist()[:2] == ["ia_arrow@%", 0.5]
            assert me["client"].iloc[0].startswith(f"{url.host}:")  # over TCP, as SQLAlchemy: not the socket
            started = time.monotonic()
            with pytest.raises(db.DatabaseError) as raised:
                fast.frame("SELECT SLEEP(30) AS s")
        assert time.monotonic() - started < 20 and not raised.value.transient
        assert "max_statement_time" in str(raised.value) and "s3cret" not in str(raised.value)
        for options in ({"init_command": "SET @x = 1"}, {"unix_socket": "/tmp/none.sock"}, {"charset": "latin1"}):
            with db.arrow_reader(db.make_engine(reader.update_query_dict(options))) as fast:
                assert fast is None, options
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text("DROP USER IF EXISTS 'ia_arrow'@'%'"))


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_mariadb_sales_and_tables_read_as_arrow_validate_to_sqlalchemys(empty_database: str, monkeypatch) -> None:
    """The sales window (a repeated sale id, NULL quantities) and an on-prem table and view, with the Arrow
    reader and with it switched off."""
    from inventory_assets_tests.io.test_sale_lines import _insert, _lines_table

    engine = db.make_engine(empty_database)
    table = _lines_table(empty_database, unique_id=False)
    _insert(empty_database, table, _window_lines(lambda i: dt.date(2026, 1, 1 + i % 6), dt.date(2026, 1, 5)))
    _write_receipts(engine)
    _assert_arrow_reads_validate_as_sqlalchemys(engine, monkeypatch)
