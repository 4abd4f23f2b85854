"""Blocks of work in threads: the order of the results, the number of threads, errors, and that the threads
really run at once."""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from inventory_assets import parallel
from inventory_assets.parallel import available_cpus, thread_count, thread_map


def test_results_come_in_the_order_of_the_items_whatever_the_threads() -> None:
    items = list(range(50))
    for threads in (1, 2, 7, 100):
        assert list(thread_map(lambda k: k * k, items, threads)) == [k * k for k in items]
    assert list(thread_map(lambda k: k, [], 4)) == []


def test_several_threads_run_at_once_and_one_runs_in_the_callers_thread() -> None:
    barrier = threading.Barrier(2, timeout=10)  # each item waits for the other: only two threads get past it
    names = list(thread_map(lambda _: (barrier.wait(), threading.current_thread().name)[1], [0, 1], 2))
    assert len(set(names)) == 2 and all(name.startswith("inventory-block") for name in names)
    assert (
        list(thread_map(lambda _: threading.current_thread().name, [0, 1], 1)) == [threading.current_thread().name] * 2
    )


def test_an_error_of_an_item_is_raised_to_the_caller() -> None:
    def fail_on_three(k: int) -> int:
        if k == 3:
            raise ArithmeticError("item 3")
        return k

    for threads in (1, 2):
        with pytest.raises(ArithmeticError, match="item 3"):
            list(thread_map(fail_on_three, range(6), threads))


def test_zero_threads_means_one_per_usable_cpu_and_negative_is_refused() -> None:
    assert thread_count(0) == available_cpus() >= 1
    assert thread_count(3) == 3
    if hasattr(os, "sched_getaffinity"):
        assert available_cpus() == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="threads must be >= 0"):
        thread_count(-1)


def test_when_the_threads_are_done_what_they_freed_is_given_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc keeps memory the threads freed in their own arenas: `thread_map` calls ``malloc_trim`` once its
    threads are done (also after an error), never when it ran in the caller's thread. What it gives back is
    measured in docs/scaling-benchmarks.md (it varies from run to run, so no test here pins an amount)."""
    calls: list[int] = []
    monkeypatch.setattr(parallel, "return_freed_memory", lambda: calls.append(threading.active_count()))
    before = threading.active_count()
    assert list(thread_map(lambda k: np.ones((1000, 100)).sum() + k, range(6), 2)) == [1e5 + k for k in range(6)]
    assert calls == [before]  # once, with the block threads already gone
    with pytest.raises(ZeroDivisionError):
        list(thread_map(lambda k: 1 / (k - 3), range(6), 2))
    assert len(calls) == 2
    list(thread_map(lambda k: k, range(6), 1))
    assert len(calls) == 2


def test_malloc_trim_is_found_where_the_c_library_is_glibc_and_nothing_is_called_elsewhere() -> None:
    """glibc has ``malloc_trim``; musl and macOS's C library do not, and there giving back is a no-op."""
    trim = parallel._malloc_trim()
    assert (trim is not None) == (platform.libc_ver()[0] == "glibc"), platform.libc_ver()
    parallel.return_freed_memory()


def test_rows_are_cut_into_consecutive_pieces_only_when_threads_share_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PIECE_ROWS", 4)
    seen: list[tuple[int, int, str]] = []

    def piece(rows: slice) -> tuple[int, int]:
        seen.append((rows.start, rows.stop, threading.current_thread().name))
        return rows.start, rows.stop

    assert parallel.in_pieces(piece, 10, 2) == [(0, 4), (4, 8), (8, 10)]
    assert all(name.startswith("inventory-block") for _, _, name in seen)
    assert parallel.in_pieces(piece, 10, 1) == [(0, 10)]  # one thread: one call with every row
    assert parallel.in_pieces(piece, 4, 2) == [(0, 4)]  # rows that fit in one piece: one call
    assert parallel.in_pieces(piece, 0, 2) == [(0, 0)]
    with pytest.raises(ValueError, match="threads"):
        parallel.in_pieces(piece, 10, -1)


def test_the_pieces_results_are_joined_into_one() -> None:
    @dataclasses.dataclass(frozen=True)
    class Parts:
        a: np.ndarray
        b: np.ndarray

    pieces = [Parts(np.arange(3), np.ones(3)), Parts(np.arange(3, 5), np.zeros(2))]
    whole = parallel.joined(pieces)
    assert isinstance(whole, Parts)
    np.testing.assert_array_equal(whole.a, np.arange(5))
    np.testing.assert_array_equal(whole.b, [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(parallel.joined([np.arange(2), np.arange(2, 4)]), np.arange(4))
    one = np.arange(3)
    assert parallel.joined([one]) is one  # one piece: itself, no copy


@pytest.mark.skipif(sys.platform != "linux", reason="resident memory is read from /proc/self/status (Linux)")
def test_what_arrow_s_pool_keeps_after_arrays_are_freed_goes_back_to_the_system() -> None:
    """Arrow's allocator (mimalloc) keeps what freed arrays held; `return_freed_memory` gives it back too
    (measured in a fresh process: 400 MB of arrays Arrow allocated, nothing allocated after they are freed)."""
    code = """
import gc, re, numpy as np, pyarrow as pa, pyarrow.compute as pc
from inventory_assets import parallel
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1e3
base = rss()
arrays = [pc.add(pa.array(np.arange(i, i + 50_000, dtype=np.int64)), 1) for i in range(1000)]
del arrays
gc.collect()
assert pa.default_memory_pool().bytes_allocated() == 0
kept = rss() - base
parallel.return_freed_memory()
print(kept, rss() - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    kept, left = (float(v) for v in out.split())
    assert kept > 300  # MB the pool kept of the 400 MB freed (mimalloc's segments) ...
    assert left < kept - 250  # ... given back
