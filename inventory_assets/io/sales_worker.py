"""A worker process that aggregates some days of the sales window on SQLite (``queries._read_sales_by_day``).

Started as ``python -m inventory_assets.io.sales_worker IN OUT`` (:mod:`inventory_assets.io.processes`): it
reads ``(url, read, days, timeout_seconds)`` (``read`` a ``queries.SalesRead``) pickled in file IN,
aggregates the days on its own connection, each day in a read-only transaction (``queries._read_day``,
``db.read_only``: ``PRAGMA query_only``, switched off again before the connection goes back to the pool),
and pickles the ``queries.SalesRows``, or the exception it raised, to file OUT.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from inventory_assets.io import db, processes, queries


def run_workers(jobs: list[tuple[Any, ...]]) -> list[queries.SalesRows]:
    """Run one worker per job side by side; their rows in job order (a worker's error is raised here)."""
    return processes.run_workers(queries.SALES_WORKER_MODULE, jobs)


def aggregate_days(
    url: str, read: queries.SalesRead, days: list[dt.date], timeout_seconds: float | None
) -> queries.SalesRows:
    """The by-day aggregate over ``days`` on a connection of this process."""
    engine = db.make_engine(url)
    try:
        return queries.read_days(engine, read, days, timeout_seconds)
    finally:
        engine.dispose()


def main(given: str, taken: str) -> None:
    processes.serve(given, taken, aggregate_days)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
