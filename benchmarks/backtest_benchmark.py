"""Time and memory of the backtest at a demo preset: read + validate the sources, replay, write.

    .venv/bin/python benchmarks/backtest_benchmark.py --size small
    .venv/bin/python benchmarks/backtest_benchmark.py --size medium --profile   # minutes; an idle machine

Generates the preset into temporary SQLite files with ``demo.data.build`` (not timed), then times the
three steps of ``inventory-assets backtest`` separately: reading and validating the five sources
(``io.backtest_sources``), ``run_backtest`` (the rolling origin: merge and features per review, the
policies, the simulation) and the write (``io.backtest_store``). Peak memory is ``VmHWM`` of
``/proc/self/status`` after resetting it just before the timed steps (so the generation does not count);
``ru_maxrss`` of the whole process is reported too. ``--profile`` adds the functions with the most
cumulative time inside ``run_backtest`` (cProfile), to say where the time goes.

Writes ``benchmarks/results/backtest_<size>.json`` (or ``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import platform
import pstats
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory_assets.backtest import (
    DEFAULT_POLICIES,
    BacktestSettings,
    comparison,
    format_comparison,
    run_backtest,
    sales_days_needed,
)
from inventory_assets.demo import data as demo_data
from inventory_assets.io import backtest_sources, backtest_store, db

RESULTS = Path(__file__).resolve().parent / "results"


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _profile_top(profile: cProfile.Profile, n: int = 15) -> list[dict[str, Any]]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {"function": f"{Path(file).name}:{line}({name})", "calls": calls, "own_s": tottime, "cum_s": cumtime}
        )
    rows.sort(key=lambda r: r["cum_s"], reverse=True)
    return [{**r, "own_s": round(r["own_s"], 2), "cum_s": round(r["cum_s"], 2)} for r in rows[:n]]


def run(size: str, settings: BacktestSettings, workdir: Path, profile: bool) -> dict[str, Any]:
    spec = demo_data.PRESETS[size]
    urls = {var: f"sqlite:///{workdir / (var.lower() + '.db')}" for var in db.DEFAULT_URLS}
    t0 = time.perf_counter()
    counts = demo_data.build(spec, urls[db.CLOUD_URL_VAR], urls[db.ONPREM_URL_VAR], replace=True)
    generate_s = time.perf_counter() - t0
    params = settings.parameters()
    peak_reset = _reset_peak()

    t0 = time.perf_counter()
    sources = backtest_sources.read_backtest_sources(
        db.make_engine(urls[db.CLOUD_URL_VAR]), db.make_engine(urls[db.ONPREM_URL_VAR]), sales_days_needed(params)
    )
    read_s = time.perf_counter() - t0

    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = run_backtest(**sources.frames, params=params, policies=settings.policies)
    if profiler is not None:
        profiler.disable()
    backtest_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    run_record = {**result.run, "seconds": backtest_s, "source": "benchmark"}
    written = backtest_store.write_backtest(
        urls[db.PLAN_URL_VAR], str(uuid.uuid4()), run_record, result.results, result.weekly
    )
    write_s = time.perf_counter() - t0
    table = comparison(result.results)
    report: dict[str, Any] = {
        "size": size,
        "products": spec.products,
        "locations": spec.dcs + spec.stores,
        "days": spec.days,
        "rows": counts,
        "pairs": int(result.run["pairs"]),
        "weeks": settings.weeks,
        "reviews": len(result.run["review_dates"]),
        "history_days": int(result.run["history_days"]),
        "policies": list(settings.policies),
        "budget": settings.budget,
        "seed": settings.seed,
        "generate_seconds": round(generate_s, 2),
        "read_validate_seconds": round(read_s, 2),
        "backtest_seconds": round(backtest_s, 2),
        "write_seconds": round(write_s, 3),
        "total_seconds": round(read_s + backtest_s + write_s, 2),
        "peak_rss_mb_timed": round(_peak_mb() or 0.0, 1) if peak_reset else None,
        "ru_maxrss_mb_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "result_rows": written.result_rows,
        "plan_critical_relaxed_reviews": result.run["plan_critical_relaxed_reviews"],
        "totals": json.loads(table.to_json(orient="records")),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    if profiler is not None:
        report["profile_top_cumulative"] = _profile_top(profiler)
    print(format_comparison(table), file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(demo_data.PRESETS), default="small", help="demo preset")
    parser.add_argument("--weeks", type=int, default=8, help="held-out weeks (default 8)")
    parser.add_argument("--policies", default=",".join(DEFAULT_POLICIES), help="comma-separated policies")
    parser.add_argument("--budget", type=float, default=BacktestSettings().budget, help="budget per review")
    parser.add_argument("--seed", type=int, default=0, help="seed of the lead-time draws")
    parser.add_argument("--profile", action="store_true", help="cProfile run_backtest; report the top functions")
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default results/backtest_<size>.json)")
    args = parser.parse_args(argv)
    settings = BacktestSettings(
        policies=tuple(p for p in args.policies.split(",") if p),
        weeks=args.weeks,
        budget=args.budget,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="backtest_bench_") as tmp:
        report = run(args.size, settings, args.workdir or Path(tmp), args.profile)
    out = args.out or RESULTS / f"backtest_{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
