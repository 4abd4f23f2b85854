"""Database access shared by the resources, the demo generator and the plan writer.

Plain SQLAlchemy 2, no Dagster: engines with ``pool_pre_ping`` and ``hide_parameters``, URLs masked
wherever they are shown, reads in transactions that cannot write (`read_only`), and a retry that repeats
only faults that can pass (a dropped connection, a restarting server), never a permanent one (bad SQL, a
missing table, a constraint violation).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from inventory_assets.contract.classes import ID_LENGTH, is_mysql

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"

CLOUD_URL_VAR = "INVENTORY_CLOUD_DB_URL"
ONPREM_URL_VAR = "INVENTORY_ONPREM_DB_URL"
PLAN_URL_VAR = "INVENTORY_PLAN_DB_URL"

DEFAULT_URLS: dict[str, str] = {
    CLOUD_URL_VAR: f"sqlite:///{DATA_DIR / 'cloud.db'}",
    ONPREM_URL_VAR: f"sqlite:///{DATA_DIR / 'onprem.db'}",
    PLAN_URL_VAR: f"sqlite:///{DATA_DIR / 'plan.db'}",
}

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 10
"""Seconds to wait for a connection unless told otherwise (`make_engine`, PostgreSQL's Arrow reader)."""

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][\w+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)")
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)
"""Names of URL query parameters (and ``key=value`` settings in messages) whose values are secrets:
``password``, ``sslpassword``, ``passwd``, ``pwd``, ``client_secret``, ``token``, ..."""
_SECRET_SETTING = re.compile(
    r"(?P<head>\b[\w.\-]*(?:pass|pwd|secret|token|credential)[\w.\-]*\s*[=:]\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^&\s,;)]+)",
    re.IGNORECASE,
)


def url_from_env(var: str, environ: Mapping[str, str] | None = None) -> str:
    """The URL in environment variable ``var``, or its embedded SQLite default when unset or empty."""
    import os

    env = os.environ if environ is None else environ
    return env.get(var) or DEFAULT_URLS[var]


def _mask_text(text: str) -> str:
    """Any ``user:password@`` of a URL and any ``password=...``-like setting in ``text`` masked."""
    out = _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", str(text))
    return _SECRET_SETTING.sub(r"\g<head>***", out)


def _secrets(url: str | sa.URL) -> list[str]:
    """The secret values a URL carries: its password and every secret-named query parameter."""
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    except Exception:
        return []
    found = [str(parsed.password)] if parsed.password else []
    for name, value in parsed.query.items():
        for v in value if isinstance(value, tuple) else (value,):
            if _SECRET_NAME.search(name) and v:
                found.append(str(v))
            else:
                found.extend(m.group("value").strip("'\"") for m in _SECRET_SETTING.finditer(str(v)))
    return [f for f in found if f]


def mask_url(url: str | sa.URL) -> str:
    """``url`` with its password and every secret-named query parameter (``password``, ``sslpassword``,
    ``token``, ...) replaced by ``***``; never raises, also for text that is no URL."""
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    except Exception:  # not parseable: mask anything that looks like a secret
        return _mask_text(str(url))
    hidden: dict[str, str | tuple[str, ...]] = {}
    for name, value in parsed.query.items():
        values = value if isinstance(value, tuple) else (value,)
        masked = tuple("***" if _SECRET_NAME.search(name) else _mask_text(v) for v in values)
        if masked != values:  # a secret parameter, or a connection string holding one (odbc_connect)
            hidden[name] = masked if isinstance(value, tuple) else masked[0]
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def scrub(text: str, url: str | sa.URL | None = None) -> str:
    """``text`` with the secrets of ``url`` (its password, its secret query parameters), any
    ``user:password@`` of a URL and any ``password=...``-like setting masked."""
    out = _mask_text(str(text))
    if url is not None:
        for secret in sorted(_secrets(url), key=len, reverse=True):
            out = out.replace(secret, "***")
    return out


def dialect_name(url: str | sa.URL) -> str:
    """``sqlite``, ``postgresql``, ``mysql``/``mariadb``... for a URL."""
    return sa.make_url(url).get_backend_name()


def _prepare_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        # 4-byte Unicode ids (emoji, rare CJK) need utf8mb4 on the connection.
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _connect_args(url: sa.URL, connect_timeout: int) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return {"connect_timeout": connect_timeout}
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": connect_timeout}
    if backend == "sqlite":
        return {"timeout": max(connect_timeout, SQLITE_BUSY_TIMEOUT_SECONDS)}
    return {}


SQLITE_BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite connection waits for another's write lock before "database is locked" (transient)."""


@functools.lru_cache(maxsize=32)
def make_engine(url: str, connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> sa.Engine:
    """A pooled engine for ``url`` (cached per process).

    ``pool_pre_ping`` replaces connections the server dropped, ``hide_parameters`` keeps bound values
    out of error texts and logs. MySQL/MariaDB connections use ``utf8mb4``.
    """
    parsed = _prepare_url(url)
    engine = sa.create_engine(
        parsed,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args=_connect_args(parsed, connect_timeout),
    )
    if parsed.get_backend_name() == "sqlite":
        _enable_sqlite_transactions(engine)
    return engine


def _enable_sqlite_transactions(engine: sa.Engine) -> None:
    """SQLAlchemy's recipe so that pysqlite's BEGIN covers DDL too (one transaction, all or nothing)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


# --- errors ------------------------------------------------------------------------------------------


class DatabaseError(RuntimeError):
    """A database operation failed; the message carries no password and no bound value."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


_TRANSIENT_CODES = {
    # MySQL/MariaDB: server gone away, lost connection, can't connect, lock wait, deadlock, shutdown
    2002,
    2003,
    2006,
    2013,
    1205,
    1213,
    1053,
    1927,
}
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "57P", "53")  # connection, rollback/serialization, shutdown, resources
_TRANSIENT_TEXT = (
    "server closed the connection",
    "connection refused",
    "could not connect",
    "terminating connection",
    "connection reset",
    "connection timed out",
    "lost connection",
    "server has gone away",
    "database is locked",
    "the database system is starting up",
    "the database system is shutting down",
    "connection is closed",
)


def is_transient(error: BaseException) -> bool:
    """True for faults that can pass on their own: a dropped or refused connection, a deadlock, a lock."""
    if isinstance(error, DatabaseError):
        return error.transient
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        orig = error.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return True
        args = getattr(orig, "args", ())
        if args and isinstance(args[0], int) and args[0] in _TRANSIENT_CODES:
            return True
        if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            text = str(orig).lower()
            return any(t in text for t in _TRANSIENT_TEXT)
        return False
    if isinstance(error, sa_exc.TimeoutError):  # pool exhausted
        return True
    return isinstance(error, (ConnectionError, TimeoutError))


def describe_error(error: BaseException, url: str | sa.URL | None = None) -> str:
    """A one-line description of a database error without password or bound values."""
    if isinstance(error, sa_exc.DBAPIError):
        # str(error) holds the SQL and "[SQL parameters hidden ...]"; keep the driver's first line.
        text = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
        text = f"{type(error.orig).__name__}: {text}"
    else:
        text = f"{type(error).__name__}: {error}"
    return scrub(text, url)


def retry(
    fn: Callable[[], T],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    what: str = "database operation",
    url: str | sa.URL | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn``; repeat it after a transient fault with exponential backoff (0.5 s, 1 s, 2 s, ...).

    A permanent error, or the last transient one, raises :class:`DatabaseError` with a masked message.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as error:
            if not isinstance(error, (sa_exc.SQLAlchemyError, ConnectionError, TimeoutError, DatabaseError)):
                raise
            transient = is_transient(error)
            message = f"{what} failed on {mask_url(url) if url else 'the database'}: {describe_error(error, url)}"
            if not transient or attempt == attempts:
                suffix = f" (after {attempt} attempts)" if transient else ""
                raise DatabaseError(message + suffix, transient=transient) from None
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            log.warning("%s; retrying in %.1f s (attempt %d of %d)", message, delay, attempt + 1, attempts)
            sleep(delay)
    raise AssertionError("unreachable")


# --- reading -----------------------------------------------------------------------------------------


@contextmanager
def read_only(engine: sa.Engine, *, timeout_seconds: float | None = None) -> Iterator[sa.Connection]:
    """A connection whose transaction cannot change the database: every read of a source runs in one.

    * PostgreSQL: ``SET TRANSACTION READ ONLY``, and with psycopg 3 every statement goes through the
      extended query protocol, which runs exactly one statement: psycopg sends a statement without bound
      values through the simple protocol, which runs every statement of the text, a COMMIT included
      (`_extended_query_cursor`).
    * MariaDB/MySQL: ``SET SESSION TRANSACTION READ ONLY``, then ``START TRANSACTION READ ONLY``; the
      session is set back to READ WRITE after the rollback (it cannot be inside a read-only transaction),
      or the connection is discarded. The session setting is needed because a DDL statement commits the
      transaction it is in and then runs: in a read-only transaction alone MariaDB runs ``CREATE TABLE``,
      in a read-only session it refuses it. PyMySQL sends one statement per call (the server refuses a
      second one unless the URL asks for multi-statements).
    * SQLite: ``PRAGMA query_only`` on the connection, switched off again before the pooled connection is
      handed back (the same engine may write elsewhere: the demo writer, the plan store on one file); a
      connection that cannot be switched back is discarded. sqlite3 runs one statement per call.
    * Other dialects: an ordinary transaction.

    One calendar day, whatever the server's or the connection's own time zone: a timestamp with a time zone
    (PostgreSQL ``timestamptz``, MariaDB/MySQL ``TIMESTAMP``) counts on its **UTC** day; a date, or a
    timestamp without a zone, on the day it is written. So the read sets the session's time zone to UTC
    (PostgreSQL ``SET LOCAL TIME ZONE``, MariaDB ``time_zone``, set back afterwards). SQLite keeps text:
    store dates or timestamps without an offset there (docs/reliability.md).

    The transaction is always rolled back. ``timeout_seconds``: the statement timeout where the dialect
    has one. Read-only does not stand in for a read-only database role; it makes sure that nothing the
    project sends while reading a source writes, whatever the user's query or table holds.
    """
    with engine.connect() as conn:
        if timeout_seconds:
            _set_statement_timeout(conn, timeout_seconds)
        undo = _read_only_connection(conn)
        try:
            backend = conn.dialect.name
            if backend == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            elif backend in ("mysql", "mariadb"):
                conn.exec_driver_sql("START TRANSACTION READ ONLY")
            yield conn
        finally:
            undo()


def _read_only_connection(conn: sa.Connection) -> Callable[[], None]:
    """What `read_only` sets on the driver's connection (outliving the transaction), and its undoing."""
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name in ("sqlite", "mysql", "mariadb"):
        sqlite = conn.dialect.name == "sqlite"
        zone = None if sqlite else _session_time_zone(raw)
        _raw_execute(raw, "PRAGMA query_only = ON" if sqlite else "SET SESSION TRANSACTION READ ONLY")
        if not sqlite:
            _raw_execute(raw, "SET time_zone = '+00:00'")

        def writable_again() -> None:
            if conn.invalidated:
                return
            try:
                if sqlite:
                    _raw_execute(raw, "PRAGMA query_only = OFF")
                else:
                    conn.rollback()
                    _raw_execute(raw, "SET SESSION TRANSACTION READ WRITE")
                    _raw_execute(raw, "SET time_zone = %s", (zone,))
            except Exception:  # never hand a read-only connection back to the pool
                conn.invalidate()

        return writable_again
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        saved = raw.cursor_factory
        raw.cursor_factory = _extended_query_cursor(saved)

        def restore() -> None:
            raw.cursor_factory = saved

        return restore
    return lambda: None


def _session_time_zone(raw: Any) -> str:
    """The MariaDB/MySQL session's ``time_zone`` (``SYSTEM``, ``+02:00``, a zone name)."""
    return str(_raw_execute(raw, "SELECT @@session.time_zone")[0])


def _raw_execute(raw: Any, statement: str, params: tuple[Any, ...] | None = None) -> Any:
    """``statement`` on the driver's connection ``raw``; its first row, or None."""
    cursor = raw.cursor()
    try:
        if params is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, params)
        return cursor.fetchone() if cursor.description else None
    finally:
        cursor.close()


@functools.cache
def _extended_query_cursor(base: Any) -> Any:
    """``base`` (a psycopg 3 cursor class) sending every statement through the extended query protocol.

    psycopg has no public switch: it sends a statement with bound values through the extended protocol and
    one without through the simple protocol, so that a text of several statements runs whole. Its own
    ``Cursor.stream()`` and server-side cursors pass ``force_extended``, which this cursor always passes.
    A test sends ``SELECT 1; DROP TABLE ...`` without values and expects the server to refuse it
    (inventory_assets_tests/io/test_read_only_sources.py), so a psycopg that changed this fails there.
    """

    class ExtendedQueryCursor(base):
        def _execute_send(self, query: Any, *, force_extended: bool = False, binary: bool | None = None) -> None:
            super()._execute_send(query, force_extended=True, binary=binary)

    return ExtendedQueryCursor


def read_frame(
    engine: sa.Engine,
    statement: str | sa.Executable,
    params: Mapping[str, Any] | None = None,
    *,
    timeout_seconds: float | None = None,
    share_text: bool | Collection[str] = True,
) -> pd.DataFrame:
    """Run one SELECT in a read-only transaction of its own (`read_only`) and return its rows as a
    DataFrame (values bound, never formatted into SQL; the rest as `fetch_frame`)."""
    with read_only(engine, timeout_seconds=timeout_seconds) as conn:
        columns, rows = _fetch_rows(conn, statement, params)
    return _frame(columns, rows, share_text)  # built once the connection is back in the pool


def read_frame_fast(
    engine: sa.Engine,
    statement: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout_seconds: float | None = None,
    numeric: Collection[str] = (),
    share_text: bool | Collection[str] = True,
) -> pd.DataFrame:
    """`read_frame`'s rows of one SELECT, through an Arrow reader where it can (`arrow_reader`: ADBC, or
    ConnectorX on MariaDB/MySQL); else, or where that reader declines (`ArrowReader.frame`), through
    SQLAlchemy (`read_frame`), whose frame stays the reference. ``numeric``: the columns that may arrive as
    NUMERIC or DECIMAL (`ArrowReader.frame`)."""
    with arrow_reader(engine, timeout_seconds=timeout_seconds) as fast:
        frame = None if fast is None else fast.frame(statement, params, numeric=numeric)
    if frame is not None:
        return frame
    return read_frame(engine, statement, params, timeout_seconds=timeout_seconds, share_text=share_text)


def fetch_frame(
    conn: sa.Connection,
    statement: str | sa.Executable,
    params: Mapping[str, Any] | None = None,
    *,
    share_text: bool | Collection[str] = True,
) -> pd.DataFrame:
    """Run one SELECT on ``conn`` and return its rows as a DataFrame (values bound, never formatted into SQL).

    ``share_text``: equal text values become one object (`share_repeated_text`): in every text column
    (True), in the named columns only, or nowhere (False; a caller that concatenates many reads does it
    once on the whole).
    """
    return _frame(*_fetch_rows(conn, statement, params), share_text)


def _fetch_rows(
    conn: sa.Connection, statement: str | sa.Executable, params: Mapping[str, Any] | None
) -> tuple[list[str], list[Any]]:
    """The column names and the rows of one statement.

    For a text statement the rows are the driver's plain tuples: a ``text()`` statement has no result
    processors, so they hold exactly the values SQLAlchemy's ``Row`` objects would, and
    ``DataFrame.from_records`` on ``Row`` objects is slow (it probes each row with ``hasattr``, which
    raises and catches inside SQLAlchemy; docs/scaling-benchmarks.md).
    """
    is_text = isinstance(statement, str)
    stmt = sa.text(statement) if isinstance(statement, str) else statement
    result = conn.execute(stmt, dict(params or {}))
    columns = list(result.keys())
    cursor = getattr(result, "cursor", None) if is_text else None
    if cursor is None:
        return columns, [tuple(row) for row in result.fetchall()]
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        return columns, cursor.fetchall()
    except dbapi_error as error:  # raised as SQLAlchemy would (SQLite steps lazily while fetching)
        raise sa_exc.DBAPIError.instance(
            str(statement), params, error, dbapi_error, hide_parameters=True, dialect=conn.dialect
        ) from error
    finally:
        result.close()


def _frame(columns: list[str], rows: list[Any], share_text: bool | Collection[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if share_text is False:
        return frame
    return share_repeated_text(frame, None if share_text is True else share_text)


def share_repeated_text(frame: pd.DataFrame, columns: Collection[str] | None = None) -> pd.DataFrame:
    """``frame`` with each text column's equal values made one shared object (same values, same dtype).

    A driver returns a new string object for every row, so a million rows of one product id are a million
    strings. Shared, they take the memory of one, and pickling (how step outputs are stored between
    steps) writes each distinct value once: about 4x faster for id columns (docs/scaling-benchmarks.md).
    Sharing costs about 0.25 s per million values, so ``columns`` can limit it to the columns that stay
    text downstream (ids, not dates that validation parses anyway); None: every text column.

    A text column is factorized and taken back (its first occurrences, missing values as its dtype's):
    no Python loop and no second pass checking that every value is text (docs/scaling-benchmarks.md).
    Arrow-backed text (pandas' ``str`` with pyarrow installed, a dependency) holds no Python objects to
    share (its characters sit in one buffer) and is left as it is.
    """
    for position, (name, dtype) in enumerate(zip(frame.columns, frame.dtypes, strict=True)):
        if not (pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)):
            continue
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            continue
        if columns is not None and name not in columns:
            continue
        if isinstance(dtype, pd.StringDtype):
            codes, uniques = frame.iloc[:, position].array.factorize()
            frame.isetitem(position, pd.Series(uniques.take(codes, allow_fill=True), index=frame.index))
            continue
        values = frame.iloc[:, position].to_numpy(dtype=object)  # mixed values: missing ones kept as they are
        shared: dict[Any, Any] = {}
        try:
            deduplicated = [shared.setdefault(v, v) for v in values]
        except TypeError:  # an unhashable value: leave the column as it is
            continue
        frame.isetitem(position, pd.Series(pd.array(deduplicated, dtype=dtype), index=frame.index))
    return frame


class ArrowReader:
    """SELECTs on one source database through an ADBC driver or ConnectorX (`arrow_reader`): rows arrive as
    Arrow columns, never as a Python tuple per row, and the frame is built from them (no object per value).

    The connection cannot write. Through ADBC its statements share one read transaction, rolled back at the
    end, so they see the same snapshot; through ConnectorX (MariaDB/MySQL) each statement is a read of its
    own (`_ConnectorXConnection`). :meth:`frame` gives None where the fast path would not give what
    `read_frame` gives: a driver error (SQLite's driver infers a column's type from its first rows and
    refuses a later value of another type; on PostgreSQL and MariaDB any error, whose read through
    SQLAlchemy then gives the reference error and its retries, but a statement timeout, which fails the read
    at once as a permanent :class:`DatabaseError`), a column of a type the reader does not convert, a
    ``numeric`` column that arrived as text, or a value ConnectorX cannot take. The caller then reads the
    same statement through SQLAlchemy.

    The frame is `read_frame`'s with two differences that validation erases: a NUMERIC (PostgreSQL) or
    DECIMAL (MariaDB/MySQL) column named in ``numeric`` arrives as float64, the value validation makes of
    the driver's Decimal (both round the decimal text once, to the nearest double; ConnectorX keeps 10
    decimals); and on MariaDB/MySQL the rows come in no particular order (the statement runs as a subquery,
    whose ORDER BY MariaDB drops: `_compiled`).
    """

    def __init__(self, engine: sa.Engine, connection: Any) -> None:
        self.engine = engine
        self.connection = connection
        self.backend = "mysql" if is_mysql(engine.dialect) else engine.dialect.name

    def frame(
        self, statement: str, params: Mapping[str, Any] | None = None, *, numeric: Collection[str] = ()
    ) -> pd.DataFrame | None:
        """The rows of ``statement`` (named ``:parameters`` bound, never formatted into SQL, but for
        PostgreSQL's days: `_compiled`), or None."""
        table = self.table(statement, params, numeric=numeric)
        return None if table is None else arrow_frame(table)

    def table(self, statement: str, params: Mapping[str, Any] | None = None, *, numeric: Collection[str] = ()) -> Any:
        """`frame`'s rows as the Arrow table `arrow_frame` converts (each column already of the type that
        converts to `read_frame`'s column: `_arrow_column`), or None. Tables of one statement's reads
        concatenate, and one conversion of the whole costs less than a frame per read concatenated."""
        import pyarrow as pa

        compiled = self._compiled(statement, params or {})
        if compiled is None:
            return None
        sql, values = compiled
        try:
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql, values or None)
                table = cursor.fetch_arrow_table()
            finally:
                cursor.close()
        except _adbc_error() as error:
            if getattr(error, "sqlstate", None) == _QUERY_CANCELED:  # the statement timeout: failing twice helps no one
                first_line = scrub(str(error).splitlines()[0], self.engine.url)
                raise DatabaseError(
                    f"the read on {mask_url(self.engine.url)} was cancelled: {first_line}", transient=False
                ) from None
            return None
        except (OSError, pa.ArrowException, _ConnectorXFailure):
            return None
        if table.num_rows == 0:
            return table
        columns = [
            _arrow_column(column, numeric=name in numeric)
            for name, column in zip(table.column_names, table.columns, strict=True)
        ]
        if any(column is None for column in columns):
            return None
        return pa.table(columns, names=table.column_names)

    def _compiled(self, statement: str, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
        """The driver's SQL text of ``statement`` and its values in order, or None where the driver cannot
        take a value.

        SQLite binds every value (``?``). PostgreSQL's driver reads a statement without values through
        ``COPY (...) TO STDOUT``, streamed in binary, and one with values through a prepared statement whose
        whole result libpq holds in memory (at the large preset 2.9 GB and 23-26 s against 1.2 GB and
        17-18 s). So a value that is a ``datetime.date`` (the sales window's days, never a user's value) is
        written into the statement by SQLAlchemy's literal rendering, as the text ``'YYYY-MM-DD'``, which
        PostgreSQL reads as the date, or the timestamp at its midnight, that the bound date would be
        compared as; any other value stays bound (``$1``). ConnectorX (MariaDB/MySQL) binds nothing: the
        days are written in the same way, and a statement with any other value is declined. On PostgreSQL and
        MariaDB/MySQL the statement runs as a subquery (``SELECT * FROM (...)``), so that only a query can run."""
        if self.backend == "sqlite":
            compiled = sa.text(statement).compile(dialect=self.engine.dialect)
            return compiled.string, tuple(params[name] for name in compiled.positiontup or ())
        from sqlalchemy.dialects import mysql, postgresql

        text = sa.text(statement)
        if params:
            if self.backend == "mysql" and any(type(value) is not dt.date for value in params.values()):
                return None
            text = text.bindparams(
                *(
                    sa.bindparam(name, value, type_=sa.Date, literal_execute=True)
                    if type(value) is dt.date
                    else sa.bindparam(name, value)
                    for name, value in params.items()
                )
            )
        # named (MySQL) and numeric_dollar (PostgreSQL) leave a '%' in the text as it is
        dialect = (
            mysql.dialect(paramstyle="named")
            if self.backend == "mysql"
            else postgresql.dialect(paramstyle="numeric_dollar")
        )
        compiled = text.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        # A subquery can only be a query: no COMMIT, SET or write can run through this connection, whatever
        # the reader is handed (a session setting changed by a function in a SELECT ends with the transaction).
        return f"SELECT * FROM ({compiled.string}) AS arrow_read", tuple(
            params[name] for name in compiled.positiontup or ()
        )


_QUERY_CANCELED = "57014"
"""PostgreSQL's SQLSTATE of a statement cancelled by ``statement_timeout``."""


def arrow_frame(table: Any) -> pd.DataFrame:
    """The frame of an `ArrowReader.table` (or of several concatenated), as `read_frame` builds it from the
    driver's tuples; no rows: `read_frame`'s empty frame."""
    if table.num_rows == 0:
        return _frame(table.column_names, [], False)
    return table.to_pandas()


def _arrow_column(column: Any, *, numeric: bool) -> Any | None:
    """One Arrow column as the Arrow column whose pandas conversion is `read_frame`'s column, or None for a
    type `read_frame` would build otherwise: text, 64-bit integers and floats as they are; smaller integers
    widened to int64 (float64 with NaN where one is NULL, as for tuples); dates as they are (``datetime.date``
    objects in pandas); PostgreSQL's NUMERIC and ConnectorX's decimal128 as float64 where ``numeric`` (else
    None); an all-NULL column as Arrow's null type (``None`` objects; SQLite's driver types it int64)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if column.null_count == len(column):
        return pa.nulls(len(column))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return None if numeric else column  # text where numbers belong: SQLAlchemy's read says how
    if pa.types.is_int64(kind) or pa.types.is_float64(kind) or pa.types.is_date32(kind):
        return column
    if pa.types.is_int8(kind) or pa.types.is_int16(kind) or pa.types.is_int32(kind):
        return pc.cast(column, pa.int64())
    if isinstance(kind, pa.OpaqueType) and kind.type_name == "numeric" and kind.vendor_name == "PostgreSQL":
        if not numeric:
            return None
        return pc.cast(pa.chunked_array([c.storage for c in column.chunks], kind.storage_type), pa.float64())
    if pa.types.is_decimal(kind):  # ConnectorX's DECIMAL; its text parsed as float() parses the Decimal's
        return pc.cast(pc.cast(column, pa.string()), pa.float64()) if numeric else None
    return None


def _adbc_error() -> type[Exception]:
    import adbc_driver_manager

    return adbc_driver_manager.Error


@contextmanager
def arrow_reader(engine: sa.Engine, *, timeout_seconds: float | None = None) -> Iterator[ArrowReader | None]:
    """An `ArrowReader` on ``engine``'s source database, or None where there is none: another dialect or
    driver, the ADBC driver not installed, or a connection the driver cannot open (the caller reads through
    SQLAlchemy, which reports and retries what fails there).

    * SQLite (`_sqlite_connection`): a file, opened ``mode=ro``, then ``PRAGMA query_only``; not an
      in-memory database, URL options or a file that is not there.
    * PostgreSQL through psycopg or psycopg2 (`_postgresql_connection`): libpq's connection string of the
      same URL, with ``default_transaction_read_only``, ``TimeZone=UTC`` and ``statement_timeout`` set for
      the session when it starts, so `read_only`'s three guarantees hold from the first statement.
    * MariaDB/MySQL over TCP (`_mysql_connection`): ConnectorX's MySQL source (ADBC has no MySQL driver),
      its session made read-only, set to UTC and given the statement timeout before the statement runs.
    """
    connect = {
        "sqlite": _sqlite_connection,
        "postgresql": _postgresql_connection,
        "mysql": _mysql_connection,
        "mariadb": _mysql_connection,
    }.get(engine.url.get_backend_name())
    connection = None if connect is None else connect(engine, timeout_seconds)
    if connection is None:
        yield None
        return
    try:
        yield ArrowReader(engine, connection)
    finally:
        try:
            connection.rollback()
        except _adbc_error():  # a broken connection: closing it ends its transaction
            pass
        finally:
            connection.close()


def _sqlite_connection(engine: sa.Engine, _timeout_seconds: float | None) -> Any:
    """A read-only ADBC connection to the SQLite file of ``engine``, or None."""
    return _sqlite_file_connection(engine, write=False)


def _sqlite_file_connection(engine: sa.Engine, *, write: bool) -> Any:
    """An ADBC connection to the SQLite file of ``engine``, or None: read-only (opened ``mode=ro``, then
    ``PRAGMA query_only``), or with ``write`` one that writes and waits for another writer's lock as
    SQLAlchemy's connections do (`SQLITE_BUSY_TIMEOUT_SECONDS`)."""
    url = engine.url
    database = url.database
    if (
        url.get_driver_name() != "pysqlite"
        or not database
        or database == ":memory:"
        or url.query
        or not Path(database).is_file()
    ):
        return None
    try:
        import adbc_driver_sqlite.dbapi as adbc_sqlite
    except ImportError:
        return None
    try:
        connection = adbc_sqlite.connect(Path(database).resolve().as_uri() + ("" if write else "?mode=ro"))
    except (_adbc_error(), OSError):
        return None
    setting = f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}" if write else "PRAGMA query_only = ON"
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(setting)
        finally:
            cursor.close()
    except _adbc_error():
        connection.close()
        return None
    return connection


class SqliteWriter:
    """Statements and Arrow ingests in one transaction of an ADBC connection to a SQLite file
    (`sqlite_writer`). Rows go in as Arrow columns whose values the driver binds in C, where ``executemany``
    binds each Python value. A driver error is raised as SQLAlchemy's exception of its kind
    (``OperationalError`` for a locked database, ``IntegrityError`` for a duplicate key), its values hidden,
    so `retry` classifies it as any other statement's."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with its values bound; its rows (none for a write)."""
        with self._translated(statement):
            cursor = self.connection.cursor()
            try:
                cursor.execute(statement, params or None)
                return list(cursor.fetchall()) if cursor.description else []
            finally:
                cursor.close()

    def ingest(self, table: str, data: Any) -> None:
        """Append the rows of the Arrow table ``data`` to ``table`` (its columns named as ``data``'s)."""
        with self._translated(f"INSERT INTO {table}"):
            cursor = self.connection.cursor()
            try:
                cursor.adbc_ingest(table, data, mode="append")
            finally:
                cursor.close()

    def commit(self) -> None:
        with self._translated("COMMIT"):
            self.connection.commit()

    @contextmanager
    def _translated(self, statement: str) -> Iterator[None]:
        try:
            yield
        except _adbc_error() as error:
            raise sa_exc.DBAPIError.instance(statement, None, error, _adbc_error(), hide_parameters=True) from None


@contextmanager
def sqlite_writer(engine: sa.Engine) -> Iterator[SqliteWriter | None]:
    """A `SqliteWriter` on the SQLite file of ``engine``, in a transaction of its own that the caller commits
    (anything else is rolled back when the block ends), or None where there is none (not a file, URL
    options, the driver not installed): the caller then writes through SQLAlchemy. It waits for another
    writer's lock as SQLAlchemy's connections do (`SQLITE_BUSY_TIMEOUT_SECONDS`)."""
    connection = _sqlite_file_connection(engine, write=True)
    if connection is None:
        yield None
        return
    try:
        yield SqliteWriter(connection)
    finally:
        try:
            connection.rollback()
        except _adbc_error():  # closing it ends its transaction
            pass
        finally:
            connection.close()


def _postgresql_connection(engine: sa.Engine, timeout_seconds: float | None) -> Any:
    """An ADBC connection to the PostgreSQL database of ``engine`` whose transactions cannot write, or None.

    The settings go in libpq's ``options`` (after any the URL holds, so they win), applied when the session
    starts: ``default_transaction_read_only=on`` (the driver's transaction, begun on the first statement
    and only ever rolled back, is read-only; a ``set_config`` inside it is undone with it),
    ``TimeZone=UTC`` (a timestamptz counts on its UTC day, as in `read_only`) and the statement timeout.
    The driver prepares every statement before running it, and PostgreSQL refuses to prepare more than one:
    a second statement hidden in a query is an error, never run."""
    url = engine.url
    if url.get_driver_name() not in ("psycopg", "psycopg2"):
        return None
    try:
        import adbc_driver_postgresql.dbapi as adbc_postgresql
    except ImportError:
        return None
    settings = "-c default_transaction_read_only=on -c TimeZone=UTC"
    if timeout_seconds:
        settings += f" -c statement_timeout={int(timeout_seconds * 1000)}"
    given = url.query.get("options")
    if isinstance(given, tuple):  # libpq takes one options string
        return None
    query = {**url.query, "options": f"{given} {settings}" if given else settings}
    query.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    # libpq decodes %20 but not SQLAlchemy's + as a space
    base = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    libpq = f"{base}?{urllib.parse.urlencode(query, doseq=True, quote_via=urllib.parse.quote)}"
    try:
        return adbc_postgresql.connect(libpq)
    except (_adbc_error(), OSError):
        return None


def _mysql_connection(engine: sa.Engine, timeout_seconds: float | None) -> _ConnectorXConnection | None:
    """ConnectorX's MySQL source on the database of ``engine`` (`_ConnectorXConnection`), or None: ConnectorX
    not installed, no TCP host (a Unix socket), or URL options other than ``charset=utf8mb4`` (an
    ``init_command``, TLS settings: the source would not be the session SQLAlchemy opens)."""
    url = engine.url
    if not url.host or not url.database or any(k != "charset" or v != "utf8mb4" for k, v in url.query.items()):
        return None
    try:
        from connectorx import read_sql
    except ImportError:
        return None
    quote = functools.partial(urllib.parse.quote, safe="")
    credentials = quote(url.username or "") + (f":{quote(url.password)}" if url.password is not None else "")
    host = f"[{url.host}]" if ":" in url.host else url.host  # an IPv6 address
    # prefer_socket: the MySQL crate would otherwise move a connection to 127.0.0.1 onto the server's Unix
    # socket, where another account (or socket authentication) may answer than SQLAlchemy's
    address = f"mysql://{credentials}@{host}:{url.port or 3306}/{quote(url.database)}?prefer_socket=false"
    timeout = _statement_timeout_sql(engine.dialect, timeout_seconds) if timeout_seconds else None
    setup = ["SET SESSION TRANSACTION READ ONLY", "SET time_zone = '+00:00'", *([timeout] if timeout else [])]
    return _ConnectorXConnection(read_sql, address, setup, engine.url)


class _ConnectorXFailure(Exception):
    """ConnectorX could not read the statement (its error, or a panic of its Rust code, left behind)."""


_MYSQL_TIMEOUT_ERRORS = ("ERROR 1969 ", "ERROR 3024 ")
"""MariaDB's ``max_statement_time`` and MySQL's ``max_execution_time`` exceeded, as ConnectorX reports them."""


class _ConnectorXConnection:
    """ConnectorX's MySQL source as the part of an ADBC DB-API connection that `ArrowReader` uses.

    Each statement is one ``connectorx.read_sql`` on a new session whose first statements are ``setup``
    (read-only, UTC, the statement timeout): ConnectorX runs them on the session that runs the statement,
    and learns the result's columns by preparing the statement (never by running it). It binds no values,
    so `ArrowReader._compiled` writes the only ones it is given, the sales window's days, into the
    statement. A statement timeout fails the read once, as a permanent :class:`DatabaseError` without the
    password; any other failure (an error, or a panic on a column type ConnectorX does not read) declines."""

    def __init__(self, read_sql: Callable[..., Any], address: str, setup: list[str], url: sa.URL) -> None:
        self.read_sql = read_sql
        self.address = address
        self.setup = setup
        self.url = url
        self.table: Any = None

    def cursor(self) -> _ConnectorXConnection:
        return self

    def execute(self, sql: str, values: tuple[Any, ...] | None = None) -> None:
        if values:
            raise _ConnectorXFailure("ConnectorX binds no values")
        failure: BaseException
        try:
            self.table = self.read_sql(self.address, sql, return_type="arrow", pre_execution_query=self.setup)
            return
        except Exception as error:
            failure = error
        except BaseException as error:  # pyo3's PanicException (a Rust panic) derives from BaseException only
            if type(error).__name__ != "PanicException":
                raise
            failure = error
        message = str(failure)
        if any(code in message for code in _MYSQL_TIMEOUT_ERRORS):
            raise DatabaseError(
                f"the read on {mask_url(self.url)} was cancelled: {scrub(message.splitlines()[0], self.url)}",
                transient=False,
            ) from None
        raise _ConnectorXFailure(scrub(message, self.url)) from None

    def fetch_arrow_table(self) -> Any:
        return self.table

    def close(self) -> None:
        self.table = None

    def rollback(self) -> None:
        """Nothing to undo: each statement ran in a read-only session of its own, now closed."""


def _set_statement_timeout(conn: sa.Connection, seconds: float) -> None:
    sql = _statement_timeout_sql(conn.dialect, seconds)
    if sql is not None:
        conn.exec_driver_sql(sql)


def _statement_timeout_sql(dialect: sa.Dialect, seconds: float) -> str | None:
    """The SET that gives the session's statements ``seconds`` to run, or None where the dialect has none."""
    if dialect.name == "postgresql":
        return f"SET statement_timeout = {int(seconds * 1000)}"
    if is_mysql(dialect):
        if "mariadb" in str(dialect.server_version_info or "").lower() or getattr(dialect, "is_mariadb", False):
            return f"SET SESSION max_statement_time = {float(seconds)}"
        return f"SET SESSION max_execution_time = {int(seconds * 1000)}"
    return None


def table_names(engine: sa.Engine) -> set[str]:
    """The tables and views the database's own catalogue lists in the default schema (used to validate
    names that cannot be bound)."""
    return _relations(sa.inspect(engine))


def _relations(inspector: Any, schema: str | None = None) -> set[str]:
    """The tables and views the catalogue lists in ``schema`` (None: the default schema)."""
    return set(inspector.get_table_names(schema=schema)) | set(inspector.get_view_names(schema=schema))


def check_identifier(name: str, known: set[str], what: str = "table") -> str:
    """``name`` if the catalogue lists it; else a clear ValueError (names cannot be bound parameters)."""
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}; the database has: {', '.join(sorted(known)) or 'none'}")
    return name


def relation(engine: sa.Engine, name: str) -> tuple[str | None, str]:
    """``(schema, name)`` of the table or view ``name`` that the database's catalogue lists: in the default
    schema (schema None), or ``schema.name`` in another; else a clear ValueError."""
    inspector = sa.inspect(engine)
    known = _relations(inspector)
    if name in known:
        return None, name
    if "." in name:
        schemas = set(inspector.get_schema_names())
        for at in (i for i, char in enumerate(name) if char == "."):
            schema, relation = name[:at], name[at + 1 :]
            if schema in schemas and relation in _relations(inspector, schema):
                return schema, relation
    raise ValueError(
        f"unknown table or view {name!r}; the database lists {', '.join(sorted(known)) or 'none'} "
        "(and in another schema, schema.name)"
    )


def quoted_relation(engine: sa.Engine, name: str) -> str:
    """The quoted SQL name of the table or view ``name`` that the database's catalogue lists (`relation`),
    each part quoted. Names cannot be bound parameters, so nothing the catalogue does not list is ever
    formatted into SQL."""
    schema, found = relation(engine, name)
    preparer = engine.dialect.identifier_preparer
    return preparer.quote(found) if schema is None else f"{preparer.quote_schema(schema)}.{preparer.quote(found)}"


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction: everything inside commits together or not at all."""
    with engine.begin() as conn:
        yield conn


def as_engine(engine: sa.Engine | str) -> sa.Engine:
    """``engine``, or the pooled engine of a URL (:func:`make_engine`)."""
    return make_engine(engine) if isinstance(engine, str) else engine


def is_creation_race(error: sa.exc.SQLAlchemyError) -> bool:
    """Whether a CREATE failed because another process created the same table or view first."""
    text = str(getattr(error, "orig", error)).lower()
    return "already exists" in text or ("duplicate key" in text and "pg_" in text)


def table_rows(table: sa.Table, frame: pd.DataFrame, fixed: Mapping[str, Any], what: str) -> list[tuple]:
    """``frame``'s rows as tuples in ``table``'s column order (`table_columns`)."""
    columns = table_columns(table, frame, fixed, what)
    return list(zip(*columns, strict=True)) if len(frame) else []


def table_columns(table: sa.Table, frame: pd.DataFrame, fixed: Mapping[str, Any], what: str) -> list[list[Any]]:
    """``frame``'s values as one list per column of ``table``, in its order, the ``fixed`` columns (e.g. the
    run id) set to one value on every row; checked before anything is written: columns present, NOT NULL
    kept, whole numbers, finite numbers, text within the column's length (``ValueError`` naming ``what``). A
    missing value of a nullable column is sent as NULL; a column's values are converted as a whole (text by
    ``str``, days as ``datetime.date``, numbers as Python ``int`` and ``float``)."""
    missing = [c.name for c in table.columns if c.name not in fixed and c.name not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack the columns {', '.join(missing)}")
    columns: list[list[Any]] = []
    problems: list[str] = []
    for column in table.columns:
        if column.name in fixed:
            columns.append([fixed[column.name]] * len(frame))
            continue
        series = frame[column.name]
        isna = series.isna().to_numpy()
        if isna.any() and not column.nullable:
            problems.append(f"{column.name}: {int(isna.sum())} missing value(s)")
            continue
        values, problem = _column_values(column.type, series, isna)
        if problem:
            problems.append(f"{column.name}: {problem}")
            continue
        if isna.any():
            values = [None if missing else value for value, missing in zip(values, isna.tolist(), strict=True)]
        columns.append(values)
    if problems:
        raise ValueError(f"{what} cannot be written: " + "; ".join(problems))
    return columns


def _column_values(type_: sa.types.TypeEngine, series: pd.Series, isna: np.ndarray) -> tuple[list[Any], str | None]:
    """One column's values as driver values (anything at ``isna`` is replaced by NULL afterwards), or the
    problem that keeps it from being written."""
    present = ~isna
    if isinstance(type_, sa.String):
        texts = series.astype(str)
        length = type_.length or ID_LENGTH
        if present.any() and int(texts[present].str.len().max()) > length:
            return [], f"text longer than {type_.length} characters"
        return texts.tolist(), None
    if isinstance(type_, sa.Boolean):
        return [bool(v) for v in series.tolist()], None
    if isinstance(type_, sa.Date):
        days = pd.to_datetime(series)
        return list(days.dt.date.to_numpy(dtype=object)), None
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if isinstance(type_, sa.Integer):
        if (~np.isfinite(numbers[present])).any() or (numbers[present] != np.round(numbers[present])).any():
            return [], "not whole numbers"
        return np.where(present, numbers, 0).astype(np.int64).tolist(), None
    if (~np.isfinite(numbers[present])).any():
        return [], "non-finite or non-numeric values"
    return numbers.tolist(), None


def require_columns(engine: sa.Engine, tables: Iterable[sa.Table], doc: str) -> None:
    """Raise a permanent :class:`DatabaseError` naming the columns an existing table of ``tables`` lacks
    (a database made by an older version), with the page that lists them (``doc``)."""
    inspector = sa.inspect(engine)
    for table in tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            raise DatabaseError(
                f"table {table.name} on {mask_url(engine.url)} lacks the columns {', '.join(missing)}; "
                f"add them (see {doc}) or point INVENTORY_PLAN_DB_URL at a new database",
                transient=False,
            )


def create_tables(engine: sa.Engine, metadata: sa.MetaData, tables: Iterable[sa.Table], doc: str) -> None:
    """Create ``metadata``'s tables if they are missing (before any data transaction: MariaDB commits every
    DDL statement), ignoring a lost creation race, then :func:`require_columns` on ``tables``."""
    for attempt in range(3):
        try:
            metadata.create_all(engine, checkfirst=True)
            break
        except sa.exc.SQLAlchemyError as error:
            if attempt == 2 or not is_creation_race(error):
                raise
    require_columns(engine, tables, doc)


def check_id(name: str, value: object) -> None:
    """``ValueError`` unless ``value`` is a non-empty text of at most ``ID_LENGTH`` characters (a run or
    backtest id, the key of what a store writes)."""
    if not isinstance(value, str) or not value or len(value) > ID_LENGTH:
        raise ValueError(f"{name} must be a non-empty text of at most {ID_LENGTH} characters")
