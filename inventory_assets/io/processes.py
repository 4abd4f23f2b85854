"""Run jobs in worker processes started as ``python -m <module> IN OUT`` (pickled job in, outcome out).

A plain subprocess, not ``multiprocessing``: it never re-imports the caller's ``__main__``, and a daemonic
process (a Celery prefork worker) may start it. The worker module calls :func:`serve` with its job function.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_workers", "serve"]


def run_workers(module: str, jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``python -m module`` once per job side by side; their outcomes in job order (a worker's error is
    raised here)."""
    with tempfile.TemporaryDirectory(prefix="inventory_workers_") as folder:
        processes = []
        for i, job in enumerate(jobs):
            given, taken = Path(folder, f"in{i}.pkl"), Path(folder, f"out{i}.pkl")
            given.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            processes.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", module, str(given), str(taken)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
                    ),
                    taken,
                )
            )
        outcomes = []
        for process, taken in processes:
            _, stderr = process.communicate()
            if not taken.exists():
                raise RuntimeError(
                    f"the worker {module} exited with {process.returncode}: {stderr.decode(errors='replace')[-2000:]}"
                )
            with open(taken, "rb") as file:  # streamed: never the whole pickle in memory beside its objects
                outcome = pickle.load(file)
            if isinstance(outcome, BaseException):
                raise outcome
            outcomes.append(outcome)
        return outcomes


def serve(given: str, taken: str, work: Callable[..., object]) -> None:
    """In a worker: ``work(*job)`` for the job pickled in file ``given``; its outcome (or the exception it
    raised) pickled to file ``taken``."""
    job = pickle.loads(Path(given).read_bytes())
    try:
        outcome: object = work(*job)
    except Exception as error:
        outcome = error
    try:
        with open(taken, "wb") as file:  # streamed, as `run_workers` reads it
            pickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        Path(taken).write_bytes(pickle.dumps(RuntimeError(f"{type(outcome).__name__}: {outcome} ({error})")))
