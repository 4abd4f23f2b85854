"""What the demand forecast buys: the backtest with ``forecast_method: auto`` against ``window_mean``.

    .venv/bin/python benchmarks/forecast_backtest.py --size small
    .venv/bin/python benchmarks/forecast_backtest.py --size medium --budget 100000   # about an hour, 2 cores

Generates the demo preset in memory (``demo.data.generate``; sale lines summed per day as the ``sales``
asset does), then runs ``run_backtest`` twice on the same data, the same lead-time draws and the same
policies, once per forecast method, and prints per policy and per ABC class: fill rate, lost value, mean
on-hand value, waste value and spend (docs/backtest.md defines each). Writes
``benchmarks/results/forecast_backtest_<size>.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory_assets.backtest import DEFAULT_POLICIES, BacktestSettings, run_backtest
from inventory_assets.demo import data as demo_data
from inventory_assets.forecast import FORECAST_METHODS

FIGURES = ["fill_rate", "lost_value", "mean_on_hand_value", "waste_value", "spend"]


def daily_sales(lines: pd.DataFrame) -> pd.DataFrame:
    """Sale lines summed per (day, product, location): the ``sales`` asset's frame."""
    day = pd.to_datetime(lines["sold_at"]).dt.normalize()
    frame = lines.assign(sale_date=day).groupby(["sale_date", "product_id", "location_id"], as_index=False)
    return frame["quantity"].sum()


def run(size: str, budget: float, policies: list[str], weeks: int, seed: int) -> dict:
    frames = demo_data.generate(demo_data.PRESETS[size])
    sales = daily_sales(frames["sales"])
    tables = []
    seconds = {}
    for method in FORECAST_METHODS:
        settings = BacktestSettings(
            policies=tuple(policies), budget=budget, weeks=weeks, seed=seed, forecast_method=method
        )
        t0 = time.perf_counter()
        result = run_backtest(
            sales,
            frames["inventory"],
            frames["costs"],
            frames["locations"],
            frames["receipts"],
            params=settings.parameters(),
            policies=policies,
        )
        seconds[method] = round(time.perf_counter() - t0, 1)
        tables.append(result.results.assign(forecast_method=method))
        print(f"{method}: {seconds[method]} s", flush=True)
    results = pd.concat(tables, ignore_index=True)
    every = results.loc[results["echelon"] == "all"]
    return {
        "size": size,
        "budget": budget,
        "weeks": weeks,
        "seed": seed,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "seconds": seconds,
        "totals": every.loc[every["abc_class"] == "all", ["forecast_method", "policy", *FIGURES]].to_dict("records"),
        "by_class": every.loc[
            every["abc_class"] != "all", ["forecast_method", "policy", "abc_class", *FIGURES]
        ].to_dict("records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(demo_data.PRESETS), default="small")
    parser.add_argument("--budget", type=float, default=BacktestSettings().budget, help="budget per review")
    parser.add_argument("--policies", default=",".join(DEFAULT_POLICIES), help="comma-separated policies")
    parser.add_argument("--weeks", type=int, default=8, help="held-out weeks (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the lead-time draws")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON report (default results/forecast_backtest_<size>.json)"
    )
    args = parser.parse_args()
    report = run(args.size, args.budget, args.policies.split(","), args.weeks, args.seed)
    out = args.out or Path(__file__).resolve().parent / "results" / f"forecast_backtest_{args.size}.json"
    out.write_text(json.dumps(report, indent=2, default=float))
    pd.set_option("display.width", 200)
    print(pd.DataFrame(report["totals"]).to_string(index=False))
    print(
        pd.DataFrame(report["by_class"]).sort_values(["policy", "abc_class", "forecast_method"]).to_string(index=False)
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
