"""Writing the procurement plan to the plan database, and reading the current plan back.

Plain SQLAlchemy 2 + pandas, no Dagster. See ``docs/plan-store.md`` for the tables, the view, what
"current" means and what a failure or a killed process leaves behind.

* ``procurement_plan`` keeps the rows of every committed run (history), keyed by
  (``run_id``, ``product_id``, ``location_id``); its columns are ``run_id``, ``planned_at`` and every
  column of :class:`~inventory_assets.contract.plan.ProcurementPlanSchema`.
* ``procurement_plan_runs`` holds one row per committed run (status, budget, spend, objective, rows,
  the solver's figures, the whole ``run`` dict as JSON) and ``commit_seq``, a number that grows with
  every commit.
* The current plan is the plan of the newest run: the greatest ``planned_at``, ties broken by the
  greater ``commit_seq``. The view ``current_procurement_plan`` and :func:`current_plan` return it.

:func:`write_plan` writes one run in ONE transaction (its rows, its order lists in ``purchase_orders`` and
``transfer_orders``, and its run row together or not at all), deleting any earlier copy of the same
``run_id`` first, so a retried write leaves one copy. :func:`run_orders` reads a committed run's order lists
back (:func:`resolve_run` finds ``latest`` or a given run id). Writers are
serialised per database (PostgreSQL: a table lock; MariaDB/MySQL: a named lock; SQLite: its write
lock). Transient faults are retried with backoff around the whole transaction (:func:`db.retry`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from inventory_assets.contract import spec, tables
from inventory_assets.contract.classes import TEXT_LENGTH, UtcDateTime
from inventory_assets.contract.classes import is_mysql as _is_mysql
from inventory_assets.contract.classes import utc as _utc
from inventory_assets.io import bulk, db

__all__ = [
    "PLAN_TABLE",
    "RUNS_TABLE",
    "PURCHASE_ORDERS_TABLE",
    "TRANSFER_ORDERS_TABLE",
    "ORDER_TABLES",
    "ORDERS_METADATA",
    "CURRENT_VIEW",
    "METADATA",
    "PLAN",
    "RUNS",
    "PLAN_COLUMNS",
    "RUN_COLUMNS",
    "WriteResult",
    "ensure_tables",
    "write_plan",
    "current_plan",
    "current_target_total",
    "current_run",
    "plan_history",
    "resolve_run",
    "run_orders",
    "RunNotFoundError",
    "view_sql",
    "UtcDateTime",
]

log = logging.getLogger(__name__)

PLAN_TABLE = "procurement_plan"
RUNS_TABLE = "procurement_plan_runs"
CURRENT_VIEW = "current_procurement_plan"

LOCK_TIMEOUT_SECONDS = 300
"""How long a writer waits for another writer of the same database before failing (PostgreSQL,
MariaDB; SQLite waits for its busy timeout, 30 s, and the transient "database is locked" is retried)."""

# --- tables --------------------------------------------------------------------------------------------


METADATA = tables.PLAN_METADATA
PLAN = tables.PLAN
RUNS = tables.RUNS

_SCHEMA_COLUMNS: list[tuple[str, sa.types.TypeEngine, bool]] = [
    (c.name, c.type, bool(c.nullable)) for c in PLAN.columns if c.name not in ("run_id", "planned_at")
]
"""The plan frame's columns as stored: name, SQL type, nullable (``contract.spec.PROCUREMENT_PLAN_ROWS``)."""
PLAN_COLUMNS: tuple[str, ...] = tuple(c.name for c in PLAN.columns)
"""Columns of ``procurement_plan`` (and of :func:`current_plan`'s frame), in order."""

RUN_COLUMNS: tuple[str, ...] = tuple(c.name for c in RUNS.columns)

PURCHASE_ORDERS_TABLE = spec.PURCHASE_ORDERS_ROWS.name
TRANSFER_ORDERS_TABLE = spec.TRANSFER_ORDERS_ROWS.name
ORDERS_METADATA = sa.MetaData()
"""The order lists' tables (in the plan database, created by :func:`ensure_tables`)."""
ORDER_TABLES: dict[str, sa.Table] = {
    name: table.to_sqlalchemy(ORDERS_METADATA, "plan") for name, table in spec.ORDER_TABLES.items()
}
"""``purchase_orders`` and ``transfer_orders``: ``run_id`` and the columns of ``spec.PURCHASE_ORDERS`` /
``spec.TRANSFER_ORDERS``, written in the plan's transaction."""
ORDER_SORT: dict[str, tuple[str, ...]] = {
    PURCHASE_ORDERS_TABLE: ("supplier_name", "location_id", "product_id"),
    TRANSFER_ORDERS_TABLE: ("source_location_id", "location_id", "product_id"),
}
"""The order of each list's rows as read back (and as ``reporting.orders`` builds them)."""

_RUN_TEXTS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "solver": ("solver",),
    "solver_status": ("solver_status",),
}
_RUN_NUMBERS: dict[str, tuple[str, ...]] = {
    "budget": ("budget",),
    "spend": ("spend",),
    "objective": ("objective",),
    "mip_gap": ("mip_gap",),
    "solve_seconds": ("solve_seconds",),
    "build_seconds": ("build_seconds",),
    "shadow_price_budget": ("shadow_price_budget", "budget_shadow_price"),
}


def _newest_run_id() -> sa.ScalarSelect:
    """The run_id of the newest committed run: greatest planned_at, then greatest commit_seq."""
    return (
        sa.select(RUNS.c.run_id).order_by(RUNS.c.planned_at.desc(), RUNS.c.commit_seq.desc()).limit(1).scalar_subquery()
    )


def _current_select() -> sa.Select:
    return sa.select(*PLAN.columns).where(PLAN.c.run_id == _newest_run_id())


def view_sql(dialect: sa.Dialect) -> str:
    """The ``CREATE VIEW current_procurement_plan`` statement for ``dialect``."""
    body = _current_select().compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return f"CREATE VIEW {dialect.identifier_preparer.quote(CURRENT_VIEW)} AS {body}"


def ensure_tables(engine: sa.Engine | str) -> None:
    """Create ``procurement_plan``, ``procurement_plan_runs`` and the view if they are missing.

    Runs in its own transaction(s), before any data transaction (MySQL/MariaDB commit every DDL
    statement). Safe to call concurrently (a lost creation race is ignored). An existing table that
    lacks a column of this version raises :class:`db.DatabaseError` naming the columns.
    """
    engine = db.as_engine(engine)
    attempts = 8  # two writers creating the four tables and the view may collide on each in turn
    for attempt in range(attempts):
        try:
            METADATA.create_all(engine, checkfirst=True)
            ORDERS_METADATA.create_all(engine, checkfirst=True)
            inspector = sa.inspect(engine)
            if CURRENT_VIEW not in inspector.get_view_names():
                with engine.begin() as conn:
                    conn.exec_driver_sql(view_sql(conn.dialect))
            break
        except sa.exc.SQLAlchemyError as error:
            if attempt == attempts - 1 or not db.is_creation_race(error):
                raise
            log.info("another process created the plan tables at the same time; checking again")
            time.sleep(0.05 * (attempt + 1))
    db.require_columns(engine, (PLAN, RUNS, *ORDER_TABLES.values()), "docs/plan-store.md")


# --- preparing the values ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Column:
    values: np.ndarray
    null: np.ndarray | None  # rows to send as NULL (nullable float columns)

    def batch(self, start: int, stop: int) -> list:
        out = self.values[start:stop].tolist()
        if self.null is not None:
            for i in np.flatnonzero(self.null[start:stop]):
                out[i] = None
        return out


def _prepare(plan: pd.DataFrame) -> list[_Column]:
    """One array per schema column, checked: present, NOT NULL where required, finite, short enough."""
    missing = [name for name, _, _ in _SCHEMA_COLUMNS if name not in plan.columns]
    if missing:
        raise ValueError(f"the plan lacks the columns {', '.join(missing)} (see ProcurementPlanSchema)")
    prepared: list[_Column] = []
    problems: list[str] = []
    for name, type_, nullable in _SCHEMA_COLUMNS:
        series = plan[name]
        isna = series.isna().to_numpy()
        if not nullable and isna.any():
            problems.append(f"{name}: {int(isna.sum())} missing value(s) (NOT NULL)")
            continue
        if isinstance(type_, sa.String):
            texts = series[~isna].astype(str)
            if len(texts) and type_.length is not None and int(texts.str.len().max()) > type_.length:
                problems.append(f"{name}: text longer than {type_.length} characters")
            values = np.full(len(series), None, dtype=object)
            values[~isna] = texts.to_numpy(dtype=object)
            prepared.append(_Column(values, None))
        elif isinstance(type_, sa.Boolean):
            if pd.api.types.is_bool_dtype(series):
                prepared.append(_Column(series.to_numpy(dtype=bool), None))
            elif all(
                isinstance(v, (bool, np.bool_, int, float, np.number)) and v in (0, 1)
                for v in pd.unique(series.to_numpy(dtype=object))
            ):
                prepared.append(_Column(series.to_numpy(dtype=object) == 1, None))
            else:
                problems.append(f"{name}: not booleans (True/False or 0/1)")
        elif isinstance(type_, sa.Integer):
            numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            if np.isnan(numbers).any() or (numbers != np.round(numbers)).any():
                problems.append(f"{name}: not whole numbers")
            else:
                prepared.append(_Column(numbers.astype(np.int64), None))
        else:
            try:
                numbers = series.to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError):
                problems.append(f"{name}: not numbers")
                continue
            bad = np.isinf(numbers) | (np.isnan(numbers) & ~isna)
            if bad.any():
                problems.append(f"{name}: {int(bad.sum())} non-finite value(s)")
            prepared.append(_Column(numbers, isna if isna.any() else None))
    if problems:
        raise ValueError("the plan cannot be written: " + "; ".join(problems))
    return prepared


def _jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: numpy scalars to Python, NaN/inf to None, frames to records."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [_jsonable(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _run_values(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run row's known columns (texts cut to their length, non-finite numbers as NULL) + figures."""
    figures = _jsonable(run)
    out: dict[str, Any] = {}
    for column, keys in _RUN_TEXTS.items():
        value = next((run[k] for k in keys if run.get(k) is not None), None)
        out[column] = None if value is None else str(value)[:TEXT_LENGTH]
    out["status"] = out["status"] or "committed"
    for column, keys in _RUN_NUMBERS.items():
        value = next((run[k] for k in keys if run.get(k) is not None), None)
        if value is None:
            out[column] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"run figure {column!r} must be a number, got {type(value).__name__}") from None
        out[column] = number if math.isfinite(number) else None
    out["figures"] = json.dumps(figures, sort_keys=True, allow_nan=False)
    return out


# --- writing -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """What :func:`write_plan` committed."""

    run_id: str
    rows: int
    seconds: float
    planned_at: datetime
    commit_seq: int
    attempts: int
    order_rows: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Rows written to ``purchase_orders`` and ``transfer_orders`` (empty when no lists were given)."""


Progress = Callable[[int], Any]


def write_plan(
    engine: sa.Engine | str,
    run_id: str,
    plan: pd.DataFrame,
    run: Mapping[str, Any],
    *,
    planned_at: datetime | None = None,
    progress: Progress | None = None,
    batch_rows: int = 50_000,
    retry_attempts: int = 4,
    allow_empty: bool = False,
    orders: Mapping[str, pd.DataFrame] | None = None,
) -> WriteResult:
    """Commit ``plan`` as run ``run_id``: its rows, its order lists and its run row in one transaction.

    ``plan`` has the columns of ``ProcurementPlanSchema`` (extra columns are ignored); ``run`` holds the
    run's figures (``status``, ``budget``, ``spend``, ``objective``, ``solver``, ``solver_status``,
    ``mip_gap``, ``solve_seconds``, ``build_seconds``, ``shadow_price_budget`` go to their columns, the
    whole dict to ``figures`` as JSON). ``planned_at`` (default: now) orders the runs; naive values are
    UTC. A run_id already written is replaced (one copy). ``progress(rows_written)`` is called after each
    batch of ``batch_rows`` rows (again from 0 if the transaction is retried). Transient faults are
    retried ``retry_attempts`` times in all with backoff; permanent ones raise :class:`db.DatabaseError`
    at once; a plan that cannot be stored raises ``ValueError`` before anything is written. An empty
    plan is refused unless ``allow_empty`` (it would replace a good current plan with nothing).

    ``orders`` maps ``purchase_orders`` / ``transfer_orders`` to the lists of ``reporting.orders`` (the
    columns of ``spec.PURCHASE_ORDERS`` / ``spec.TRANSFER_ORDERS``); they are written with the run id in
    the same transaction, after the plan's rows. Any earlier copy of the run's lists is deleted either way.
    """
    engine = db.as_engine(engine)
    db.check_id("run_id", run_id)
    if batch_rows < 1:
        raise ValueError("batch_rows must be >= 1")
    if len(plan) == 0 and not allow_empty:
        raise ValueError(f"refusing to write an empty plan for run {run_id!r}: it would replace the current plan")
    if dataclasses.is_dataclass(run) and not isinstance(run, type):
        run = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)}
    columns = _prepare(plan)
    unknown = sorted(set(orders or {}) - set(ORDER_TABLES))
    if unknown:
        raise ValueError(f"unknown order lists {unknown}; known: {sorted(ORDER_TABLES)}")
    order_columns = {
        name: db.table_columns(ORDER_TABLES[name], frame, {"run_id": run_id}, f"the {name} rows")
        for name, frame in (orders or {}).items()
    }
    run_row = _run_values(run)
    stamp = _utc(planned_at) if planned_at is not None else _utc(datetime.now(timezone.utc))
    n_rows = len(plan)
    url = engine.url

    db.retry(lambda: ensure_tables(engine), attempts=retry_attempts, what="creating the plan tables", url=url)

    job = _Write(run_id, stamp, columns, n_rows, run_row, progress, batch_rows, order_columns)
    attempts = 0
    t0 = time.perf_counter()

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        return _write_once(engine, job)

    seq = db.retry(attempt, attempts=retry_attempts, what=f"writing plan run {run_id!r}", url=url)
    seconds = time.perf_counter() - t0
    log.info("plan run %s: %d rows committed in %.2f s (%d attempt(s))", run_id, n_rows, seconds, attempts)
    return WriteResult(
        run_id=run_id,
        rows=n_rows,
        seconds=seconds,
        planned_at=stamp,
        commit_seq=seq,
        attempts=attempts,
        order_rows={name: len(frame) for name, frame in (orders or {}).items()},
    )


@dataclasses.dataclass(frozen=True)
class _Write:
    """What every attempt of one `write_plan` writes."""

    run_id: str
    planned_at: datetime
    columns: list[_Column]
    n_rows: int
    run_row: dict[str, Any]
    progress: Progress | None
    batch_rows: int
    order_columns: Mapping[str, list[list[Any]]]


def _write_once(engine: sa.Engine, job: _Write) -> int:
    """One attempt: lock, delete the run's old copy, insert rows in batches, the order lists, the run row,
    commit. On a SQLite file all of it goes through ADBC's Arrow ingest (`_write_once_sqlite`)."""
    with db.sqlite_writer(engine) as writer:
        if writer is not None:
            return _write_once_sqlite(writer, engine.dialect, job)
    run_id = job.run_id
    with engine.connect() as conn:
        named_lock = None
        try:
            if _is_mysql(conn.dialect):
                named_lock = _mysql_lock(conn)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
                    # Self-conflicting, does not block readers: plan writers of this database take turns.
                    conn.exec_driver_sql(f"LOCK TABLE {_quote(conn, RUNS_TABLE)} IN SHARE ROW EXCLUSIVE MODE")
                # First statement a write: on SQLite it takes the write lock, so writers take turns.
                conn.execute(PLAN.delete().where(PLAN.c.run_id == run_id))
                conn.execute(RUNS.delete().where(RUNS.c.run_id == run_id))
                for table in ORDER_TABLES.values():
                    conn.execute(table.delete().where(table.c.run_id == run_id))
                seq = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(RUNS.c.commit_seq), 0))).scalar_one()) + 1
                _load_rows(conn, job)
                for name, values in job.order_columns.items():
                    _load_orders(conn, ORDER_TABLES[name], values, job.batch_rows)
                conn.execute(RUNS.insert().values(**_run_columns(job, seq)))
            return seq
        finally:
            if named_lock is not None:
                _mysql_unlock(conn, named_lock)


def _run_columns(job: _Write, seq: int) -> dict[str, Any]:
    """The run row's values."""
    run = {"run_id": job.run_id, "planned_at": job.planned_at, "commit_seq": seq}
    return {**run, "committed_at": datetime.now(timezone.utc), "plan_rows": job.n_rows, **job.run_row}


def _write_once_sqlite(writer: db.SqliteWriter, dialect: sa.Dialect, job: _Write) -> int:
    """`_write_once` on a SQLite file through ADBC: the same statements in the same order in one transaction,
    the rows ingested as Arrow columns (`bulk.arrow_table`: what ``executemany`` would store, value for
    value), in batches of ``batch_rows`` with ``progress`` after each. The plan's 1 M rows at the large
    preset: 1.9 s against 4.4 s for ``executemany`` alone and 3.5 s of Python building its row tuples
    (docs/scaling-benchmarks.md)."""
    quote = dialect.identifier_preparer.quote
    # First statement a write: it takes the write lock, so writers take turns.
    for table in (PLAN, RUNS, *ORDER_TABLES.values()):
        writer.execute(f"DELETE FROM {quote(table.name)} WHERE run_id = ?", (job.run_id,))
    ((latest,),) = writer.execute(f"SELECT COALESCE(MAX(commit_seq), 0) FROM {quote(RUNS.name)}")
    seq = int(latest) + 1
    names = [name for name, _, _ in _SCHEMA_COLUMNS]
    for start in range(0, job.n_rows, job.batch_rows):
        stop = min(start + job.batch_rows, job.n_rows)
        values: dict[str, Any] = {
            "run_id": [job.run_id] * (stop - start),
            "planned_at": [job.planned_at] * (stop - start),
        }
        # the arrays themselves: a NULL of a float column is its NaN (`_prepare`), stored as NULL
        values.update((name, column.values[start:stop]) for name, column in zip(names, job.columns, strict=True))
        writer.ingest(PLAN.name, bulk.arrow_table(PLAN, values, dialect))
        if job.progress is not None:
            job.progress(stop)
    for name, lists in job.order_columns.items():
        table = ORDER_TABLES[name]
        for start in range(0, len(lists[0]) if lists else 0, job.batch_rows):
            part = {c.name: v[start : start + job.batch_rows] for c, v in zip(table.columns, lists, strict=True)}
            writer.ingest(table.name, bulk.arrow_table(table, part, dialect))
    run = {k: [v] for k, v in _run_columns(job, seq).items()}
    writer.ingest(RUNS.name, bulk.arrow_table(RUNS, run, dialect))
    writer.commit()
    return seq


def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _mysql_lock(conn: sa.Connection) -> str:
    """Take this database's plan-writer lock (a named lock: released at disconnect, so a kill frees it)."""
    name = conn.exec_driver_sql("SELECT CONCAT('ia_plan_', MD5(DATABASE()))").scalar_one()
    got = conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT_SECONDS)).scalar()
    conn.commit()
    if got != 1:
        raise db.DatabaseError(
            f"another plan writer held the write lock of {db.mask_url(conn.engine.url)} for more than "
            f"{LOCK_TIMEOUT_SECONDS} s",
            transient=False,
        )
    return name


def _mysql_unlock(conn: sa.Connection, name: str) -> None:
    try:
        conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
        conn.commit()
    except Exception:
        log.debug("could not release the plan-writer lock (connection gone)", exc_info=True)


def _batches(run_id: str, planned_at_value: Any, columns: list[_Column], n_rows: int, batch_rows: int):
    for start in range(0, n_rows, batch_rows):
        stop = min(start + batch_rows, n_rows)
        yield stop, list(zip(repeat(run_id), repeat(planned_at_value), *(c.batch(start, stop) for c in columns)))


def _load_rows(conn: sa.Connection, job: _Write) -> None:
    """The run's rows in batches through the bulk loader (PostgreSQL: binary COPY; others: executemany)."""
    loader = bulk.BulkLoader(
        conn, PLAN, copy_types=[_PG_COPY_TYPES[type(c.type)] for c in PLAN.columns], chunk_rows=job.batch_rows
    )
    processor = loader.processor("planned_at")  # once for every row (SQLite: the run row's text)
    stamp: Any = processor(job.planned_at) if processor else job.planned_at
    for written, rows in _batches(job.run_id, stamp, job.columns, job.n_rows, job.batch_rows):
        loader.load(rows)
        if job.progress is not None:
            job.progress(written)


def _load_orders(conn: sa.Connection, table: sa.Table, columns: list[list[Any]], batch_rows: int) -> None:
    """One order list's columns (`db.table_columns`, ``run_id`` first) through the bulk loader (as the plan's
    rows)."""
    loader = bulk.BulkLoader(
        conn, table, copy_types=[_PG_COPY_TYPES[type(c.type)] for c in table.columns], chunk_rows=batch_rows
    )
    rows = list(zip(*columns, strict=True))
    for start in range(0, len(rows), batch_rows):
        loader.load(loader.driver_rows(rows[start : start + batch_rows]))


_PG_COPY_TYPES = {
    sa.String: "varchar",
    sa.Date: "date",
    sa.Double: "float8",
    sa.BigInteger: "int8",
    sa.Boolean: "bool",
    UtcDateTime: "timestamptz",
}
"""Binary COPY (2-3x faster than text): the PostgreSQL type of each column's SQLAlchemy type."""


# --- reading -------------------------------------------------------------------------------------------


def _fetch(conn: sa.Connection, sql: str) -> list[tuple]:
    """All rows of ``sql`` through the driver's own cursor (no per-row SQLAlchemy processing)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None, "a checked-out connection has its driver connection"
    # psycopg: binary results (numbers arrive as bytes, not text to parse)
    cursor = raw.cursor(binary=True) if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    except conn.dialect.loaded_dbapi.Error as error:
        raise bulk.dbapi_error(conn, sql, error, cursor) from None
    finally:
        cursor.close()


def _timestamps(values: list | tuple | np.ndarray) -> pd.Series:
    """Driver timestamps (aware, naive UTC, or SQLite's ISO text) as UTC-aware datetime64[us].

    Converted once per distinct value (a plan's rows share one ``planned_at``)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    converted = pd.to_datetime(pd.Series(uniques, dtype=object), utc=True, format="ISO8601")
    converted = converted.astype("datetime64[us, UTC]").array
    return pd.Series(converted.take(codes) if len(codes) else converted[:0], dtype="datetime64[us, UTC]")


def _plan_frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """Driver rows of ``procurement_plan`` (or the view) as the plan frame: same dtypes on every dialect.

    Ids and texts ``str`` (NULL: missing), flags ``bool``, numbers ``float64`` (NULL: NaN), echelon
    ``int64``, planned_at ``datetime64[us, UTC]``; sorted by (product_id, location_id) in code-point
    order (database collations differ), fresh RangeIndex.
    """
    types = {c.name: c.type for c in PLAN.columns}
    nullable = {c.name for c in PLAN.columns if c.nullable}
    grid = np.array(rows, dtype=object) if len(rows) else np.empty((0, len(columns)), dtype=object)
    if grid.shape != (len(rows), len(columns)):  # numpy looked inside a value: build column by column
        grid = np.empty((len(rows), len(columns)), dtype=object)
        for i, row in enumerate(rows):
            grid[i, :] = list(row)
    out: dict[str, Any] = {}
    grid = np.asfortranarray(grid)  # contiguous columns convert faster
    for i, name in enumerate(columns):
        values = grid[:, i]
        type_ = types.get(name)
        if isinstance(type_, UtcDateTime):
            out[name] = _timestamps(values)
        elif isinstance(type_, sa.String):
            out[name] = pd.array(values, dtype="str")
        elif isinstance(type_, sa.Boolean):
            out[name] = values.astype(bool)
        elif isinstance(type_, sa.Integer):
            out[name] = values.astype(np.int64)
        elif isinstance(type_, sa.Double):
            null = pd.isna(values) if name in nullable else None
            out[name] = (np.where(null, np.nan, values) if null is not None and null.any() else values).astype(float)
        else:
            out[name] = values
    frame = pd.DataFrame(out, columns=columns)
    if len(frame) > 1:
        product = frame["product_id"].to_numpy(dtype=object)
        location = frame["location_id"].to_numpy(dtype=object)
        ordered = (product[1:] > product[:-1]) | ((product[1:] == product[:-1]) & (location[1:] > location[:-1]))
        if not ordered.all():
            frame = frame.sort_values(["product_id", "location_id"], kind="stable", ignore_index=True)
    return frame


def _current_sql(dialect: sa.Dialect) -> str:
    return str(_current_select().compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _tables_exist(engine: sa.Engine) -> bool:
    inspector = sa.inspect(engine)
    return inspector.has_table(PLAN_TABLE) and inspector.has_table(RUNS_TABLE)


def current_plan(engine: sa.Engine | str, *, retry_attempts: int = 4) -> pd.DataFrame:
    """The rows of the newest committed run (columns ``PLAN_COLUMNS``, sorted by product and location).

    Empty (with the columns) when no run has committed yet. Timestamps are UTC-aware, ids ``str`` (a
    NULL ``source_location_id`` is missing), flags ``bool``, numbers ``float64``, ``echelon`` int64.
    """
    engine = db.as_engine(engine)

    def read() -> pd.DataFrame:
        if not _tables_exist(engine):
            return _plan_frame([], list(PLAN_COLUMNS))
        with engine.connect() as conn:
            rows = _fetch(conn, _current_sql(conn.dialect))
        return _plan_frame(rows, list(PLAN_COLUMNS))

    return db.retry(read, attempts=retry_attempts, what="reading the current plan", url=engine.url)


def current_target_total(engine: sa.Engine | str, *, retry_attempts: int = 4) -> tuple[int, float] | None:
    """The current plan's rows and total ``order_up_to`` (one COUNT and SUM in the database), or None when no
    run has committed (the plausibility gate against the plan in use, ``contract.plausibility``)."""
    engine = db.as_engine(engine)

    def read() -> tuple[int, float] | None:
        if not _tables_exist(engine):
            return None
        stmt = sa.select(sa.func.count(), sa.func.sum(PLAN.c.order_up_to)).where(PLAN.c.run_id == _newest_run_id())
        with engine.connect() as conn:
            rows, total = conn.execute(stmt).one()
        return None if not rows else (int(rows), float(total or 0.0))

    return db.retry(read, attempts=retry_attempts, what="reading the current plan's targets", url=engine.url)


def _runs_frame(rows: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(RUN_COLUMNS))
    for name in ("planned_at", "committed_at"):
        frame[name] = pd.Series(pd.to_datetime(frame[name].tolist(), utc=True), dtype="datetime64[us, UTC]")
    for name in ("commit_seq", "plan_rows"):
        frame[name] = frame[name].astype(np.int64)
    for column in RUNS.columns:
        if isinstance(column.type, sa.Double):
            frame[column.name] = pd.to_numeric(frame[column.name]).astype(float)
        elif isinstance(column.type, (sa.String, sa.Text)):
            frame[column.name] = frame[column.name].astype(object).where(frame[column.name].notna(), None).astype("str")
    return frame.sort_values(["planned_at", "commit_seq"], ascending=False, ignore_index=True)


def plan_history(engine: sa.Engine | str, *, retry_attempts: int = 4) -> pd.DataFrame:
    """The runs table, newest first (the first row is the current plan's run); ``figures`` is JSON text."""
    engine = db.as_engine(engine)

    def read() -> pd.DataFrame:
        if not _tables_exist(engine):
            return _runs_frame([])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*RUNS.columns)).all()
        return _runs_frame(rows)

    return db.retry(read, attempts=retry_attempts, what="reading the plan history", url=engine.url)


def current_run(engine: sa.Engine | str, *, retry_attempts: int = 4) -> dict[str, Any] | None:
    """The newest committed run's row as a dict (``figures`` parsed from JSON), or None if none yet."""
    engine = db.as_engine(engine)

    def read() -> dict[str, Any] | None:
        if not _tables_exist(engine):
            return None
        stmt = sa.select(*RUNS.columns).where(RUNS.c.run_id == _newest_run_id())
        with engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["figures"] = json.loads(out["figures"])
        return out

    return db.retry(read, attempts=retry_attempts, what="reading the current run", url=engine.url)


class RunNotFoundError(LookupError):
    """No committed run has the asked run id (or, for ``latest``, no run has committed yet)."""


def resolve_run(engine: sa.Engine | str, run: str = "latest", *, retry_attempts: int = 4) -> dict[str, Any]:
    """The committed run ``run`` (a run id, or ``latest``: the current plan's run) as a dict, ``figures``
    parsed; raises :class:`RunNotFoundError` when there is none."""
    engine = db.as_engine(engine)
    if run == "latest":
        found = current_run(engine, retry_attempts=retry_attempts)
        if found is None:
            raise RunNotFoundError(f"no plan has been committed to {db.mask_url(engine.url)} yet")
        return found

    def read() -> dict[str, Any] | None:
        if not _tables_exist(engine):
            return None
        with engine.connect() as conn:
            row = conn.execute(sa.select(*RUNS.columns).where(RUNS.c.run_id == run)).mappings().first()
        return None if row is None else {**row, "figures": json.loads(row["figures"])}

    out = db.retry(read, attempts=retry_attempts, what=f"reading plan run {run!r}", url=engine.url)
    if out is None:
        raise RunNotFoundError(f"run {run!r} has committed no plan to {db.mask_url(engine.url)}")
    return out


def _orders_frame(table: sa.Table, raw: pd.DataFrame) -> pd.DataFrame:
    """An order table's rows (``raw``: its columns, as `db.read_frame_fast` read them) as the list's frame
    (without ``run_id``): the same dtypes on every dialect and either reader (dates arrive as text from
    SQLite, as dates from the others)."""
    names = [c.name for c in table.columns]
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "run_id":
            continue
        values = raw[column.name]
        if isinstance(column.type, sa.Date):
            codes, days = pd.factorize(values.astype(object))  # converted once per distinct day
            converted = pd.to_datetime(pd.Series(days, dtype=object).map(str), format="ISO8601")
            day_values = converted.astype("datetime64[ns]").array
            out[column.name] = pd.Series(day_values.take(codes, allow_fill=True), dtype="datetime64[ns]")
        elif isinstance(column.type, sa.Integer):
            out[column.name] = values.astype(np.int64)
        elif isinstance(column.type, sa.Double):
            out[column.name] = pd.to_numeric(values).astype(float)
        else:
            out[column.name] = pd.Series(values.astype(object).where(values.notna(), None), dtype="str")
    frame = pd.DataFrame(out, columns=[n for n in names if n != "run_id"])
    return frame.sort_values(list(ORDER_SORT[table.name]), kind="stable", ignore_index=True)


def _orders_sql(dialect: sa.Dialect, table: sa.Table) -> str:
    """The SELECT of one run's rows of an order table (``:run_id`` bound)."""
    quote = dialect.identifier_preparer
    columns = ", ".join(quote.quote(c.name) for c in table.columns)
    return f"SELECT {columns} FROM {quote.format_table(table)} WHERE {quote.quote('run_id')} = :run_id"


def run_orders(engine: sa.Engine | str, run_id: str, *, retry_attempts: int = 4) -> dict[str, pd.DataFrame]:
    """The order lists committed with run ``run_id``: ``purchase_orders`` and ``transfer_orders`` (empty
    frames with the columns when the run has none, or the tables do not exist), sorted as built. Each list is
    one read (`db.read_frame_fast`: Arrow columns where the database has a reader, else SQLAlchemy's rows); a
    run's lists change only by a rewrite of the whole run, which writes the same lists again."""
    engine = db.as_engine(engine)

    def read() -> dict[str, pd.DataFrame]:
        present = set(sa.inspect(engine).get_table_names())
        out: dict[str, pd.DataFrame] = {}
        for name, table in ORDER_TABLES.items():
            raw = (
                db.read_frame_fast(engine, _orders_sql(engine.dialect, table), {"run_id": run_id}, share_text=False)
                if name in present
                else pd.DataFrame(columns=[c.name for c in table.columns])
            )
            out[name] = _orders_frame(table, raw)
        return out

    return db.retry(read, attempts=retry_attempts, what=f"reading the orders of run {run_id!r}", url=engine.url)
