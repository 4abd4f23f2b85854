"""The source SQL: table names checked against the catalogue, user queries SELECT-only, values bound."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract.sales import SalesWindow
from inventory_assets.contract.validation import validate_source
from inventory_assets.io import db, queries
from inventory_assets_tests.conftest import backend_params

PYTHON_STR = pd.StringDtype("python", na_value=np.nan)
"""pandas' ``str`` kept as Python objects (its storage without pyarrow): what sharing applies to."""


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE sales",
        "SELECT * FROM sales; DROP TABLE sales",
        "DELETE FROM sales",
        "UPDATE sales SET quantity = 0",
        "  -- comment\n INSERT INTO sales VALUES (1)",
    ],
)
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql", "mariadb"])
def test_non_select_queries_are_rejected(query: str, dialect: str) -> None:
    with pytest.raises(queries.SourceQueryError):
        queries.check_select(query, dialect)


def test_select_and_with_are_accepted() -> None:
    assert queries.check_select("SELECT 1;", "sqlite") == "SELECT 1"
    assert queries.check_select("with x as (select 1 as a) select a from x", "sqlite").startswith("with")
    assert queries.check_select("SELECT ';' AS semi", "sqlite") == "SELECT ';' AS semi"
    # A trailing comment is dropped: inside "(...) src" it would swallow the closing parenthesis.
    assert queries.check_select("SELECT '--x;' AS a -- note; DROP TABLE sales", "postgresql") == "SELECT '--x;' AS a"


def _sales_table(url: str, rows: list[dict]) -> sa.Engine:
    engine = db.make_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
        "sales",
        meta,
        sa.Column("sale_id", sa.BigInteger, primary_key=True),
        sa.Column("sold_at", sa.Date, nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Numeric(18, 4)),
        sa.Column("unit_price", sa.Numeric(18, 4)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    return engine


SALES_ROWS = [
    {
        "sale_id": 1,
        "sold_at": dt.date(2026, 1, 1),
        "product_id": "P1",
        "location_id": "S1",
        "quantity": 9,
        "unit_price": 1,
    },
    {
        "sale_id": 2,
        "sold_at": dt.date(2026, 1, 10),
        "product_id": "P1",
        "location_id": "S1",
        "quantity": 2,
        "unit_price": 1,
    },
    {
        "sale_id": 3,
        "sold_at": dt.date(2026, 1, 10),
        "product_id": "P1",
        "location_id": "S1",
        "quantity": 3,
        "unit_price": None,
    },
    {
        "sale_id": 4,
        "sold_at": dt.date(2026, 1, 9),
        "product_id": "P😀",
        "location_id": "S1",
        "quantity": 1.5,
        "unit_price": 2,
    },
]


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_sales_are_aggregated_in_the_database_over_the_window(empty_database: str) -> None:
    engine = _sales_table(empty_database, SALES_ROWS)
    result = queries.read_sales(engine, queries.SourceSpec("sales"), history_days=2)
    assert result.window == queries.SalesWindow(dt.date(2026, 1, 9), dt.date(2026, 1, 10))
    assert result.frame is result.rows.frame and not result.frame.attrs, "no side channel"
    frame = result.frame.sort_values("product_id").reset_index(drop=True)
    assert frame["product_id"].tolist() == ["P1", "P😀"]
    assert [float(q) for q in frame["quantity"]] == [5.0, 1.5]
    assert [int(n) for n in frame["sale_lines"]] == [2, 1]
    assert pd.Timestamp(frame.loc[0, "sale_date"]) == pd.Timestamp("2026-01-10")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_table_names_that_inject_sql_are_rejected(empty_database: str) -> None:
    engine = _sales_table(empty_database, SALES_ROWS)
    spec = queries.SourceSpec("sales", table_name="sales; DROP TABLE sales")
    with pytest.raises(ValueError, match=r"table configured for sales \(run config `table`\): unknown table or view"):
        queries.read_sales(engine, spec, history_days=30)
    assert "sales" in db.table_names(engine)


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_users_query_replaces_the_table(empty_database: str) -> None:
    engine = _sales_table(empty_database, SALES_ROWS)
    spec = queries.SourceSpec("sales", query="SELECT * FROM sales WHERE location_id = 'S1' AND quantity < 5")
    result = queries.read_sales(engine, spec, history_days=365)
    assert result.window is not None and result.window.end == dt.date(2026, 1, 10)
    assert sorted(float(q) for q in result.frame["quantity"]) == [1.5, 5.0]


def test_missing_sales_columns_are_named(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sales (sale_id INTEGER, sold_at DATE, product_id TEXT)")
    with pytest.raises(queries.MissingColumnsError, match="location_id, quantity"):
        queries.read_sales(engine, queries.SourceSpec("sales"), history_days=30)


def test_absent_optional_columns_read_as_null(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE inventory (product_id TEXT, location_id TEXT, on_hand REAL, as_of DATE, extra TEXT)"
        )
        conn.exec_driver_sql("INSERT INTO inventory VALUES ('P1', 'S1', 3, '2026-01-01', 'x')")
    frame = queries.read_table(engine, queries.SourceSpec("inventory"))
    assert list(frame.columns) == queries.CONTRACT_COLUMNS["inventory"]
    assert frame.loc[0, "on_order"] is None


@pytest.mark.parametrize("days", [1, 2, 7, 45, 90])
@pytest.mark.parametrize("parts", [1, 2, 3, 4, 100])
def test_a_window_splits_into_consecutive_nearly_equal_day_ranges(days: int, parts: int) -> None:
    window = queries.SalesWindow(dt.date(2026, 2, 27), dt.date(2026, 2, 27) + dt.timedelta(days=days - 1))
    ranges = queries.split_window(window, parts)
    assert len(ranges) == min(parts, days)
    assert ranges[0].start == window.start and ranges[-1].end == window.end
    for before, after in zip(ranges, ranges[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1)  # no gap, no overlap
    lengths = [r.days for r in ranges]
    assert sum(lengths) == days and max(lengths) - min(lengths) <= 1
    with pytest.raises(ValueError):
        queries.split_window(window, 0)


def test_read_frame_shares_repeated_text_and_keeps_values_and_dtypes(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (product_id TEXT, location_id TEXT, quantity INTEGER)"))
        conn.execute(
            sa.text("INSERT INTO t VALUES (:p, :l, :q)"),
            [{"p": f"P{i % 3}", "l": None if i == 4 else "S1", "q": i} for i in range(9)],
        )
    frame = db.read_frame(engine, "SELECT * FROM t ORDER BY quantity")
    assert frame["product_id"].tolist() == [f"P{i % 3}" for i in range(9)]
    assert frame["location_id"].isna().tolist() == [i == 4 for i in range(9)]
    assert frame["quantity"].tolist() == list(range(9))
    assert frame["quantity"].dtype == "int64" and isinstance(frame["product_id"].dtype, pd.StringDtype)
    assert frame["product_id"].dtype.storage == "pyarrow"  # pyarrow is a dependency: text is Arrow-backed
    only_products = db.read_frame(engine, "SELECT * FROM t ORDER BY quantity", share_text=["product_id"])
    pd.testing.assert_frame_equal(only_products, frame)
    # Python-backed text (pandas without pyarrow, or object columns) is shared, the named columns only
    python_text = frame.astype({c: PYTHON_STR for c in ("product_id", "location_id")})
    shared = db.share_repeated_text(python_text.copy(), ["product_id"])
    pd.testing.assert_frame_equal(shared, python_text)
    products = shared["product_id"].to_numpy(dtype=object)
    assert products[0] is products[3] is products[6], "equal ids are one object"
    assert len({id(v) for v in products}) == 3
    locations = shared["location_id"].dropna().to_numpy(dtype=object)
    assert len({id(v) for v in locations}) == len(locations), "columns not named are left as read"


def test_sharing_keeps_text_and_mixed_columns_value_for_value() -> None:
    text: list[str | None] = [f"P{i % 4}" * 3 for i in range(12)]  # built at run time: twelve distinct objects
    text[5] = None
    mixed = [1, "a" * 3, "a" * 3, None, 1.5, [1]]  # an unhashable value: left as it is
    ids = pd.DataFrame({"product_id": pd.Series(text, dtype=PYTHON_STR, index=range(10, 22))})  # not 0..n-1
    before = ids.copy()
    shared = db.share_repeated_text(ids)
    pd.testing.assert_frame_equal(shared, before)
    values = shared["product_id"].to_numpy(dtype=object)
    assert values[0] is values[4] is values[8] and values[1] is values[9]
    assert len({id(v) for v in values if isinstance(v, str)}) == 4

    others = pd.DataFrame(
        {
            "code": pd.Series([1, "b" * 2, "b" * 2, None, 2.5, "b" * 2], dtype=object),
            "raw": pd.Series(mixed, dtype=object),
        }
    )
    before = others.copy()
    shared = db.share_repeated_text(others)
    assert shared["code"].tolist() == before["code"].tolist() and shared["code"].dtype == object
    code = shared["code"].to_numpy(dtype=object)
    assert code[1] is code[2] is code[5] and code[3] is None
    assert shared["raw"].tolist() == mixed, "a column with an unhashable value is left as read"

    arrow = pd.DataFrame({"product_id": pd.Series(text, dtype=pd.StringDtype("pyarrow", na_value=np.nan))})
    before = arrow.copy()
    assert db.share_repeated_text(arrow)["product_id"].array is arrow["product_id"].array  # nothing to share
    pd.testing.assert_frame_equal(arrow, before)


def test_a_sqlite_window_read_by_threads_is_the_same_frame(tmp_path, monkeypatch) -> None:
    rows = [
        {
            "sale_id": i,
            "sold_at": dt.date(2026, 1, 1) + dt.timedelta(days=i % 9),
            "product_id": f"P{i % 7}",
            "location_id": f"S{i % 3}",
            "quantity": i % 5,
            "unit_price": 1,
        }
        for i in range(2_000)
    ]
    engine = _sales_table(f"sqlite:///{tmp_path / 'sales.db'}", rows)
    monkeypatch.setattr(queries, "available_cpus", lambda: 1)  # one thread: every day in this one
    first = queries.read_sales(engine, queries.SourceSpec("sales"), history_days=9)
    in_one, window = first.frame, first.window
    assert window is not None and queries.plan_sales_read(engine, queries.SourceSpec("sales"), history_days=9).by_day
    runs: list[tuple[list[dt.date], str]] = []
    read_days = queries.read_days

    def recorded(engine, read, days, timeout_seconds):
        runs.append((list(days), threading.current_thread().name))
        return read_days(engine, read, days, timeout_seconds)

    monkeypatch.setattr(queries, "read_days", recorded)
    window_days = [window.start + dt.timedelta(days=i) for i in range(window.days)]
    for threads in (2, 3):
        monkeypatch.setattr(queries, "available_cpus", lambda threads=threads: threads)
        runs.clear()
        again = queries.read_sales(engine, queries.SourceSpec("sales"), history_days=9)
        pd.testing.assert_frame_equal(again.frame, in_one, check_exact=True)
        assert again.rows.in_key_order == first.rows.in_key_order
        # the window cut into one run of consecutive days per thread, read by the pool's threads (the pool
        # may hand a finished thread the next run: that two really run at once, test_parallel shows)
        assert len(runs) == threads and sorted(day for days, _ in runs for day in days) == window_days
        assert all(days == sorted(days) and name.startswith("inventory-block") for days, name in runs)
    assert len(in_one) == len({(r["sold_at"], r["product_id"], r["location_id"]) for r in rows})
    assert in_one["product_id"].dtype.storage == "pyarrow"  # Arrow-backed: no object per row


def test_a_database_error_in_a_reading_thread_is_raised_in_the_caller_as_itself(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = db.make_engine(url)
    missing = "SELECT * FROM missing_sales"
    read = queries.SalesRead(statement=missing, window=None, by_day=True, source_sql=missing)
    window = SalesWindow(dt.date(2026, 1, 1), dt.date(2026, 1, 4))
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        queries.read_sales_days(engine, read, window)


def _raw_sales(tmp_path, lines: list[tuple]) -> sa.Engine:
    """A SQLite sales table of (sale_id, sold_at, product_id, location_id, quantity) stored as given."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'raw.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE sales (sale_id INTEGER PRIMARY KEY, sold_at DATE, product_id TEXT, "
            "location_id TEXT, quantity NUMERIC, unit_price NUMERIC)"
        )
        conn.exec_driver_sql("CREATE INDEX ix_day ON sales (sold_at, product_id, location_id, quantity)")
        conn.exec_driver_sql("INSERT INTO sales VALUES (?, ?, ?, ?, ?, 1)", lines)
    return engine


def _whole_window(engine: sa.Engine, read: queries.SalesRead) -> pd.DataFrame:
    """The single GROUP BY statement over the whole window, in key order: what the by-day read must equal."""
    assert read.window is not None
    frame = db.read_frame(
        engine, read.statement + " ORDER BY 1, 2, 3", queries._days_params(engine, read.window.start, read.window.end)
    )
    return queries._with_line_facts(queries.SalesRows(frame)).frame  # the counts it does not compute, as zeros


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            [
                (1, "2026-01-01", "P2", "S1", 4),
                (2, "2026-01-01", "P1", "S2", 1),
                (3, "2026-01-01", "P1", "S1", 2),
                (4, "2026-01-01", "P1", "S1", 3),
                (5, "2026-01-02", "P😀", "S1", None),
                (6, "2026-01-02", "Pz", "S1", -2),
                (7, "2026-01-02", "P\uffff", "S1", 1),
                (8, "2026-01-03", "P1", "S1", 1.5),
            ],
            id="dates",
        ),
        pytest.param(
            [
                (1, "2026-01-01", "P2", "S1", 4),
                (2, "2026-01-01", "P1", "S2", 1),
                (3, "2026-01-01", "P1", "S1", 2),
                (4, "2026-01-02", "P😀", "S1", 3),
                (5, "2026-01-02", "P\uffff", "S1", 1),
                (6, "2026-01-02", "Pz", "S10", -2),
                (7, "2026-01-02", "Pz", "S1", 2),
                (8, "2026-01-03", "P1", "S1", 1),
            ],
            id="dates, whole units (one Arrow conversion)",
        ),
        pytest.param(
            [
                (1, "2026-01-01", "P1", "S1", 1),
                (2, "2026-01-02 09:30:00", "P1", "S1", 2),
                (3, "2026-01-02", "P1", "S1", 3),
                (4, "2026-01-02T23:59:59", "P2", "S1", 1),
                (5, "2026-01-03", "P1", "S1", 1),
            ],
            id="timestamps on one day",
        ),
        pytest.param(
            [
                (1, "2026-01-01", "P1", "S1", 1),
                (2, "2026-01-02", None, "S1", 2),
                (3, "2026-01-02", "P1", None, 1),
                (4, "2026-01-02", "P0", "S1", 1),
                (5, "2026-01-03", "10", "S1", 1),
                (6, "2026-01-03", 9, "S1", 1),
            ],
            id="null and numeric ids",
        ),
    ],
)
def test_the_by_day_read_is_the_single_statement(tmp_path, lines: list[tuple]) -> None:
    engine = _raw_sales(tmp_path, lines)
    read = queries.plan_sales_read(engine, queries.SourceSpec("sales"), history_days=3)
    assert read.by_day and read.window == queries.SalesWindow(dt.date(2026, 1, 1), dt.date(2026, 1, 3))
    rows = queries.read_sales_days(engine, read, read.window)
    by_day = rows.frame
    pd.testing.assert_frame_equal(by_day, _whole_window(engine, read), check_exact=True)
    in_order = rows.in_key_order
    if in_order:  # the flag is a promise: the rows are where a stable sort by key would leave them
        keys = by_day[["product_id", "location_id"]].astype(object)
        resorted = by_day.assign(p=keys["product_id"], l=keys["location_id"]).sort_values(
            ["sale_date", "p", "l"], kind="stable"
        )
        assert resorted.index.tolist() == list(range(len(by_day)))
    dates_only = all(len(line[1]) == 10 for line in lines)  # a timestamp's day is read by the statement
    assert in_order == (dates_only and all(isinstance(line[2], str) and line[3] for line in lines))
    trusted = validate_source("sales", by_day, in_key_order=in_order)
    sorted_ = validate_source("sales", by_day.copy())
    pd.testing.assert_frame_equal(trusted.frame, sorted_.frame, check_exact=True)
    pd.testing.assert_frame_equal(trusted.failures, sorted_.failures, check_exact=True)
    assert not trusted.frame.attrs, "nothing travels downstream in attrs"


@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_postgresql_sends_the_exact_numeric_sum_as_the_float_validation_makes(empty_database: str) -> None:
    from decimal import Decimal

    quantities = [Decimal("0.1"), Decimal("0.2"), Decimal("1.2345"), Decimal("7.0001"), Decimal("0.0003")]
    rows = [
        {
            "sale_id": i + 1,
            "sold_at": dt.date(2026, 1, 1),
            "product_id": "P1",
            "location_id": "S1",
            "quantity": q,
            "unit_price": 1,
        }
        for i, q in enumerate(quantities)
    ]
    frame = queries.read_sales(_sales_table(empty_database, rows), queries.SourceSpec("sales"), history_days=1).frame
    assert frame["quantity"].tolist() == [float(sum(quantities))]  # one correct rounding of the exact sum
    assert frame["min_line_quantity"].tolist() == [float(min(quantities))]
    validated = validate_source("sales", frame)
    assert validated.passed and validated.frame["quantity"].tolist() == [float(sum(quantities))]


@pytest.mark.parametrize(
    "ids",
    [
        [],
        [("P1", "S1")],
        [(None, "S1")],
        [("P1", "S1"), ("P1", "S2"), ("P2", "S1")],
        [("P1", "S2"), ("P1", "S1")],
        [("P\uffff", "S"), ("P😀", "S")],
        [("P😀", "S"), ("P\uffff", "S")],
        [("P1", None), ("P2", "S1")],
    ],
)
def test_key_order_is_judged_alike_on_arrow_and_pandas_columns(ids: list[tuple[str | None, str | None]]) -> None:
    import pyarrow as pa

    firsts, seconds = [i[0] for i in ids], [i[1] for i in ids]
    arrow = queries._in_python_order(
        pa.chunked_array([pa.array(firsts, pa.string())]), pa.chunked_array([pa.array(seconds, pa.string())])
    )
    pandas = queries._in_python_order(pd.Series(firsts, dtype="str"), pd.Series(seconds, dtype="str"))
    expected = not ids or (all(v is not None for pair in ids for v in pair) and ids == sorted(ids))  # Python's order
    assert arrow == pandas == expected


@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
def test_a_server_window_read_in_day_ranges_by_threads_validates_to_the_single_read(
    empty_database: str, monkeypatch
) -> None:
    rows = [
        {
            "sale_id": i + 1,  # MariaDB numbers an AUTO_INCREMENT 0 itself
            "sold_at": dt.date(2026, 1, 1) + dt.timedelta(days=i % 9),
            "product_id": ["P1", "p1", "Pü", "P2"][i % 4],
            "location_id": f"S{i % 3}",
            "quantity": -3 if i == 17 else i % 5,  # one negative line: a failure with its row
            "unit_price": 1,
        }
        for i in range(600)
    ]
    engine = _sales_table(empty_database, rows)
    source = queries.SourceSpec("sales")
    ranges: list[queries.SalesWindow] = []
    read_range = queries._read_range

    def recorded(engine, read, days, timeout_seconds):
        ranges.append(days)
        return read_range(engine, read, days, timeout_seconds)

    monkeypatch.setattr(queries, "_read_range", recorded)
    results = {}
    for threads in (1, 3):
        monkeypatch.setattr(queries, "available_cpus", lambda threads=threads: threads)
        ranges.clear()
        read = queries.read_sales(engine, source, history_days=9)
        assert read.window is not None and not queries.plan_sales_read(engine, source, history_days=9).by_day
        assert sorted(ranges, key=lambda w: w.start) == queries.split_window(read.window, threads)
        results[threads] = validate_source("sales", read.frame)
    pd.testing.assert_frame_equal(results[3].frame, results[1].frame, check_exact=True)
    pd.testing.assert_frame_equal(results[3].failures, results[1].failures, check_exact=True)
    assert len(results[1].failures) == 1 and set(results[1].frame["product_id"]) == {"P1", "p1", "Pü", "P2"}
