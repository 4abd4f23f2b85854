"""The forecast against the future: forecast from a window that ends before the data does, score on what sold.

    .venv/bin/python benchmarks/forecast_accuracy.py --size medium --cut 56 --cut 28

Generates the demo preset in memory, and for each ``--cut`` (days before the last day of the data) forecasts
from the 90 days (at most what the data holds) ending there, with ``forecast_method: auto`` and
``window_mean``, then scores the store rows on the units sold in their next ``H`` days: mean absolute
error, root mean squared error, bias, the pinball loss and the coverage of the normal 90 % and 95 %
quantiles and of each row's own service level (its ABC class's, ``analytics.features.service_classes``)
(forecast mean + z x the forecast's error spread over ``H``, no lead-time term), overall and per chosen
method. One origin per cut: out of sample, unlike the rolling-origin figures the assets report, which are
printed too (``accuracy_table`` of the window ending at the cut, by method and by ABC class, the pinball
loss at each row's service level, as ``demand_forecast`` and ``abc_risk_features`` show them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.forecast_backtest import daily_sales
from inventory_assets.analytics.features import service_classes
from inventory_assets.analytics.merge import merge_dataset
from inventory_assets.demo import data as demo_data
from inventory_assets.forecast import FORECAST_METHODS, ForecastParameters, accuracy_table, forecast_demand


def score(size: str, cut: int) -> None:
    spec = demo_data.PRESETS[size]
    frames = demo_data.generate(spec)
    sales = daily_sales(frames.pop("sales"))
    end = sales["sale_date"].max() - pd.Timedelta(days=cut)
    start = max(end - pd.Timedelta(days=89), sales["sale_date"].min())
    tables = (frames[name] for name in ("inventory", "costs", "locations", "receipts"))
    merged, _ = merge_dataset(sales, *tables, window_start=start, window_end=end)
    classes = service_classes(merged)
    forecasts = {
        m: forecast_demand(
            sales,
            merged,
            window_start=start,
            window_end=end,
            params=ForecastParameters(forecast_method=m),
            service_level=classes.service_level,
        )[0]
        for m in FORECAST_METHODS
    }
    horizon = forecasts["auto"]["horizon_days"].to_numpy()
    key = pd.Index(merged["product_id"] + "@" + merged["location_id"])
    after = sales.loc[sales["sale_date"] > end]
    row = key.get_indexer(after["product_id"] + "@" + after["location_id"])
    day = (after["sale_date"] - end).dt.days.to_numpy()
    ok = (row >= 0) & (day <= horizon[np.maximum(row, 0)])
    actual = np.bincount(row[ok], weights=after["quantity"].to_numpy()[ok], minlength=len(merged))
    store = merged["echelon"].to_numpy() > 0
    print(f"{size}, window {start.date()}..{end.date()} (cut {cut} days), {int(store.sum()):,} store rows")
    judged = forecasts["auto"].assign(abc_class=classes.abc_class)
    with pd.option_context("display.width", 200, "display.precision", 3):
        print("  rolling-origin accuracy in the window (pinball at each row's service level), by method:")
        print(accuracy_table(judged, None).to_string(index=False))
        print("  by ABC class:")
        print(accuracy_table(judged, "abc_class").to_string(index=False))
    own = classes.service_level
    for method, frame in forecasts.items():
        mean = frame["forecast_mean"].to_numpy() * horizon
        spread = np.sqrt(frame["forecast_variance"].to_numpy() * horizon)
        error = (actual - mean)[store]
        rmse = np.sqrt((error**2).mean())
        line = f"  {method:12s} MAE {np.abs(error).mean():.3f}  RMSE {rmse:.3f}  bias {error.mean():.3f}"
        for label, tau in (("0.9", 0.90), ("0.95", 0.95), ("service", own)):
            level = np.broadcast_to(tau, mean.shape)[store]
            e = actual[store] - (mean + stats.norm.ppf(np.broadcast_to(tau, mean.shape)) * spread)[store]
            loss = np.maximum(level * e, (level - 1) * e).mean()
            line += f"  pinball@{label} {loss:.4f} cover {(e <= 0).mean():.3f}"
        print(line)
    chosen = forecasts["auto"]["forecast_method"].to_numpy()
    for name in np.unique(chosen[store]):
        rows = store & (chosen == name)
        mae = {m: np.abs(actual - f["forecast_mean"].to_numpy() * horizon)[rows].mean() for m, f in forecasts.items()}
        counts = f"{int(rows.sum()):7,} rows"
        print(f"    chosen {name:14s} {counts}  MAE auto {mae['auto']:.3f}  window_mean {mae['window_mean']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(demo_data.PRESETS), default="small")
    parser.add_argument("--cut", type=int, action="append", help="days before the last day (repeatable; default 56)")
    args = parser.parse_args()
    for cut in args.cut or [56]:
        score(args.size, cut)


if __name__ == "__main__":
    main()
