"""Line-level truth under the pushdown (issue 17, family 1): the sales aggregate reports, in the same pass,
the sale-line faults its daily sums would hide, and the sales check fails on them, on SQLite, PostgreSQL and
MariaDB: lines loaded twice, NULL or unreadable days, text in a numeric column, ids a collation would merge."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract.validation import validate_source
from inventory_assets.defs import constants
from inventory_assets.io import db, queries
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import check_results, materialize, materialized_keys, write_demo

DAY = dt.date(2026, 3, 2)


def _lines_table(url: str, *, unique_id: bool, nullable_day: bool = False, text_columns: bool = False) -> sa.Table:
    """A user's ``sales`` table: ``sale_id`` a primary key or a plain column, ``sold_at`` nullable or not, and
    kept as text (SQLite) when ``text_columns``."""
    engine = db.make_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
        "sales",
        meta,
        sa.Column("sale_id", sa.BigInteger, primary_key=unique_id, autoincrement=False, nullable=False),
        sa.Column("sold_at", sa.Text if text_columns else sa.Date, nullable=nullable_day),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Numeric(18, 4)),
        sa.Column("unit_price", sa.Numeric(18, 4)),
    )
    meta.create_all(engine)
    return table


def _insert(url: str, table: sa.Table, rows: list[dict]) -> None:
    with db.make_engine(url).begin() as conn:
        conn.execute(table.insert(), [{"unit_price": 1, **row} for row in rows])


def _line(sale_id: int, product: str = "P1", quantity: object = 2, day: object = DAY) -> dict:
    return {"sale_id": sale_id, "sold_at": day, "product_id": product, "location_id": "S1", "quantity": quantity}


def _read(url: str) -> queries.SalesResult:
    return queries.read_sales(db.make_engine(url), queries.SourceSpec("sales"), history_days=30)


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_lines_loaded_twice_fail_the_sales_check(empty_database: str) -> None:
    table = _lines_table(empty_database, unique_id=False)
    lines = [_line(i) for i in range(1, 6)]
    _insert(empty_database, table, lines + lines[:3])  # three lines loaded again, same sale_ids
    result = _read(empty_database)
    assert result.frame["quantity"].sum() == 16  # the daily sum hides them...
    assert result.frame["duplicate_sale_id_lines"].tolist() == [3]  # ...the same pass counts them
    report = validate_source("sales", result.frame)
    assert not report.passed
    failing = report.failures.loc[report.failures["column"] == "duplicate_sale_id_lines"]
    assert len(failing) == 1 and failing["key"].iloc[0].endswith("P1 / S1")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_unique_sale_id_is_trusted_and_not_counted(empty_database: str) -> None:
    table = _lines_table(empty_database, unique_id=True)
    _insert(empty_database, table, [_line(i) for i in range(1, 6)])
    engine = db.make_engine(empty_database)
    read = queries.plan_sales_read(engine, queries.SourceSpec("sales"), 30)
    assert not read.count_duplicates and "COUNT(DISTINCT" not in read.statement
    result = _read(empty_database)
    assert result.frame["duplicate_sale_id_lines"].tolist() == [0]
    assert validate_source("sales", result.frame).passed


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_lines_without_a_day_are_named_not_dropped(empty_database: str) -> None:
    table = _lines_table(empty_database, unique_id=True, nullable_day=True)
    _insert(empty_database, table, [_line(1), _line(2), _line(3, day=None), _line(4, day=None)])
    with pytest.raises(queries.SaleLinesError) as raised:
        _read(empty_database)
    assert raised.value.column == "sold_at"
    assert "2 sale line(s) where sold_at is NULL" in str(raised.value) and "sale_id=3" in str(raised.value)


def test_text_in_a_numeric_column_is_counted_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lines.db'}"
    table = _lines_table(url, unique_id=True)
    _insert(url, table, [_line(1, quantity=2), _line(2, quantity=2.5)])
    with db.make_engine(url).begin() as conn:  # SQLite keeps text it cannot read as a number in a NUMERIC column
        conn.exec_driver_sql(
            "INSERT INTO sales (sale_id, sold_at, product_id, location_id, quantity, unit_price) VALUES "
            "(3, '2026-03-02', 'P1', 'S1', 'abc', 1), (4, '2026-03-02', 'P1', 'S1', '3 units', 1)"
        )
    result = _read(url)
    assert result.frame["non_numeric_quantity_lines"].tolist() == [2]  # 'abc' and '3 units'
    report = validate_source("sales", result.frame)
    assert "non_numeric_quantity_lines" in set(report.failures["column"])


def test_dates_in_a_second_text_form_are_named_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lines.db'}"
    table = _lines_table(url, unique_id=True, text_columns=True)
    rows = [_line(i, day=f"2026-03-{i:02d}") for i in range(1, 16)] + [_line(99, day="20260415")]
    _insert(url, table, rows)
    with pytest.raises(queries.SaleLinesError) as raised:
        _read(url)
    message = str(raised.value)
    assert "1 sale line(s) where sold_at is not a day in the form YYYY-MM-DD" in message
    assert "'20260415'" in message


def test_a_text_timestamp_whose_offset_moves_its_day_is_counted_on_sqlite(tmp_path) -> None:
    """SQLite keeps timestamps as text: the window is cut on the day written, date() reads the UTC day. A line
    whose offset moves it across midnight is counted, so the check fails instead of the line landing on a day
    beside its range; offsets that keep the day, and UTC, are fine."""
    url = f"sqlite:///{tmp_path / 'lines.db'}"
    table = _lines_table(url, unique_id=True, text_columns=True)
    rows = [
        _line(1, day="2026-03-02T12:00:00+02:00"),  # 10:00 UTC the same day
        _line(2, day="2026-03-02T23:30:00Z"),
        _line(3, day="2026-03-02 08:00:00"),
    ]
    _insert(url, table, rows)
    clean = _read(url)
    assert clean.frame["offset_day_lines"].tolist() == [0] and clean.frame["quantity"].tolist() == [6]
    assert validate_source("sales", clean.frame).passed
    _insert(url, table, [_line(4, day="2026-03-02T01:00:00+02:00"), _line(5, day="2026-03-02T22:00:00-05:00")])
    result = _read(url)  # 1 March and 3 March in UTC, both read with the lines written on 2 March
    assert int(result.frame["offset_day_lines"].sum()) == 2
    report = validate_source("sales", result.frame)
    assert "offset_day_lines" in set(report.failures["column"])


@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
@pytest.mark.parametrize("column", ["quantity", "sold_at"])
def test_a_text_quantity_or_day_column_is_refused_on_typed_databases(empty_database: str, column: str) -> None:
    """MariaDB's SUM reads '3abc' as 3 and MIN/MAX order text as text: a typed database's text column is
    refused by its type, before any line is read (SQLite's values are checked line by line instead)."""
    engine = db.make_engine(empty_database)
    types = {"quantity": "NUMERIC(18, 4)", "sold_at": "DATE", column: "VARCHAR(32)"}
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, sold_at {types['sold_at']} NOT NULL, "
            f"product_id VARCHAR(64) NOT NULL, location_id VARCHAR(64) NOT NULL, quantity {types['quantity']}, "
            "unit_price NUMERIC(18, 4))"
        )
        conn.exec_driver_sql(
            "INSERT INTO sales VALUES (1, '2026-03-02', 'P1', 'S1', '3', 1), (2, '2026-03-02', 'P1', 'S1', "
            + ("'3abc'" if column == "quantity" else "'2'")
            + ", 1)"
        )
    with pytest.raises(queries.SaleLinesError) as raised:
        _read(empty_database)
    assert raised.value.column == column
    assert f"returns {column} as text" in str(raised.value)
    if column == "sold_at":  # a query that casts the column is the way out
        query = (
            "SELECT sale_id, product_id, location_id, unit_price, quantity, CAST(sold_at AS DATE) AS sold_at FROM sales"
        )
        result = queries.read_sales(engine, queries.SourceSpec("sales", query=query), history_days=30)
        assert result.frame["quantity"].tolist() == [5]


@pytest.mark.mariadb
@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_ids_a_collation_would_merge_stay_apart_on_mariadb(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    with engine.begin() as conn:  # a user's table in a case-insensitive, PAD SPACE collation
        conn.exec_driver_sql(
            "CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, sold_at DATE NOT NULL, "
            "product_id VARCHAR(64) NOT NULL, location_id VARCHAR(64) NOT NULL, quantity DECIMAL(18,4), "
            "unit_price DECIMAL(18,4)) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
    table = sa.Table("sales", sa.MetaData(), autoload_with=engine)
    _insert(empty_database, table, [_line(1, "P1", 1), _line(2, "p1", 10), _line(3, "P1 ", 100), _line(4, "P1", 1)])
    frame = _read(empty_database).frame.sort_values("quantity")
    assert frame["product_id"].tolist() == ["P1", "p1", "P1 "]
    assert frame["quantity"].tolist() == [2.0, 10.0, 100.0]
    read = queries.plan_sales_read(engine, queries.SourceSpec("sales"), 30)
    assert read.exact_statement is not None and "AS BINARY)" in read.exact_statement.split("GROUP BY")[1]


@pytest.mark.mariadb
@pytest.mark.parametrize("collation", ["utf8mb4_nopad_bin", "utf8mb4_general_ci"])
@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_the_mariadb_aggregate_follows_the_index_and_groups_as_the_exact_one(
    empty_database: str, collation: str
) -> None:
    """The aggregate groups by the columns, in the contract index's order (no temporary table, no sort), and
    gives the rows the statement grouping by the ids' bytes gives, in an exact collation and in a
    case-insensitive one whose ids do not collide; nothing is marked to be read again."""
    engine = db.make_engine(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, sold_at DATE NOT NULL, "
            "product_id VARCHAR(64) NOT NULL, location_id VARCHAR(64) NOT NULL, quantity DECIMAL(18,4) NOT NULL, "
            "unit_price DECIMAL(18,4), INDEX ix_sales_day_product_location (sold_at, product_id, location_id, "
            f"quantity)) CHARACTER SET utf8mb4 COLLATE {collation}"
        )
    table = sa.Table("sales", sa.MetaData(), autoload_with=engine)
    products, locations = ["P1", "p2", "P3 ", "Q4"], ["S1", "s2", "DC"]
    pairs = [(product, location) for product in products for location in locations for _ in range(40)]
    lines = [
        {**_line(i + 1, product, 1 + i % 7, DAY - dt.timedelta(days=i % 5)), "location_id": location}
        for i, (product, location) in enumerate(pairs)
    ]
    _insert(empty_database, table, lines)
    read = queries.plan_sales_read(engine, queries.SourceSpec("sales"), 30)
    assert read.window is not None and read.exact_statement is not None
    params = {"window_start": read.window.start, "window_end": read.window.end + dt.timedelta(days=1)}
    with engine.connect() as conn:
        plan = conn.execute(sa.text(f"EXPLAIN {read.statement}"), params).mappings().all()
    extra = " ".join(str(row["Extra"]) for row in plan)
    assert plan[0]["key"] == "ix_sales_day_product_location"
    assert "temporary" not in extra and "filesort" not in extra
    fast = db.read_frame(engine, read.statement, params)
    assert not fast.pop(queries.COLLATED_IDS).eq(1).any()
    exact = db.read_frame(engine, read.exact_statement, params)
    key = ["sale_date", "product_id", "location_id"]
    fast, exact = (frame.sort_values(key, ignore_index=True) for frame in (fast, exact))
    pd.testing.assert_frame_equal(fast, exact)
    assert len(fast) == 5 * len(products) * len(locations) and fast["sale_lines"].sum() == len(lines)
    got = _read(empty_database).frame.sort_values(key, ignore_index=True)
    assert got[key].astype(str).equals(exact[key].astype(str))


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_sales_check_fails_naming_the_lines_and_nothing_downstream_runs(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    cloud = db.make_engine(database_env[db.CLOUD_URL_VAR])
    with cloud.begin() as conn:  # SQLite keeps what it is given: a line whose day reads as no date
        conn.exec_driver_sql("UPDATE sales SET sold_at = 'yesterday' WHERE sale_id = (SELECT MIN(sale_id) FROM sales)")
    result = materialize(raise_on_error=False)
    check = check_results(result)[constants.VALID_CHECK.format(table="sales")]
    assert not check.passed and "sold_at is not a day" in (check.description or "")
    assert "merged_dataset" not in materialized_keys(result)


# ---- one calendar day everywhere: a zoned timestamp counts on its UTC day --------------------------------


def _zoned_url(url: str) -> str:
    """``url`` whose sessions start in Tokyo time (UTC+9): the day a zoned timestamp falls on must not
    depend on it."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.update_query_dict({"options": "-c TimeZone=Asia/Tokyo"})
    else:
        parsed = parsed.update_query_dict({"init_command": "SET time_zone = '+09:00'"})
    return parsed.render_as_string(hide_password=False)


@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
def test_a_zoned_timestamp_counts_on_its_utc_day(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    zoned = "TIMESTAMPTZ" if engine.dialect.name == "postgresql" else "TIMESTAMP"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE sales (sale_id BIGINT PRIMARY KEY, sold_at {zoned} NOT NULL, "
            "product_id VARCHAR(64) NOT NULL, location_id VARCHAR(64) NOT NULL, quantity DECIMAL(18,4), "
            "unit_price DECIMAL(18,4))"
        )
    tokyo = db.make_engine(_zoned_url(empty_database))
    with tokyo.begin() as conn:  # 23:00 UTC on 1 March is 08:00 on 2 March in Tokyo
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("INSERT INTO sales VALUES (1, '2026-03-01 23:00:00+00', 'P1', 'S1', 5, 1)")
        else:
            conn.exec_driver_sql("INSERT INTO sales VALUES (1, '2026-03-02 08:00:00', 'P1', 'S1', 5, 1)")
    for source in (engine, tokyo):
        result = queries.read_sales(source, queries.SourceSpec("sales"), history_days=30)
        assert result.window is not None and result.window.end == dt.date(2026, 3, 1)
        assert [str(d)[:10] for d in result.frame["sale_date"]] == ["2026-03-01"]
        with source.connect() as conn:  # the pooled session keeps its own zone afterwards
            if engine.dialect.name == "postgresql":
                zone = conn.exec_driver_sql("SHOW TIME ZONE").scalar_one()
            else:
                zone = conn.exec_driver_sql("SELECT @@session.time_zone").scalar_one()
        assert zone in (("Asia/Tokyo", "+09:00") if source is tokyo else (zone,))
