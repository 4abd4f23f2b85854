"""A worker process that aggregates some days of the sales window on SQLite (``queries._read_sales_by_day``).

Started as ``python -m inventory_assets.io.sales_worker IN OUT``: it reads ``(url, read, days,
timeout_seconds)`` (``read`` a ``queries.SalesRead``) pickled in file IN, aggregates the days on its own
connection, and pickles the frame, or the exception it raised, to file OUT. A plain subprocess, not ``multiprocessing``: it never re-imports
the caller's ``__main__``, and a daemonic process (a Celery prefork worker) may start it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def run_workers(jobs: list[tuple[Any, ...]]) -> list[pd.DataFrame]:
    """Run one worker per job side by side; their frames in job order (a worker's error is raised here)."""
    with tempfile.TemporaryDirectory(prefix="inventory_sales_") as folder:
        processes = []
        for i, job in enumerate(jobs):
            given, taken = Path(folder, f"in{i}.pkl"), Path(folder, f"out{i}.pkl")
            given.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            processes.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", __name__, str(given), str(taken)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
                    ),
                    taken,
                )
            )
        frames = []
        for process, taken in processes:
            _, stderr = process.communicate()
            if not taken.exists():
                raise RuntimeError(
                    f"the sales worker exited with {process.returncode}: {stderr.decode(errors='replace')[-2000:]}"
                )
            outcome = pickle.loads(taken.read_bytes())
            if isinstance(outcome, BaseException):
                raise outcome
            frames.append(outcome)
        return frames


def main(given: str, taken: str) -> None:
    from inventory_assets.io import db, queries

    url, read, days, timeout_seconds = pickle.loads(Path(given).read_bytes())
    engine = db.make_engine(url)
    try:
        outcome: object = queries.read_days(engine, read, days, timeout_seconds)
    except Exception as error:
        outcome = error
    finally:
        engine.dispose()
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        data = pickle.dumps(RuntimeError(f"{type(outcome).__name__}: {outcome} ({error})"))
    Path(taken).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
