"""Writing a budget frontier to the plan database, and reading it back (no Dagster).

One table, generated from ``contract.spec.BUDGET_FRONTIER`` (docs/plan-store.md): one row per (run,
point). :func:`write_frontier` writes a run's points in ONE transaction, deleting any earlier copy of the
same run first (a retried write leaves one copy); transient faults are retried with backoff around the
whole transaction (:func:`db.retry`); errors carry the masked URL and no bound values.
"""

from __future__ import annotations

import logging
import time

import pandas as pd
import sqlalchemy as sa

from inventory_assets.contract import tables
from inventory_assets.io import db

__all__ = ["FRONTIER", "ensure_table", "read_frontier", "write_frontier"]

log = logging.getLogger(__name__)

FRONTIER = tables.BUDGET_FRONTIER


def ensure_table(engine: sa.Engine | str) -> None:
    """Create ``budget_frontier`` if it is missing (a lost creation race is ignored); an existing table that
    lacks a column raises :class:`db.DatabaseError` naming them."""
    db.create_tables(db.as_engine(engine), tables.FRONTIER_METADATA, [FRONTIER], "docs/plan-store.md")


def write_frontier(engine: sa.Engine | str, run_id: str, points: pd.DataFrame, *, retry_attempts: int = 4) -> int:
    """Commit the frontier ``points`` (``BudgetFrontier.points``) of run ``run_id``; returns the rows written.

    Values that cannot be stored raise ``ValueError`` before anything is written; an empty frontier is
    refused."""
    engine = db.as_engine(engine)
    db.check_id("run_id", run_id)
    if len(points) == 0:
        raise ValueError(f"refusing to write an empty budget frontier for run {run_id!r}")
    rows = db.table_rows(FRONTIER, points, {"run_id": run_id}, "the budget frontier")
    names = [c.name for c in FRONTIER.columns]
    db.retry(lambda: ensure_table(engine), attempts=retry_attempts, what="creating budget_frontier", url=engine.url)
    t0 = time.perf_counter()

    def attempt() -> None:
        with engine.begin() as conn:
            conn.execute(sa.delete(FRONTIER).where(FRONTIER.c.run_id == run_id))
            conn.execute(sa.insert(FRONTIER), [dict(zip(names, row, strict=True)) for row in rows])

    db.retry(attempt, attempts=retry_attempts, what=f"writing the budget frontier of run {run_id!r}", url=engine.url)
    log.info("budget frontier of run %s: %d points committed in %.2f s", run_id, len(rows), time.perf_counter() - t0)
    return len(rows)


def read_frontier(engine: sa.Engine | str, run_id: str) -> pd.DataFrame:
    """The points of run ``run_id``, by point (empty if there are none, or no table yet)."""
    engine = db.as_engine(engine)
    if not sa.inspect(engine).has_table(FRONTIER.name):
        return pd.DataFrame(columns=[c.name for c in FRONTIER.columns])
    query = sa.select(FRONTIER).where(FRONTIER.c.run_id == run_id).order_by(FRONTIER.c.point)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in FRONTIER.columns])
