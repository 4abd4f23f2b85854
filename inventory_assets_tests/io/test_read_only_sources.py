"""Sources are read-only by construction (issue 17): a user's query is parsed to one SELECT, every read runs
in a transaction that cannot write (on PostgreSQL through the extended protocol), and views and
schema-qualified names are accepted as table overrides. On real SQLite, PostgreSQL and MariaDB databases;
after every refused case the database is checked to be as it was."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest
import sqlalchemy as sa

from inventory_assets.io import db, queries
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.io.test_queries import _sales_table

SALES_ROWS = [
    {"sale_id": i, "sold_at": dt.date(2026, 1, 1 + i % 5), "product_id": f"P{i % 3}", "location_id": f"S{i % 2}"}
    for i in range(1, 21)
]


def _sales(url: str) -> sa.Engine:
    """A contract ``sales`` table of 20 lines over 5 days (and a sequence, on PostgreSQL)."""
    engine = _sales_table(url, [{**row, "quantity": 2, "unit_price": 1} for row in SALES_ROWS])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SEQUENCE IF EXISTS sales_seq")
            conn.exec_driver_sql("CREATE SEQUENCE sales_seq")
    return engine


def _state(engine: sa.Engine) -> tuple[set[str], int, float]:
    """What a refused read must leave as it was: the tables and views, the sales lines and their units."""
    with engine.connect() as conn:
        lines, units = conn.execute(sa.text("SELECT COUNT(*), SUM(quantity) FROM sales")).one()
    return db.table_names(engine), int(lines), float(units)


# --- the parser: one SELECT, however a second statement is hidden -----------------------------------------

HIDDEN_STATEMENTS = [
    # (dialect, query): a second statement where the old check's literal stripper did not look
    pytest.param("postgresql", "SELECT 1 AS \"'\", 2; DROP TABLE sales; SELECT '\"'", id="double-quoted identifier"),
    pytest.param("postgresql", "SELECT $$'$$; DROP TABLE sales; SELECT $$'$$", id="dollar-quoted string"),
    pytest.param("postgresql", "SELECT $q$'$q$; COMMIT; DELETE FROM sales; SELECT $q$'$q$", id="tagged dollar quotes"),
    pytest.param("postgresql", "SELECT E'\\'' AS a; DELETE FROM sales; SELECT 'x' AS b", id="E'' string"),
    pytest.param("postgresql", "SELECT '\\'; DROP TABLE sales; --'", id="backslash in a standard string"),
    pytest.param("postgresql", "SELECT * FROM sales /* ; */; COMMIT", id="after a block comment"),
    pytest.param("mariadb", "SELECT 1 AS `'`, 2; DROP TABLE sales; SELECT '`'", id="backquoted identifier"),
    pytest.param("mariadb", "SELECT 1 # comment\n; DROP TABLE sales", id="after a hash comment"),
    pytest.param("sqlite", "SELECT 1 AS [']; DROP TABLE sales; SELECT ']'", id="bracketed identifier"),
]

WRITING_QUERIES = [
    pytest.param(
        "postgresql", "WITH d AS (DELETE FROM sales RETURNING *) SELECT * FROM d", id="pg data-modifying WITH"
    ),
    pytest.param(
        "postgresql",
        "SELECT * FROM (WITH d AS (UPDATE sales SET quantity = 0 RETURNING *) SELECT * FROM d) q",
        id="pg data-modifying WITH in a subquery",
    ),
    pytest.param("postgresql", "SELECT * INTO sales_copy FROM sales", id="pg SELECT INTO"),
    pytest.param("postgresql", "SELECT * FROM sales FOR UPDATE", id="pg FOR UPDATE"),
    pytest.param("postgresql", "SELECT * FROM sales FOR SHARE", id="pg FOR SHARE"),
    pytest.param("postgresql", "COMMIT", id="pg COMMIT"),
    pytest.param("postgresql", "SET default_transaction_read_only = off", id="pg SET"),
    pytest.param("postgresql", "CALL refresh_sales()", id="pg CALL"),
    pytest.param("postgresql", "DO $$ BEGIN DELETE FROM sales; END $$", id="pg DO"),
    pytest.param("postgresql", "COPY sales TO STDOUT", id="pg COPY"),
    pytest.param("postgresql", "TRUNCATE sales", id="pg TRUNCATE"),
    pytest.param("postgresql", "MERGE INTO sales USING sales s ON true WHEN MATCHED THEN DELETE", id="pg MERGE"),
    pytest.param("postgresql", "EXPLAIN ANALYZE DELETE FROM sales", id="pg EXPLAIN ANALYZE"),
    pytest.param("postgresql", "CREATE TABLE sales_copy AS SELECT * FROM sales", id="pg CREATE AS"),
    pytest.param("mariadb", "SELECT quantity INTO @q FROM sales LIMIT 1", id="mariadb SELECT INTO variable"),
    pytest.param("mariadb", "SELECT * FROM sales INTO OUTFILE '/tmp/sales.csv'", id="mariadb INTO OUTFILE"),
    pytest.param("mariadb", "SELECT * FROM sales LOCK IN SHARE MODE", id="mariadb LOCK IN SHARE MODE"),
    pytest.param("mariadb", "REPLACE INTO sales SELECT * FROM sales", id="mariadb REPLACE"),
    pytest.param("mariadb", "SET @a = 1", id="mariadb SET"),
    pytest.param("sqlite", "PRAGMA query_only = OFF", id="sqlite PRAGMA"),
    pytest.param("sqlite", "ATTACH 'other.db' AS other", id="sqlite ATTACH"),
    pytest.param("sqlite", "WITH x AS (SELECT 1) DELETE FROM sales", id="sqlite WITH ... DELETE"),
    pytest.param("sqlite", "VACUUM", id="sqlite VACUUM"),
]

EVERYWHERE = [
    "DROP TABLE sales",
    "DELETE FROM sales",
    "UPDATE sales SET quantity = 0",
    "INSERT INTO sales SELECT * FROM sales",
    "SELECT * FROM sales; DROP TABLE sales",
    "SELECT * FROM sales;; DELETE FROM sales",
    "  -- a comment\n INSERT INTO sales (sale_id) VALUES (99)",
    "SELECT 1) src; DROP TABLE sales; SELECT * FROM (SELECT 1",
    "",
    " ; ",
]


@pytest.mark.parametrize(("dialect", "query"), HIDDEN_STATEMENTS)
def test_a_second_statement_is_found_wherever_it_hides(dialect: str, query: str) -> None:
    with pytest.raises(queries.SourceQueryError, match="statements .*must be exactly one SELECT"):
        queries.check_select(query, dialect)


@pytest.mark.parametrize(("dialect", "query"), WRITING_QUERIES)
def test_a_query_that_writes_locks_or_runs_something_else_is_refused(dialect: str, query: str) -> None:
    with pytest.raises(queries.SourceQueryError, match="source query"):
        queries.check_select(query, dialect)


@pytest.mark.parametrize("query", EVERYWHERE)
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mariadb"])
def test_what_is_not_one_select_is_refused_in_every_dialect(dialect: str, query: str) -> None:
    with pytest.raises(queries.SourceQueryError, match="source query"):
        queries.check_select(query, dialect)


@pytest.mark.parametrize(
    ("dialect", "query", "used"),
    [
        ("postgresql", "SELECT 1;", "SELECT 1"),
        ("postgresql", "SELECT 1 UNION ALL SELECT 2 ;; ", "SELECT 1 UNION ALL SELECT 2"),
        ("postgresql", "(SELECT 1) EXCEPT (SELECT 2)", "(SELECT 1) EXCEPT (SELECT 2)"),
        ("postgresql", "WITH x AS (SELECT 1 AS a) SELECT a FROM x", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
        ("postgresql", "SELECT $$;$$ AS a, E'\\';' AS b; -- note", "SELECT $$;$$ AS a, E'\\';' AS b"),
        ("postgresql", 'SELECT 1 AS "x;y" /* ; */', 'SELECT 1 AS "x;y"'),
        ("postgresql", "SELECT * FROM erp.sales_lines", "SELECT * FROM erp.sales_lines"),
        ("mariadb", "SELECT `a;b` FROM t # note", "SELECT `a;b` FROM t"),
        ("mysql", "SELECT 'a\\';' AS x", "SELECT 'a\\';' AS x"),
        ("sqlite", "SELECT [a;b] FROM t;", "SELECT [a;b] FROM t"),
        ("snowflake", "SELECT 1 FROM t", "SELECT 1 FROM t"),  # a dialect of sqlglot's, untested here
        ("firebird", "SELECT 1 FROM t", "SELECT 1 FROM t"),  # one it does not know: generic SQL
    ],
)
def test_one_select_is_used_without_its_trailing_semicolons_and_comments(dialect: str, query: str, used: str) -> None:
    assert queries.check_select(query, dialect) == used


def test_a_refusal_names_the_source_the_setting_and_the_reason(tmp_path) -> None:
    engine = _sales(f"sqlite:///{tmp_path / 'sales.db'}")
    spec = queries.SourceSpec("sales", query="SELECT * FROM sales; DROP TABLE sales")
    with pytest.raises(queries.SourceQueryError) as refused:
        spec.from_clause(engine)
    assert str(refused.value) == (
        "the query configured for sales (run config `query`, or the resource's `queries`) holds 2 statements "
        "(SELECT, DROP); it must be exactly one SELECT"
    )
    with pytest.raises(queries.SourceQueryError, match=r"cannot be parsed as sqlite SQL \(.*line 1.*\).*a view"):
        queries.SourceSpec("costs", query="SELECT (1").from_clause(engine)
    with pytest.raises(ValueError) as unknown:
        queries.SourceSpec("costs", table_name="nope").from_clause(engine)
    assert str(unknown.value) == (
        "the table configured for costs (run config `table`): unknown table or view 'nope'; the database lists "
        "sales (and in another schema, schema.name)"
    )


# --- on the databases: refused, not retried, nothing changed -------------------------------------------


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_refused_queries_leave_the_database_as_it_was(empty_database: str) -> None:
    engine = _sales(empty_database)
    before = _state(engine)
    backend = "mariadb" if engine.dialect.name in ("mysql", "mariadb") else engine.dialect.name
    own = [p.values[1] for p in [*HIDDEN_STATEMENTS, *WRITING_QUERIES] if p.values[0] == backend]
    assert own, backend
    for query in [q for q in [*EVERYWHERE, *own] if q]:  # an empty query is no query: the table is read
        for read in (
            lambda spec: queries.read_sales(engine, spec, history_days=30),
            lambda spec: queries.read_table(engine, spec),
        ):
            attempts: list[int] = []
            sleeps: list[float] = []

            def attempt(read=read, query=query, attempts=attempts) -> object:
                attempts.append(1)
                return read(queries.SourceSpec("sales", query=query))

            with pytest.raises(queries.SourceQueryError, match="^the query configured for sales "):
                db.retry(attempt, sleep=sleeps.append, what="reading sales")
            assert attempts == [1] and sleeps == [], "a refused query is permanent: never retried"
    assert _state(engine) == before


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_statement_past_the_parser_still_cannot_write(empty_database: str) -> None:
    """The transaction of every read is read-only: a writing statement handed to the reads below the
    parser fails in the database, as a permanent error, and changes nothing."""
    engine = _sales(empty_database)
    before = _state(engine)
    writes = [
        "DELETE FROM sales",
        "UPDATE sales SET quantity = 0",
        "INSERT INTO sales (sale_id, sold_at, product_id, location_id) VALUES (99, '2026-01-01', 'P', 'S')",
        # MariaDB commits the transaction a DDL statement is in, then runs it: the session is read-only too.
        "CREATE TABLE intruder (x INTEGER)",
        "DROP TABLE sales",
        "ALTER TABLE sales ADD COLUMN intruder INTEGER",
    ]
    if engine.dialect.name == "postgresql":
        writes += [
            "WITH d AS (DELETE FROM sales RETURNING *) SELECT * FROM d",
            "SELECT nextval('sales_seq')",
            "SELECT set_config('transaction_read_only', 'off', true)",
            "SELECT * FROM sales FOR UPDATE",
        ]
    for statement in writes:
        sleeps: list[float] = []
        with pytest.raises(db.DatabaseError, match=r"(?i)read[- ]?(only|write)") as failed:
            db.retry(functools.partial(db.read_frame, engine, statement), sleep=sleeps.append, url=engine.url)
        assert not failed.value.transient and sleeps == [], statement
    assert _state(engine) == before
    if engine.dialect.name == "postgresql":  # the reads of queries.py too: a source whose rows write
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            queries.sale_day_range(engine, "SELECT CURRENT_DATE + CAST(nextval('sales_seq') AS INTEGER) AS sold_at")
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT nextval('sales_seq')").scalar_one() == 1, "never advanced"


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_several_statements_sent_without_bound_values_are_refused_by_the_database(empty_database: str) -> None:
    """PostgreSQL through psycopg runs a text without bound values with the simple query protocol, which
    runs every statement, a COMMIT included; a read goes through the extended protocol, which runs one.
    PyMySQL and sqlite3 send one statement per call."""
    engine = _sales(empty_database)
    before = _state(engine)
    for statement in (
        "SELECT 1 AS one; DROP TABLE sales",
        "SELECT 1 AS one; COMMIT; DELETE FROM sales",
        "SELECT COUNT(*) AS n FROM sales; COMMIT; DROP TABLE sales; SELECT 1 AS one",
    ):
        with pytest.raises(sa.exc.DBAPIError):
            db.read_frame(engine, statement)
        assert _state(engine) == before, statement
    # The reads below the parser: a source whose SQL closes the subquery and goes on.
    escaped = "SELECT * FROM sales) src; COMMIT; DELETE FROM sales; SELECT * FROM (SELECT 1 AS sold_at"
    with pytest.raises(sa.exc.DBAPIError):
        queries.source_columns(engine, escaped)
    with pytest.raises(sa.exc.DBAPIError):
        queries.sale_day_range(engine, escaped)
    assert _state(engine) == before


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_the_pooled_connection_writes_again_after_a_read(empty_database: str) -> None:
    """The same engine writes elsewhere (the demo writer, the plan store on one file or server): what a
    read set on its connection is undone, also after a read that failed."""
    engine = _sales(empty_database)
    assert len(db.read_frame(engine, "SELECT * FROM sales")) == len(SALES_ROWS)
    with pytest.raises(sa.exc.DBAPIError):
        db.read_frame(engine, "DELETE FROM sales")
    for n in range(3):  # more writes than pooled connections were used: each one writable again
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sales (sale_id, sold_at, product_id, location_id, quantity) "
                    "VALUES (:i, :d, 'P9', 'S9', 1)"
                ),
                {"i": 100 + n, "d": dt.date(2026, 2, 1)},
            )
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA query_only").scalar_one() == 0
            if engine.dialect.name == "postgresql":
                assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "off"
    assert _state(engine)[1] == len(SALES_ROWS) + 3
    if engine.dialect.name == "postgresql":  # psycopg's own cursor is back for the project's other statements
        import psycopg

        with engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            assert raw.cursor_factory is psycopg.Cursor


# --- table overrides: views, and names in another schema -----------------------------------------------


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_view_reads_as_a_table_override(empty_database: str) -> None:
    engine = _sales(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW store_one_sales AS SELECT * FROM sales WHERE location_id = 'S1'")
    assert "store_one_sales" in db.table_names(engine)
    result = queries.read_sales(engine, queries.SourceSpec("sales", table_name="store_one_sales"), history_days=30)
    assert result.frame["location_id"].unique().tolist() == ["S1"]
    assert int(result.frame["sale_lines"].sum()) == sum(r["location_id"] == "S1" for r in SALES_ROWS)


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_schema_qualified_name_reads_when_the_catalogue_lists_it(empty_database: str) -> None:
    engine = _sales(empty_database)
    schema = {"sqlite": "main", "postgresql": "public"}.get(engine.dialect.name, engine.url.database)
    before = _state(engine)
    result = queries.read_sales(engine, queries.SourceSpec("sales", table_name=f"{schema}.sales"), history_days=30)
    assert int(result.frame["sale_lines"].sum()) == len(SALES_ROWS)
    for name in (f"{schema}.missing", "nowhere.sales", f"{schema}.sales; DROP TABLE sales", f'{schema}."sales"'):
        with pytest.raises(ValueError, match="unknown table or view"):
            queries.read_sales(engine, queries.SourceSpec("sales", table_name=name), history_days=30)
    assert _state(engine) == before


@pytest.mark.postgresql
@pytest.mark.parametrize("empty_database", backend_params("postgresql"), indirect=True)
def test_postgresql_reads_a_table_and_a_query_of_another_schema(empty_database: str) -> None:
    engine = _sales(empty_database)
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP SCHEMA IF EXISTS "ERP data" CASCADE')
        conn.exec_driver_sql('CREATE SCHEMA "ERP data"')
        conn.exec_driver_sql('CREATE TABLE "ERP data"."Sales" AS SELECT * FROM sales WHERE product_id = \'P1\'')
        conn.exec_driver_sql('CREATE VIEW "ERP data".lines AS SELECT * FROM "ERP data"."Sales"')
    try:
        lines = sum(r["product_id"] == "P1" for r in SALES_ROWS)
        quoted = {"ERP data.Sales": '"ERP data"."Sales"', "ERP data.lines": '"ERP data".lines'}
        for name, sql_name in quoted.items():
            spec = queries.SourceSpec("sales", table_name=name)
            assert spec.from_clause(engine) == f"SELECT * FROM {sql_name}"  # each part quoted as it needs
            result = queries.read_sales(engine, spec, history_days=30)
            assert int(result.frame["sale_lines"].sum()) == lines, name
        query = queries.SourceSpec("sales", query='SELECT * FROM "ERP data"."Sales" WHERE location_id = \'S0\';')
        result = queries.read_sales(engine, query, history_days=30)
        assert result.frame["location_id"].unique().tolist() == ["S0"]
        with pytest.raises(ValueError, match="unknown table or view"):
            queries.read_sales(engine, queries.SourceSpec("sales", table_name="erp data.sales"), history_days=30)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql('DROP SCHEMA IF EXISTS "ERP data" CASCADE')
