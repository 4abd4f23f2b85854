"""The SQL that reads the sources: the contract's tables by default, or a user's own SELECT.

Pure SQLAlchemy (no Dagster). Sources are read-only by construction: every statement here runs in a
transaction that cannot write (`db.read_only`). Table names cannot be bound, so a configured table or view
must be listed by the database's own catalogue (`db.quoted_relation`); a user's query must parse (sqlglot,
in the engine's dialect) to exactly one SELECT that only reads (`check_select`) and is used as a subquery;
every value (the window's days) is bound, but where PostgreSQL's Arrow read writes the window's two days into
the statement as dates (`db.ArrowReader`). Sales are aggregated to daily demand per (day, product,
location) inside the database, so raw sale lines never travel to Python.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from inventory_assets.contract import spec
from inventory_assets.contract.classes import is_mysql
from inventory_assets.contract.sales import SalesWindow
from inventory_assets.io import db
from inventory_assets.parallel import available_cpus, return_freed_memory, thread_map

CONTRACT_COLUMNS: dict[str, list[str]] = {name: t.column_names for name, t in spec.SOURCE_TABLES.items()}
"""The contract's columns per source table, in order: the default SELECT (``spec.SOURCE_TABLES``)."""
OPTIONAL_COLUMNS: dict[str, set[str]] = {name: t.optional_columns for name, t in spec.SOURCE_TABLES.items()}
"""Columns a source may omit (nullable in the contract; read as NULL when absent)."""
SALES_REQUIRED: list[str] = spec.SALES_LINES.required_columns
ID_COLUMNS = frozenset(c.name for t in spec.SOURCE_FRAMES.values() for c in t.columns if c.kind == "id")
"""Text columns that stay text downstream: each distinct value is read as one shared object."""
NUMERIC_COLUMNS = frozenset(
    c.name for t in spec.SOURCE_FRAMES.values() for c in t.columns if c.kind in ("number", "integer")
)
"""Source columns that hold numbers: a fast Arrow read that finds one of them as text declines (`db.ArrowReader`)."""


class SourceQueryError(ValueError):
    """A configured table name or query that cannot be used (a permanent error: never retried)."""


class SaleLinesError(SourceQueryError):
    """Sale lines the aggregate cannot read truthfully (a NULL or unreadable ``sold_at``, a ``quantity`` or
    ``sold_at`` column a typed database returns as text): named with the column and, for lines, their count
    and a sample, and reported by the sales check (never retried)."""

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(message)


class MissingColumnsError(SourceQueryError):
    """The source lacks contract columns."""

    def __init__(self, table: str, missing: list[str], present: list[str]) -> None:
        self.table = table
        self.missing = missing
        self.present = present
        super().__init__(
            f"{table}: the source lacks the contract column(s) {', '.join(missing)}; "
            f"it returns {', '.join(present) or 'no columns'}"
        )


_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mariadb": "mysql", "mssql": "tsql"}
"""SQLAlchemy's dialect names that sqlglot spells otherwise (the rest, ``mysql``, ``sqlite``, ``snowflake``,
``bigquery``, ..., are the same)."""


def check_select(query: str, dialect: str, what: str = "the source query") -> str:
    """``query`` ready to be a source's subquery if it is exactly one SELECT that only reads; else a
    :class:`SourceQueryError` saying why (permanent: never retried).

    Parsed by sqlglot in ``dialect`` (the engine's, as SQLAlchemy names it: ``postgresql``, ``mysql`` or
    ``mariadb``, ``sqlite``, ...; one sqlglot does not know is parsed as generic SQL), so quotes, dollar
    quotes, ``E''`` strings and comments are read as the server reads them. Accepted: one SELECT, WITH ...
    SELECT, or a UNION/INTERSECT/EXCEPT of SELECTs. Refused: any other statement, a second statement however
    hidden, SELECT ... INTO, a locking read (FOR UPDATE, FOR SHARE), a data-modifying WITH (``WITH d AS
    (DELETE ... RETURNING *) SELECT ...``), and text the parser cannot read. Returned without trailing
    semicolons and comments (a trailing ``--`` comment would swallow the ``) src`` around it). Whatever the
    parser lets through still runs in a read-only transaction (`db.read_only`). ``what``: the query as the
    message names it.
    """
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError
    from sqlglot.tokens import TokenType

    parser_dialect, dialect_name = _parser_dialect(dialect)
    try:
        tokens = parser_dialect.tokenize(query)
        parsed = parser_dialect.parser().parse(tokens, query)
    except SqlglotError as error:
        where = error.errors[0] if isinstance(error, ParseError) and error.errors else {}
        detail = str(where.get("description") or error).splitlines()[0]
        if where.get("line"):
            detail += f" at line {where['line']}, column {where.get('col')}"
        raise SourceQueryError(
            f"{what} cannot be parsed as {dialect_name} SQL ({detail}); SQL the parser does not "
            "read can go into a view, named in run config `table`"
        ) from None
    except RecursionError:
        raise SourceQueryError(f"{what} is nested too deeply to be parsed") from None
    statements = [e for e in parsed if e is not None and not isinstance(e, exp.Semicolon)]
    if not statements:
        raise SourceQueryError(f"{what} is empty; it must be one SELECT")
    if len(statements) != 1:
        kinds = ", ".join(_statement_kind(e) for e in statements)
        raise SourceQueryError(f"{what} holds {len(statements)} statements ({kinds}); it must be exactly one SELECT")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        statement = isinstance(tree, (*_writing_nodes(), exp.Values, exp.Describe, exp.Show))
        kind = _statement_kind(tree) if statement else f"what starts with {tokens[0].text!r}"
        raise SourceQueryError(
            f"{what} is not a SELECT but {kind}; it must be one SELECT (or WITH ... SELECT, or a UNION of SELECTs)"
        )
    for node in tree.walk():
        if isinstance(node, _writing_nodes()):
            raise SourceQueryError(f"{what} holds {_statement_kind(node)}; a source query may only read")
    last = next(t for t in reversed(tokens) if t.token_type != TokenType.SEMICOLON)
    return query[: last.end + 1].strip()


def _parser_dialect(dialect: str) -> tuple[Any, str]:
    """sqlglot's dialect (an instance) for SQLAlchemy's dialect name, and its name for messages."""
    from sqlglot import Dialect

    name = _SQLGLOT_DIALECTS.get(dialect, dialect)
    if Dialect.get(name) is None:
        return Dialect.get_or_raise(None), "generic"
    return Dialect.get_or_raise(name), name


@functools.cache
def _writing_nodes() -> tuple[type, ...]:
    """sqlglot's nodes that write, lock, change the session or run something else: none may be in a
    source query, wherever it stands (a WITH, a subquery)."""
    from sqlglot import exp

    return (
        exp.DML,  # INSERT, UPDATE, DELETE, MERGE, COPY
        exp.DDL,  # CREATE, and INSERT again
        exp.Drop,
        exp.Alter,
        exp.TruncateTable,
        exp.Command,  # what sqlglot keeps as text: CALL, DO, EXECUTE, LOCK, VACUUM, ...
        exp.Into,  # SELECT ... INTO
        exp.Lock,  # FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE
        exp.Set,
        exp.Transaction,
        exp.Commit,
        exp.Rollback,
        exp.Pragma,
        exp.Use,
        exp.LoadData,
        exp.Attach,
        exp.Detach,
        exp.Grant,
        exp.Revoke,
        exp.Analyze,
        exp.Kill,
        exp.Cache,
        exp.Uncache,
        exp.Refresh,
        exp.Declare,
        exp.Export,
    )


def _statement_kind(node: Any) -> str:
    """A node as a message names it: ``SELECT``, ``DROP``, ``a data-modifying DELETE``, ..."""
    from sqlglot import exp

    if isinstance(node, exp.Into):
        return "SELECT ... INTO"
    if isinstance(node, exp.Lock):
        return "a locking clause (FOR UPDATE, FOR SHARE)"
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.DML) and node.parent is not None:
        return f"a data-modifying {node.key.upper()}"
    return _KIND_NAMES.get(node.key, node.key.upper())


_KIND_NAMES = {"truncatetable": "TRUNCATE", "transaction": "BEGIN"}


@dataclass(frozen=True)
class SourceSpec:
    """Where a source's rows come from: the contract table (or another, checked by name) or a query."""

    table: str
    table_name: str | None = None
    query: str | None = None

    def from_clause(self, engine: sa.Engine) -> str:
        """The SQL of the source rows, to be used as ``(...) AS src``: the user's query if `check_select`
        accepts it, else every column of the table or view (in another schema: ``schema.name``) that the
        catalogue lists. A refusal names the source and the setting: a query's is a
        :class:`SourceQueryError` (the source's check reports it), an unknown table's a ValueError (the
        step fails); neither is retried."""
        if self.query:
            what = f"the query configured for {self.table} (run config `query`, or the resource's `queries`)"
            return check_select(self.query, engine.dialect.name, what)
        if not self.table_name:
            return f"SELECT * FROM {db.quoted_relation(engine, self.table)}"
        try:
            return f"SELECT * FROM {db.quoted_relation(engine, self.table_name)}"
        except ValueError as error:
            raise ValueError(f"the table configured for {self.table} (run config `table`): {error}") from None


def source_columns(engine: sa.Engine, from_sql: str, *, timeout_seconds: float | None = None) -> dict[str, object]:
    """The columns the source returns, each with the type code the driver reports for it (a query that
    fetches no row), in the source's order."""
    with db.read_only(engine, timeout_seconds=timeout_seconds) as conn:
        result = conn.execute(sa.text(f"SELECT * FROM ({from_sql}) src WHERE 1 = 0"))
        types = [d[1] for d in result.cursor.description or ()]
        columns = dict(zip(result.keys(), types, strict=True))
    return columns


_TEXT_TYPE_CODES: dict[str, frozenset[int]] = {
    # The MySQL wire protocol's field types (PyMySQL, mysqlclient, MariaDB Connector): VARCHAR, JSON, ENUM,
    # SET, the BLOB/TEXT family, VAR_STRING and STRING (CHAR).
    "mysql": frozenset({15, 245, 247, 248, 249, 250, 251, 252, 253, 254}),
    # PostgreSQL type OIDs (psycopg, psycopg2): "char", name, text, json, bpchar, varchar, jsonb.
    "postgresql": frozenset({18, 19, 25, 114, 1042, 1043, 3802}),
}
_TYPED_SALES_COLUMNS = {
    "quantity": "a number (a numeric type, or a query that casts it): its SUM would read text as a number "
    "without a word (MariaDB takes '3abc' for 3)",
    "sold_at": "a date or a timestamp (a date type, or a query that casts it): text would be ordered and "
    "compared as text, so the window's days would be wrong",
}


def _require_typed_sales_columns(engine: sa.Engine, columns: dict[str, object]) -> None:
    """:class:`SaleLinesError` when a typed database returns ``quantity`` or ``sold_at`` as text. SQLite,
    which types each value rather than the column, is checked line by line instead
    (``non_numeric_quantity_lines``, :func:`sale_day_range`)."""
    backend = "mysql" if is_mysql(engine.dialect) else engine.dialect.name
    text_codes = _TEXT_TYPE_CODES.get(backend)
    if text_codes is None:
        return
    for name, type_code in columns.items():
        need = _TYPED_SALES_COLUMNS.get(name.lower())
        if need is not None and isinstance(type_code, int) and type_code in text_codes:
            raise SaleLinesError(
                name.lower(),
                f"sales: the source returns {name.lower()} as text on {engine.dialect.name}; the contract needs "
                f"{need}. Change the column's type, or cast it in the query configured for sales.",
            )


def table_statement(table: str, present: list[str], from_sql: str) -> str:
    """SELECT of the contract columns of ``table`` from the source (absent optional ones as NULL)."""
    lowered = {c.lower(): c for c in present}
    missing = [c for c in CONTRACT_COLUMNS[table] if c not in lowered and c not in OPTIONAL_COLUMNS[table]]
    if missing:
        raise MissingColumnsError(table, missing, present)
    parts = []
    for column in CONTRACT_COLUMNS[table]:
        # Contract names are plain identifiers: unquoted, they match the source's column in any case.
        parts.append(f"src.{column} AS {column}" if column in lowered else f"NULL AS {column}")
    return f"SELECT {', '.join(parts)} FROM ({from_sql}) src"


def _day_expression(engine: sa.Engine, column: str) -> str:
    return f"date({column})" if engine.dialect.name == "sqlite" else f"CAST({column} AS DATE)"


def _bind_day(engine: sa.Engine, day: dt.date) -> object:
    # SQLite stores dates as ISO text: compare text with text; other dialects bind a real date.
    return day.isoformat() if engine.dialect.name == "sqlite" else day


def _sqlite_first_and_last(from_sql: str, where: str = "") -> str:
    """The least and the greatest ``sold_at`` (of the rows matching ``where``) as two subqueries: SQLite
    answers a lone MIN or MAX with one index seek, while both in one SELECT scan every row."""
    condition = f" WHERE {where}" if where else ""
    return (
        f"SELECT (SELECT MIN(src.sold_at) FROM ({from_sql}) src{condition}), "
        f"(SELECT MAX(src.sold_at) FROM ({from_sql}) src{condition})"
    )


SAMPLE_LINES = 5
"""Offending sale lines named in a line-level failure."""
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
"""A SQLite date or timestamp as text: ``YYYY-MM-DD``, optionally followed by a time (one form for every line)."""
_SQLITE_NOT_ISO = (
    "(typeof(src.sold_at) <> 'text' OR src.sold_at NOT GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' OR date(src.sold_at) IS NULL)"
)


def sale_day_range(
    engine: sa.Engine, from_sql: str, *, timeout_seconds: float | None = None
) -> tuple[dt.date, dt.date] | None:
    """The earliest and the latest ``sold_at`` day of the source, or None when it has no rows.

    Sale lines that no day can hold raise :class:`SaleLinesError` with their count and a sample: a NULL
    ``sold_at`` (the window's WHERE would drop them without a word), and on SQLite, which keeps dates as
    text, a ``sold_at`` in another form than ``YYYY-MM-DD[ time]`` (``'20260415'`` sorts after every ISO
    day of its year, so it would become "the latest sale day" and move the window)."""
    if engine.dialect.name == "sqlite":
        statement = _sqlite_first_and_last(from_sql)
    else:
        statement = f"SELECT MIN(src.sold_at), MAX(src.sold_at) FROM ({from_sql}) src"
    with db.read_only(engine, timeout_seconds=timeout_seconds) as conn:
        first, last = conn.execute(sa.text(statement)).one()
        _raise_on_lines(conn, from_sql, "src.sold_at IS NULL", "sold_at is NULL")
        if engine.dialect.name == "sqlite" and not all(
            isinstance(v, str) and _ISO_DAY.match(v) for v in (first, last) if v is not None
        ):
            _raise_on_lines(
                conn,
                from_sql,
                f"src.sold_at IS NOT NULL AND {_SQLITE_NOT_ISO}",
                "sold_at is not a day in the form YYYY-MM-DD (SQLite keeps dates as text: one form for every line)",
            )
    if last is None:
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def _raise_on_lines(conn: sa.Connection, from_sql: str, where: str, what: str) -> None:
    """:class:`SaleLinesError` naming the count and a sample of the source's lines matching ``where``."""
    count = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM ({from_sql}) src WHERE {where}")).scalar_one())
    if not count:
        return
    sample = (
        conn.execute(sa.text(f"SELECT src.* FROM ({from_sql}) src WHERE {where} LIMIT {SAMPLE_LINES}")).mappings().all()
    )
    shown = "; ".join(
        ", ".join(
            f"{k}={v!r}" for k, v in row.items() if k in ("sale_id", "sold_at", "product_id", "location_id", "quantity")
        )
        for row in sample
    )
    raise SaleLinesError(
        "sold_at",
        f"sales: {count:,} sale line(s) where {what}; no day can hold them, so their units would vanish from "
        f"demand. Fix or remove them. E.g. {shown}",
    )


_SALES_AGGREGATES = (
    "{sum} AS quantity, COUNT(*) AS sale_lines, {min} AS min_line_quantity, "
    "COUNT(*) - COUNT(src.quantity) AS null_quantity_lines"
)
LINE_FACTS = ("non_numeric_quantity_lines", "offset_day_lines", "duplicate_sale_id_lines")
"""Line-level counts of the aggregate that a source may not need counted: a column the statement does not
compute is added as zeros after the read (`_with_line_facts`), never sent 9 million times by the database."""


_SQLITE_OFFSET_DAY = "typeof(src.sold_at) = 'text' AND date(src.sold_at) IS NOT substr(src.sold_at, 1, 10)"
"""A SQLite text ``sold_at`` whose UTC day (``date()`` applies the offset) is not the day written: the window
is cut on the text, so such a line would be read with one day and counted on another."""


def _sales_aggregates(dialect: str, *, count_duplicates: bool, timestamps: bool = True) -> str:
    """The aggregate columns, with the line-level facts the sales check needs, in the same pass:

    * ``non_numeric_quantity_lines``: on SQLite, lines whose ``quantity`` is text or a blob (its dynamic
      typing lets text sit in a numeric column, and ``SUM`` would read ``'abc'`` as 0 without a word);
      not computed on the typed databases (0).
    * ``offset_day_lines``: on SQLite, lines whose text ``sold_at`` has a UTC offset that moves it to another
      day than the one written (``'2026-03-02T01:00:00+02:00'`` is 1 March in UTC); not computed (0) where
      timestamps are typed, nor by a day's fast aggregate (``timestamps`` False: its lines are bare dates).
    * ``duplicate_sale_id_lines``: lines repeating the ``sale_id`` of another line of the same day, product
      and location (lines loaded twice); not computed (0) when the database itself keeps ``sale_id`` unique
      (``count_duplicates`` False).

    On PostgreSQL the exact NUMERIC sum and least line are sent as DOUBLE PRECISION, on MariaDB/MySQL the
    exact DECIMAL ones as DOUBLE (``+ 0E0``): the value validation would make of the Decimal (each rounds the
    exact decimal once, correctly), without building millions of Decimal objects (docs/scaling-benchmarks.md)."""
    if dialect == "postgresql":
        columns = _SALES_AGGREGATES.format(
            sum="CAST(SUM(src.quantity) AS DOUBLE PRECISION)", min="CAST(MIN(src.quantity) AS DOUBLE PRECISION)"
        )
    elif dialect in ("mysql", "mariadb"):  # + 0E0 makes a DOUBLE on every version (CAST AS DOUBLE is newer)
        columns = _SALES_AGGREGATES.format(sum="SUM(src.quantity) + 0E0", min="MIN(src.quantity) + 0E0")
    else:
        columns = _SALES_AGGREGATES.format(sum="SUM(src.quantity)", min="MIN(src.quantity)")
    if dialect == "sqlite":
        columns += ", SUM(typeof(src.quantity) IN ('text', 'blob')) AS non_numeric_quantity_lines"
        if timestamps:
            columns += f", SUM({_SQLITE_OFFSET_DAY}) AS offset_day_lines"
    if count_duplicates:
        columns += ", COUNT(src.sale_id) - COUNT(DISTINCT src.sale_id) AS duplicate_sale_id_lines"
    return columns


def _with_line_facts(rows: SalesRows) -> SalesRows:
    """``rows`` with each of :data:`LINE_FACTS` its statement did not compute as zeros, in contract order."""
    frame = rows.frame
    for name in LINE_FACTS:
        if name not in frame.columns:
            frame.insert(spec.SALES.column_names.index(name), name, np.zeros(len(frame), dtype=np.int64))
    return rows


_IN_WINDOW = "src.sold_at >= :window_start AND src.sold_at < :window_end"


COLLATED_IDS = "collated_ids"
"""On MySQL/MariaDB, 1 on a group of the fast aggregate whose lines hold ids the collation compares equal but
whose bytes differ (``'P1'``, ``'p1'``, ``'P1 '`` under ``utf8mb4_general_ci``): the read is then made again
with the exact statement (`SalesRead.exact_statement`). Dropped from the frame once looked at."""

_MYSQL_DATE_TYPE_CODES = frozenset({10, 14})
"""The MySQL wire protocol's DATE and NEWDATE field types: a ``sold_at`` of one is its own day."""


def sales_statement(
    engine: sa.Engine,
    from_sql: str,
    columns: dict[str, object],
    *,
    count_duplicates: bool = True,
    exact_ids: bool = False,
) -> str:
    """Daily demand per (day, product, location) within ``[:window_start, :window_end)``, aggregated in SQL.

    ``columns``: the source's columns and the type codes its driver reports (`source_columns`).

    Ids are grouped exactly, as Python compares them. SQLite and PostgreSQL compare text exactly by
    default. On MariaDB/MySQL a table's collation may be case-insensitive and pad trailing spaces (``'P1'``,
    ``'p1'`` and ``'P1 '`` one group), and a group key that is no index's order makes the server build and
    sort a temporary table (10 minutes for the large preset's window: docs/scaling-benchmarks.md). So there
    the statement groups by the columns themselves (a DATE ``sold_at`` too, not a cast of it), which follows
    the contract's index ``ix_sales_day_product_location`` without a sort, and marks each group whose ids'
    bytes differ (:data:`COLLATED_IDS`); ``exact_ids`` gives the statement to read instead when one does,
    grouped by the ids' bytes (``CAST(... AS BINARY)``), each group's id the one its lines hold."""
    present = list(columns)
    lowered = {c.lower() for c in present}
    missing = [c for c in SALES_REQUIRED if c not in lowered]
    if missing:
        raise MissingColumnsError("sales", missing, present)
    day = _day_expression(engine, "src.sold_at")
    aggregates = _sales_aggregates(engine.dialect.name, count_duplicates=count_duplicates and "sale_id" in lowered)
    if is_mysql(engine.dialect):
        sold_at_type = next(t for name, t in columns.items() if name.lower() == "sold_at")
        if sold_at_type in _MYSQL_DATE_TYPE_CODES:
            day = "src.sold_at"
        if exact_ids:
            return (
                f"SELECT {day} AS sale_date, MIN(src.product_id) AS product_id, MIN(src.location_id) AS location_id, "
                f"{aggregates} FROM ({from_sql}) src WHERE {_IN_WINDOW} "
                f"GROUP BY {day}, CAST(src.product_id AS BINARY), CAST(src.location_id AS BINARY)"
            )
        differ = " OR ".join(
            f"MIN(CAST(src.{c} AS BINARY)) <> MAX(CAST(src.{c} AS BINARY))" for c in ("product_id", "location_id")
        )
        aggregates += f", {differ} AS {COLLATED_IDS}"
    return (
        f"SELECT {day} AS sale_date, src.product_id AS product_id, src.location_id AS location_id, "
        f"{aggregates} FROM ({from_sql}) src WHERE {_IN_WINDOW} "
        f"GROUP BY {day}, src.product_id, src.location_id"
    )


def _unique_sale_id(engine: sa.Engine, source: SourceSpec) -> bool:
    """Whether the database itself keeps ``sale_id`` unique in the source (a table or view name whose
    primary key or a unique constraint or index is ``sale_id`` alone): then no line can repeat one."""
    if source.query:
        return False
    schema, name = db.relation(engine, source.table_name or source.table)  # as `from_clause` found it
    inspector = sa.inspect(engine)
    try:
        keys: list[list[str | None]] = [
            list(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])
        ]
        keys += [list(u["column_names"]) for u in inspector.get_unique_constraints(name, schema=schema)]
        keys += [list(i["column_names"]) for i in inspector.get_indexes(name, schema=schema) if i.get("unique")]
    except NotImplementedError:  # a dialect that cannot list constraints: nothing known, so the lines are counted
        return False
    return any([(c or "").lower() for c in key] == ["sale_id"] for key in keys)


def day_statements(from_sql: str, *, count_duplicates: bool = True) -> tuple[str, str]:
    """(check, aggregate) of one day on SQLite whose every line holds exactly the day's date text.

    The check returns the least and the greatest ``sold_at`` of ``[:window_start, :window_end)``: two
    index seeks. When both are the day's bare date, every line of the day is (not a timestamp), so the
    day's lines are exactly those with ``sold_at = :day`` and ``date(sold_at)`` is ``:day`` on each: the
    aggregate groups by product and location only and the caller adds ``sale_date``. Both read only
    ``sold_at``, the ids and ``quantity``: with the contract's index on those columns
    (``ix_sales_day_product_location``) SQLite reads the day's groups in index order, never visiting the
    table and never sorting.
    """
    check = _sqlite_first_and_last(from_sql, _IN_WINDOW)
    aggregate = (
        f"SELECT src.product_id AS product_id, src.location_id AS location_id, "
        f"{_sales_aggregates('sqlite', count_duplicates=count_duplicates, timestamps=False)} "
        f"FROM ({from_sql}) src WHERE src.sold_at = :day GROUP BY src.product_id, src.location_id"
    )
    return check, aggregate


@dataclass(frozen=True)
class SalesRows:
    """Some days of the sales aggregate as read: the frame, and whether its rows are in key order (day,
    then product and location as Python orders text), which validation then trusts and does not sort."""

    frame: pd.DataFrame
    in_key_order: bool = False


@dataclass(frozen=True)
class SalesRead:
    """What every read of one sales source shares: the aggregate statement and the history window."""

    statement: str
    window: SalesWindow | None
    by_day: bool
    """Run the statement one day at a time (SQLite with the contract table; see `_read_sales_by_day`)."""
    source_sql: str
    """The source rows' SQL (the ``src`` subquery of the statement)."""
    count_duplicates: bool = True
    """Count lines repeating a ``sale_id`` (False when the source has none, or the database keeps it unique)."""
    exact_statement: str | None = None
    """MySQL/MariaDB: the aggregate grouped by the ids' bytes, read instead of ``statement`` when a group of
    that one holds ids its collation merged (:data:`COLLATED_IDS`, `sales_statement`); None elsewhere."""


def plan_sales_read(
    engine: sa.Engine, source: SourceSpec, history_days: int, *, timeout_seconds: float | None = None
) -> SalesRead:
    """The aggregate statement and the window: ``history_days`` ending at the latest sale day, clipped to
    the first (``window`` None when the source holds no rows). ``timeout_seconds``: every statement's
    timeout, where the dialect has one (a source table locked elsewhere fails the read, never hangs it)."""
    if history_days < 1:
        raise SourceQueryError("history_days must be at least 1")
    from_sql = source.from_clause(engine)
    columns = source_columns(engine, from_sql, timeout_seconds=timeout_seconds)
    _require_typed_sales_columns(engine, columns)
    duplicates = "sale_id" in {c.lower() for c in columns} and not _unique_sale_id(engine, source)
    statement = sales_statement(engine, from_sql, columns, count_duplicates=duplicates)
    exact = (
        sales_statement(engine, from_sql, columns, count_duplicates=duplicates, exact_ids=True)
        if is_mysql(engine.dialect)
        else None
    )
    days = sale_day_range(engine, from_sql, timeout_seconds=timeout_seconds)
    by_day = engine.dialect.name == "sqlite" and not source.query
    if days is None:
        return SalesRead(statement, None, by_day, from_sql, duplicates, exact)
    first, latest = days
    # The window ends at the latest sale day; it never starts before the first day the source holds,
    # so a short history is not diluted with days that were never recorded.
    window = SalesWindow(start=max(first, latest - dt.timedelta(days=history_days - 1)), end=latest)
    return SalesRead(statement, window, by_day, from_sql, duplicates, exact)


def split_window(window: SalesWindow, parts: int) -> list[SalesWindow]:
    """``window`` as at most ``parts`` consecutive day ranges of (nearly) equal length, in day order."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    n = min(parts, window.days)
    bounds = [round(i * window.days / n) for i in range(n + 1)]
    return [
        SalesWindow(window.start + dt.timedelta(days=lo), window.start + dt.timedelta(days=hi - 1))
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]


def empty_sales_frame() -> pd.DataFrame:
    """The sales frame of a window without sales: the contract's columns, no rows."""
    return pd.DataFrame(columns=spec.SALES.column_names)


def read_sales_days(
    engine: sa.Engine, read: SalesRead, days: SalesWindow, *, timeout_seconds: float | None = None
) -> SalesRows:
    """The aggregate over ``days`` (a part of ``read.window``). The parts of a window, concatenated in day
    order, are exactly the frame of the whole window: groups never span two days."""
    threads = min(SALES_READ_THREADS, available_cpus(), days.days)
    ranges = split_window(days, threads)
    if read.by_day:  # each day's rows carry every line fact already (`_read_day`)
        rows = _read_sales_by_day(engine, read, ranges, timeout_seconds)
    else:
        # A database server aggregates consecutive day ranges side by side, one per thread and connection
        # (the large window on PostgreSQL: 7.8 s in two ranges against 11.4-12.1 s in one statement).
        rows = _window_rows(
            list(thread_map(lambda part: _read_range(engine, read, part, timeout_seconds), ranges, len(ranges)))
        )
    # what the Arrow tables held before their conversion goes back to the system before the frame is
    # validated (the large window: the validation's peak 2.54 -> 2.34 GB in one process)
    return_freed_memory()
    return rows


def _read_range(engine: sa.Engine, read: SalesRead, days: SalesWindow, timeout_seconds: float | None) -> DayRows:
    """The aggregate statement over ``days`` (a database server), through the Arrow reader where it can be
    (`db.arrow_reader`: an Arrow table, converted with the other ranges by `_window_rows`), else through
    SQLAlchemy (a frame). On MySQL/MariaDB a range holding a group whose ids its collation merged is read
    again with the exact statement (:data:`COLLATED_IDS`). Its rows are in no promised order."""
    params = _days_params(engine, days.start, days.end)
    return _read_rows(engine, timeout_seconds, lambda fetch: _range_rows(read, params, fetch))


Fetch = Callable[[str, dict[str, Any]], Any]
"""A statement and its values to an Arrow table (`db.ArrowReader.table`) or a frame, None when it declines."""


def _read_rows(engine: sa.Engine, timeout_seconds: float | None, rows_of: Callable[[Fetch], DayRows | None]) -> DayRows:
    """``rows_of`` a fetch through the Arrow reader where there is one (`db.arrow_reader`: Arrow tables), else,
    or where that reader declines, through SQLAlchemy (frames): every statement of ``rows_of`` on one
    connection, in one transaction."""
    with db.arrow_reader(engine, timeout_seconds=timeout_seconds) as fast:
        if fast is not None:
            rows = rows_of(lambda sql, values: fast.table(sql, values, numeric=NUMERIC_COLUMNS))
            if rows is not None:
                return rows
    with db.read_only(engine, timeout_seconds=timeout_seconds) as conn:
        rows = rows_of(lambda sql, values: db.fetch_frame(conn, sql, values, share_text=False))
    assert rows is not None, "SQLAlchemy's reads always give a frame"
    return rows


def _range_rows(read: SalesRead, params: dict[str, Any], fetch: Fetch) -> DayRows | None:
    """`_read_range` through ``fetch``."""
    rows = fetch(read.statement, params)
    if rows is not None and read.exact_statement is not None:
        if isinstance(rows, pd.DataFrame):
            collated = bool(rows.pop(COLLATED_IDS).eq(1).any())
        else:
            import pyarrow.compute as pc

            collated = bool(pc.any(pc.equal(rows.column(COLLATED_IDS), 1)).as_py())
            rows = rows.drop_columns([COLLATED_IDS])
        if collated:
            rows = fetch(read.exact_statement, params)
    return None if rows is None else DayRows(_day_line_facts(rows), in_key_order=False)


def _read_statement(
    engine: sa.Engine, statement: str, params: dict[str, Any] | None, timeout_seconds: float | None
) -> pd.DataFrame:
    """The rows of one source statement (`db.read_frame_fast`: Arrow where it can, else SQLAlchemy)."""
    return db.read_frame_fast(
        engine, statement, params, timeout_seconds=timeout_seconds, numeric=NUMERIC_COLUMNS, share_text=ID_COLUMNS
    )


@dataclass(frozen=True)
class SalesResult:
    """A whole window read at once: the rows and the window (None when the source holds no sales)."""

    rows: SalesRows
    window: SalesWindow | None

    @property
    def frame(self) -> pd.DataFrame:
        return self.rows.frame


def read_sales(
    engine: sa.Engine, source: SourceSpec, history_days: int, *, timeout_seconds: float | None = None
) -> SalesResult:
    """The daily demand of the whole window in one read (`plan_sales_read` + `read_sales_days`)."""
    read = plan_sales_read(engine, source, history_days, timeout_seconds=timeout_seconds)
    if read.window is None:
        return SalesResult(SalesRows(empty_sales_frame()), None)
    return SalesResult(read_sales_days(engine, read, read.window, timeout_seconds=timeout_seconds), read.window)


SALES_READ_THREADS = 4
"""At most this many threads read the days of a sales window side by side (one per CPU below that):
ADBC's drivers and ConnectorX run the statement and build the Arrow columns without the GIL, and a
database server aggregates each range in a process of its own."""


def _days_params(engine: sa.Engine, first: dt.date, last: dt.date) -> dict[str, object]:
    """The bound window of the aggregate statement: ``first`` .. ``last`` inclusive."""
    return {"window_start": _bind_day(engine, first), "window_end": _bind_day(engine, last + dt.timedelta(days=1))}


@dataclass(frozen=True)
class DayRows:
    """One day of the by-day aggregate as read: an Arrow table (`db.ArrowReader.table`, converted once with
    the window's other days: `_window_rows`) or a frame (SQLAlchemy), and whether it is in key order."""

    rows: Any
    in_key_order: bool


def read_days(engine: sa.Engine, read: SalesRead, days: list[dt.date], timeout_seconds: float | None) -> list[DayRows]:
    """The by-day aggregate over ``days``, one day at a time, in this process."""
    return [_read_day(engine, read, day, timeout_seconds) for day in days]


def _read_day(engine: sa.Engine, read: SalesRead, day: dt.date, timeout_seconds: float | None) -> DayRows:
    """One day of the aggregate: `day_statements` when every line holds the day's date, else the statement.

    The fast aggregate's rows are the statement's: only ``sale_date`` is added, the day's ISO text as SQLite
    returns it. SQLite returns the groups in index or sort order; when that is the order Python sorts the
    ids in, the rows are marked in key order (`_in_python_order`). The day is read through ADBC's Arrow
    reader where it can be (`db.arrow_reader`), as an Arrow table, else, or where that reader declines,
    through SQLAlchemy as a frame: the same rows either way, both statements in one transaction.
    """
    params = _days_params(engine, day, day)
    return _read_rows(engine, timeout_seconds, lambda fetch: _day_rows(read, day, params, fetch))


def _day_rows(read: SalesRead, day: dt.date, params: dict[str, Any], fetch: Fetch) -> DayRows | None:
    """`_read_day` through ``fetch``."""
    check, aggregate = day_statements(read.source_sql, count_duplicates=read.count_duplicates)
    bounds = fetch(check, params)
    if bounds is None:
        return None
    first, last = (_cell(bounds, column) for column in (0, 1))
    if not first == last == day.isoformat():  # a timestamp, or no line that day: the statement
        rows = fetch(read.statement, params)
        return None if rows is None else DayRows(_day_line_facts(rows), in_key_order=False)
    rows = fetch(aggregate, {"day": day.isoformat()})
    if rows is None:
        return None
    # both kinds of day with the same columns, so that days of both concatenate without NaN
    rows = _day_line_facts(_with_day(rows, day))
    return DayRows(rows, _in_python_order(rows["product_id"], rows["location_id"]))


def _cell(rows: Any, column: int) -> Any:
    """The first row's value in ``column`` of an Arrow table or a frame."""
    if isinstance(rows, pd.DataFrame):
        return rows.iloc[0, column]
    return rows.column(column)[0].as_py()


def _with_day(rows: Any, day: dt.date) -> Any:
    """The fast aggregate's rows with ``sale_date`` first: the day's ISO text on every row."""
    if isinstance(rows, pd.DataFrame):
        rows.insert(0, "sale_date", pd.Series([day.isoformat()] * len(rows)))  # the day has lines: text dtype
        return rows
    import pyarrow as pa

    return rows.add_column(0, "sale_date", pa.repeat(pa.scalar(day.isoformat(), rows.schema.field(0).type), len(rows)))


def _day_line_facts(rows: Any) -> Any:
    """A day's rows with each of :data:`LINE_FACTS` its statement did not compute as zeros (`_with_line_facts`)."""
    if isinstance(rows, pd.DataFrame):
        return _with_line_facts(SalesRows(rows)).frame
    import pyarrow as pa

    for name in LINE_FACTS:
        if name not in rows.column_names:
            rows = rows.add_column(
                spec.SALES.column_names.index(name), name, pa.repeat(pa.scalar(0, pa.int64()), len(rows))
            )
    return rows


def _in_python_order(first: Any, second: Any) -> bool:
    """Whether the rows are sorted by (``first``, ``second``) as pandas sorts text: all text, none missing
    (pandas puts missing values last, SQLite first), each pair not above the next one. The columns are
    pandas Series or Arrow columns; Arrow compares UTF-8 bytes, whose order is Python's code point order."""
    if len(first) == 0:
        return True
    if isinstance(first, pd.Series):
        if not all(isinstance(s.dtype, pd.StringDtype) and not s.isna().any() for s in (first, second)):
            return False
        a, b = first.to_numpy(dtype=object), second.to_numpy(dtype=object)
        return bool(((a[:-1] < a[1:]) | ((a[:-1] == a[1:]) & (b[:-1] <= b[1:]))).all())
    import pyarrow as pa
    import pyarrow.compute as pc

    if not all(
        (pa.types.is_string(c.type) or pa.types.is_large_string(c.type)) and not c.null_count for c in (first, second)
    ):
        return False
    a0, a1, b0, b1 = first[:-1], first[1:], second[:-1], second[1:]
    ordered = pc.or_(pc.less(a0, a1), pc.and_(pc.equal(a0, a1), pc.less_equal(b0, b1)))
    return bool(pc.all(ordered, min_count=0).as_py())


def _window_rows(days: list[DayRows]) -> SalesRows:
    """The days' rows in day order as one frame, in key order if each day is.

    Days read as Arrow tables of one schema, none with a column all NULL unless it is on every day, are
    concatenated as Arrow and converted once (`db.arrow_frame`): the frame a conversion per day and
    ``pd.concat`` would give, built once and in one block per dtype, without a copy per day. Otherwise
    each day becomes a frame and the frames are concatenated, each distinct id one shared object."""
    non_empty = [d for d in days if len(d.rows)]
    if not non_empty:
        return SalesRows(_day_frame(days[0].rows))
    in_key_order = all(d.in_key_order for d in non_empty)
    tables = [d.rows for d in non_empty]
    if not any(isinstance(t, pd.DataFrame) for t in tables) and _one_schema(tables):
        import pyarrow as pa

        return SalesRows(db.arrow_frame(pa.concat_tables(tables)), in_key_order)
    frames = [_day_frame(t) for t in tables]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return SalesRows(db.share_repeated_text(frame, ID_COLUMNS), in_key_order)


def _one_schema(tables: list[Any]) -> bool:
    """Whether the Arrow tables have one schema and every column NULL on all rows of a table is so on all."""
    schema = tables[0].schema
    return all(t.schema.equals(schema) for t in tables) and all(
        len({t.column(i).null_count == len(t) for t in tables}) == 1 for i in range(len(schema))
    )


def _day_frame(rows: Any) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else db.arrow_frame(rows)


def _read_sales_by_day(
    engine: sa.Engine, read: SalesRead, runs: list[SalesWindow], timeout_seconds: float | None
) -> SalesRows:
    """The same aggregate as one query over the window, run one day at a time (SQLite only).

    SQLite's GROUP BY sorts every sale line of the window at once; past a few million lines the sorter
    spills (docs/scaling-benchmarks.md). A day's lines sort in memory, and the groups never
    span two days (the day is part of the key). A day whose lines all hold its date (no timestamps) is
    read with `day_statements`: no ``date()`` per line, and with the contract's covering index no sort
    at all (`_read_day`). The window comes cut into consecutive runs of days (``runs``), one per thread
    (up to `SALES_READ_THREADS`, one per CPU: `read_sales_days`), each day on its own connection: ADBC's
    driver releases the GIL while SQLite works, so two threads read the large window in 0.56 of one
    thread's time, and in 0.66 of the time two worker processes took, which pickled their rows back
    (docs/scaling-benchmarks.md). The
    days' Arrow tables are converted to one frame at the end (`_window_rows`): the rows, their order and
    the dtypes are those of the single query.
    """

    def days_of(run: SalesWindow) -> list[DayRows]:
        return read_days(engine, read, [run.start + dt.timedelta(days=i) for i in range(run.days)], timeout_seconds)

    return _window_rows([day for run in thread_map(days_of, runs, len(runs)) for day in run])


def read_table(engine: sa.Engine, source: SourceSpec, *, timeout_seconds: float | None = None) -> pd.DataFrame:
    """The contract columns of a non-sales source table (through an Arrow reader where it can, the same
    frame as through SQLAlchemy: `db.arrow_reader`)."""
    from_sql = source.from_clause(engine)
    present = list(source_columns(engine, from_sql, timeout_seconds=timeout_seconds))
    return _read_statement(engine, table_statement(source.table, present, from_sql), None, timeout_seconds)
