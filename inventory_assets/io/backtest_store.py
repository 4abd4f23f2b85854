"""Writing a backtest's results to the plan database, and reading them back (no Dagster).

Three tables, generated from ``contract.spec`` (docs/backtest.md, "Stored tables"):

* ``backtest_runs``: one row per backtest (id, time, weeks, policies, budget, seed, windows, counts, the
  whole run record as JSON);
* ``backtest_results``: one row per (backtest, policy, ABC class, echelon), totals as ``all``;
* ``backtest_weekly``: one row per (backtest, policy, held-out week): the weekly fill rate.

:func:`write_backtest` writes one backtest in ONE transaction (its results, its weekly rows and its run
row together or not at all), deleting any earlier copy of the same ``backtest_id`` first, so a retried
write leaves one copy. Rows go through the project's bulk loader (PostgreSQL: binary COPY; SQLite and
MariaDB: executemany). Transient faults are retried with backoff around the whole transaction
(:func:`db.retry`); errors carry the masked URL and no bound values. The newest backtest is the one with
the greatest ``run_at`` (ties: the later ``committed_at``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from inventory_assets.contract import spec, tables
from inventory_assets.contract.classes import UtcDateTime
from inventory_assets.contract.classes import utc as _utc
from inventory_assets.io import bulk, db

__all__ = [
    "METADATA",
    "RUNS",
    "RESULTS",
    "WEEKLY",
    "BacktestWrite",
    "ensure_tables",
    "write_backtest",
    "latest_backtest",
    "backtest_results",
    "backtest_history",
]

log = logging.getLogger(__name__)

METADATA = tables.BACKTEST_METADATA
RUNS = tables.BACKTEST_RUNS
RESULTS = tables.BACKTEST_RESULTS
WEEKLY = tables.BACKTEST_WEEKLY
_TABLES = (RUNS, RESULTS, WEEKLY)

LOCK_TIMEOUT_SECONDS = 300

_PG_COPY_TYPES: dict[type, str] = {
    sa.String: "varchar",
    sa.Double: "float8",
    sa.BigInteger: "int8",
    sa.Boolean: "bool",
    sa.Date: "date",
    UtcDateTime: "timestamptz",
}


def ensure_tables(engine: sa.Engine | str) -> None:
    """Create the three backtest tables if they are missing (before any data transaction: MariaDB
    commits every DDL statement). A lost creation race is ignored; an existing table that lacks a column
    raises :class:`db.DatabaseError` naming them."""
    db.create_tables(db.as_engine(engine), METADATA, _TABLES, "docs/backtest.md")


# --- preparing the values ------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data (numpy scalars to Python, NaN/inf to None, dates to ISO text)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [_jsonable(v) for v in value]
    return str(value)


def _day(value: Any, name: str) -> dt.date:
    if value is None:
        raise ValueError(f"the run record lacks {name!r}")
    return pd.Timestamp(value).date()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _run_row(run: Mapping[str, Any], n_results: int) -> dict[str, Any]:
    """The ``backtest_runs`` columns from ``BacktestResult.run`` (plus the caller's ``seconds``)."""
    try:
        policies = ",".join(str(p) for p in run["policies"])
        row = {
            "weeks": int(run["weeks"]),
            "review_days": int(run["review_days"]),
            "policies": policies,
            "budget": float(run["budget"]),
            "seed": int(run["seed"]),
            "backorders": bool(run.get("backorders", False)),
            "data_start": _day(run.get("data_start"), "data_start"),
            "data_end": _day(run.get("data_end"), "data_end"),
            "held_out_start": _day(run.get("held_out_start"), "held_out_start"),
            "held_out_end": _day(run.get("held_out_end"), "held_out_end"),
            "history_days": int(run["history_days"]),
            "reviews": len(run["review_dates"]),
            "pairs": int(run["pairs"]),
            "held_out_demand_units": float(run["held_out_demand_units"]),
            "unstocked_held_out_units": float(run.get("unstocked_held_out_units", 0.0)),
            "result_rows": n_results,
            "seconds": _number(run.get("seconds")),
        }
    except KeyError as error:
        raise ValueError(f"the run record lacks {error.args[0]!r} (BacktestResult.run)") from None
    if len(policies) > 255:
        raise ValueError("the policies' names are longer than 255 characters together")
    row["figures"] = json.dumps(_jsonable(run), sort_keys=True, allow_nan=False)
    return row


# --- writing -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BacktestWrite:
    """What :func:`write_backtest` committed."""

    backtest_id: str
    run_at: datetime
    result_rows: int
    weekly_rows: int
    seconds: float
    attempts: int


def write_backtest(
    engine: sa.Engine | str,
    backtest_id: str,
    run: Mapping[str, Any],
    results: pd.DataFrame,
    weekly: pd.DataFrame,
    *,
    run_at: datetime | None = None,
    retry_attempts: int = 4,
    batch_rows: int = 20_000,
) -> BacktestWrite:
    """Commit one backtest as ``backtest_id``: its results, weekly rows and run row in one transaction.

    ``run`` is ``BacktestResult.run`` (any extra keys, e.g. ``seconds``, go to ``figures`` too),
    ``results`` ``BacktestResult.results`` (columns ``RESULT_COLUMNS``), ``weekly``
    ``BacktestResult.weekly``. ``run_at`` (default now; naive = UTC) orders the backtests. An id already
    written is replaced (one copy). Values that cannot be stored raise ``ValueError`` before anything is
    written; empty results are refused.
    """
    engine = db.as_engine(engine)
    db.check_id("backtest_id", backtest_id)
    if len(results) == 0:
        raise ValueError(f"refusing to write backtest {backtest_id!r} without results")
    result_rows = db.table_rows(RESULTS, results, {"backtest_id": backtest_id}, "the backtest's results")
    weekly_rows = db.table_rows(WEEKLY, weekly, {"backtest_id": backtest_id}, "the backtest's weekly figures")
    run_row = _run_row(run, len(result_rows))
    stamp = _utc(run_at) if run_at is not None else _utc(datetime.now(timezone.utc))
    url = engine.url
    db.retry(lambda: ensure_tables(engine), attempts=retry_attempts, what="creating the backtest tables", url=url)
    attempts = 0
    t0 = time.perf_counter()

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        _write_once(engine, backtest_id, stamp, run_row, result_rows, weekly_rows, batch_rows)

    db.retry(attempt, attempts=retry_attempts, what=f"writing backtest {backtest_id!r}", url=url)
    seconds = time.perf_counter() - t0
    log.info("backtest %s: %d result rows committed in %.2f s", backtest_id, len(result_rows), seconds)
    return BacktestWrite(backtest_id, stamp, len(result_rows), len(weekly_rows), seconds, attempts)


def _loader(conn: sa.Connection, table: sa.Table, batch_rows: int) -> bulk.BulkLoader:
    return bulk.BulkLoader(
        conn, table, copy_types=[_PG_COPY_TYPES[type(c.type)] for c in table.columns], chunk_rows=batch_rows
    )


def _write_once(
    engine: sa.Engine,
    backtest_id: str,
    run_at: datetime,
    run_row: dict[str, Any],
    result_rows: list[tuple],
    weekly_rows: list[tuple],
    batch_rows: int,
) -> None:
    """One attempt: delete the id's old copy, insert results and weekly rows, insert the run row, commit."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
            # Writers of the same database take turns (readers are not blocked).
            quoted = conn.dialect.identifier_preparer.quote(RUNS.name)
            conn.exec_driver_sql(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
        # The first statement writes: on SQLite it takes the write lock.
        for table in (RUNS, RESULTS, WEEKLY):
            conn.execute(table.delete().where(table.c.backtest_id == backtest_id))
        for table, rows in ((RESULTS, result_rows), (WEEKLY, weekly_rows)):
            loader = _loader(conn, table, batch_rows)
            loader.load(loader.driver_rows(rows))
        conn.execute(
            RUNS.insert().values(
                backtest_id=backtest_id, run_at=run_at, committed_at=datetime.now(timezone.utc), **run_row
            )
        )


# --- reading -------------------------------------------------------------------------------------------


def _tables_exist(engine: sa.Engine) -> bool:
    inspector = sa.inspect(engine)
    return all(inspector.has_table(t.name) for t in _TABLES)


def _frame(table: sa.Table, rows: Sequence[Any]) -> pd.DataFrame:
    """Rows of ``table`` with the same dtypes on every dialect: texts ``str``, whole numbers ``int64``,
    numbers ``float64`` (NULL: NaN), days ``datetime64[ns]``, timestamps UTC-aware."""
    names = [c.name for c in table.columns]
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=names)
    for column in table.columns:
        name, type_ = column.name, column.type
        if isinstance(type_, UtcDateTime):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif isinstance(type_, sa.Date):
            frame[name] = pd.to_datetime(frame[name])
        elif isinstance(type_, sa.Boolean):
            frame[name] = frame[name].astype(bool)
        elif isinstance(type_, sa.Integer):
            frame[name] = frame[name].astype(np.int64)
        elif isinstance(type_, sa.Double):
            frame[name] = pd.to_numeric(frame[name]).astype(float)
        elif isinstance(type_, (sa.String, sa.Text)):
            frame[name] = frame[name].astype(str)
    return frame


def _newest_id() -> sa.ScalarSelect:
    return (
        sa.select(RUNS.c.backtest_id)
        .order_by(RUNS.c.run_at.desc(), RUNS.c.committed_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def backtest_history(engine: sa.Engine | str, *, retry_attempts: int = 4) -> pd.DataFrame:
    """``backtest_runs``, newest first (``figures`` is JSON text); empty with the columns when none."""
    engine = db.as_engine(engine)

    def read() -> pd.DataFrame:
        if not _tables_exist(engine):
            return _frame(RUNS, [])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*RUNS.columns)).all()
        frame = _frame(RUNS, rows)
        return frame.sort_values(["run_at", "committed_at"], ascending=False, ignore_index=True)

    return db.retry(read, attempts=retry_attempts, what="reading the backtest history", url=engine.url)


def backtest_results(
    engine: sa.Engine | str, backtest_id: str | None = None, *, retry_attempts: int = 4
) -> tuple[dict[str, Any] | None, pd.DataFrame, pd.DataFrame]:
    """(run row with ``figures`` parsed, results, weekly) of ``backtest_id`` (default: the newest).

    ``(None, empty, empty)`` when there is no such backtest. Results are in the order they were
    written: policies as run, then total, classes, echelons and cells (``BacktestResult.results``)."""
    engine = db.as_engine(engine)

    def read() -> tuple[dict[str, Any] | None, pd.DataFrame, pd.DataFrame]:
        empty = (None, _frame(RESULTS, []), _frame(WEEKLY, []))
        if not _tables_exist(engine):
            return empty
        with engine.connect() as conn:
            wanted = backtest_id if backtest_id is not None else conn.execute(sa.select(_newest_id())).scalar()
            if wanted is None:
                return empty
            run = conn.execute(sa.select(*RUNS.columns).where(RUNS.c.backtest_id == wanted)).mappings().first()
            if run is None:
                return empty
            results = conn.execute(sa.select(*RESULTS.columns).where(RESULTS.c.backtest_id == wanted)).all()
            weekly = conn.execute(sa.select(*WEEKLY.columns).where(WEEKLY.c.backtest_id == wanted)).all()
        record = dict(run)
        record["figures"] = json.loads(record["figures"])
        return (
            record,
            _ordered_results(_frame(RESULTS, results), record),
            _ordered_weekly(_frame(WEEKLY, weekly), record),
        )

    return db.retry(read, attempts=retry_attempts, what="reading backtest results", url=engine.url)


def latest_backtest(
    engine: sa.Engine | str, *, retry_attempts: int = 4
) -> tuple[dict[str, Any] | None, pd.DataFrame, pd.DataFrame]:
    """The newest backtest: (run row, results, weekly), as :func:`backtest_results`."""
    return backtest_results(engine, None, retry_attempts=retry_attempts)


def _ordered_results(frame: pd.DataFrame, run: Mapping[str, Any]) -> pd.DataFrame:
    """Policies in the order they were run; within one: total, classes, echelons, then the cells."""
    if frame.empty:
        return frame
    policies = {p: i for i, p in enumerate(str(run["policies"]).split(","))}
    all_ = spec.BACKTEST_ALL
    kind = np.select(
        [
            (frame["abc_class"] == all_) & (frame["echelon"] == all_),
            frame["echelon"] == all_,
            frame["abc_class"] == all_,
        ],
        [0, 1, 2],
        3,
    )
    order = pd.DataFrame(
        {
            "p": frame["policy"].map(policies).fillna(len(policies)),
            "k": kind,
            "a": frame["abc_class"],
            "e": frame["echelon"],
        }
    )
    index = order.sort_values(["p", "k", "a", "e"], kind="stable").index
    return frame.loc[index].reset_index(drop=True)


def _ordered_weekly(frame: pd.DataFrame, run: Mapping[str, Any]) -> pd.DataFrame:
    """Policies in the order they were run, then weeks."""
    if frame.empty:
        return frame
    policies = {p: i for i, p in enumerate(str(run["policies"]).split(","))}
    order = pd.DataFrame({"p": frame["policy"].map(policies).fillna(len(policies)), "w": frame["week"]})
    return frame.loc[order.sort_values(["p", "w"], kind="stable").index].reset_index(drop=True)
