"""Independent blocks of numpy work on the CPUs the process may use, in threads.

numpy's and scipy's array kernels (ufuncs, reductions, ``einsum``, the special functions) release the GIL
while they run, so blocks of rows computed in threads of one process use every core with no copy of the
inputs and no pickling; the results are the same as one block after the other, whatever the number of
threads (each block is computed by the same code on the same rows).

glibc's allocator gives each thread an arena of its own and keeps what is freed there for reuse, so after
the threads have finished a process would hold several hundred megabytes more than one thread would have
left behind (the forecast at a million series: 0.4-0.5 GB, kept through the plan); `thread_map` hands
that back (``malloc_trim``) when its threads are done. Arrow's pool (mimalloc) keeps what Arrow-backed columns
freed in the same way; `return_freed_memory` returns both.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "PIECE_ROWS",
    "THREADS_DOC",
    "available_cpus",
    "in_pieces",
    "joined",
    "return_freed_memory",
    "thread_count",
    "thread_map",
]

THREADS_DOC = "Threads that compute blocks of rows at once; 0: one per CPU this process may use."
"""The description of a ``threads`` knob that `thread_count` reads."""

PIECE_ROWS = 200_000
"""Rows per piece where work row by row is cut into pieces for threads (`in_pieces`)."""


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not every platform has affinity masks
        return max(1, os.cpu_count() or 1)


def thread_count(threads: int) -> int:
    """``threads`` as a number of threads: 0 means `available_cpus`; a negative number is refused."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0: one per CPU), got {threads!r}")
    return threads or available_cpus()


def thread_map(func: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``func`` of each item, in the items' order, computed by up to ``threads`` threads at once (one: in
    this thread, one item after the other). An exception of ``func`` is raised where its result is taken."""
    items = list(items)
    workers = min(thread_count(threads), len(items))
    if workers <= 1:
        yield from map(func, items)
        return
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inventory-block") as pool:
            yield from pool.map(func, items)
    finally:
        return_freed_memory()


def in_pieces(func: Callable[[slice], R], rows: int, threads: int) -> list[R]:
    """``func`` of consecutive slices of at most `PIECE_ROWS` rows covering rows ``0 .. rows``, in order,
    computed by up to ``threads`` threads (0: one per CPU); one call, ``func(slice(0, rows))``, when the rows
    fit in one piece or there is one thread. For work row by row, whose values do not depend on the piece."""
    workers = thread_count(threads)
    if workers == 1 or rows <= PIECE_ROWS:
        return [func(slice(0, rows))]
    pieces = [slice(lo, min(lo + PIECE_ROWS, rows)) for lo in range(0, rows, PIECE_ROWS)]
    return list(thread_map(func, pieces, workers))


def joined(parts: list[Any]) -> Any:
    """The results of `in_pieces` as one: arrays concatenated, a dataclass of arrays field by field (the
    one part itself when there is one)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        fields = dataclasses.fields(first)
        return dataclasses.replace(
            first, **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields}
        )
    return np.concatenate(parts)


def return_freed_memory() -> None:
    """Give the memory the allocators keep for reuse back to the system: glibc's ``malloc_trim(0)``, which
    also empties the arenas of threads that have finished (nothing where the C library has no such call),
    and Arrow's memory pool's (``MemoryPool.release_unused``: mimalloc keeps what the frames of Arrow-backed
    columns freed; after the large sales read, 1.74 GB resident with nothing allocated, 0.22 GB after both)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the process's own C library (glibc on Linux)
    except (AttributeError, OSError):  # another C library (musl, macOS), or none to open
        return None
