"""Time and memory of the features layer: ``merge_dataset`` + ``forecast_demand`` + ``compute_features``.

    .venv/bin/python benchmarks/features_benchmark.py --size large

Builds source-shaped frames in memory (a local numpy generator; the sources themselves are not timed),
then runs the three steps once and prints wall seconds and peak resident memory (the forecast with
``forecast_method: auto``, and the old rule ``window_mean`` timed in the same run for the ratio). Sizes:

    small   1,000 products x 10 locations, 90 days
    medium 10,000 products x 10 locations, 90 days
    large 100,000 products x 10 locations, 90 days  (1M pairs, ~12M daily sales rows)

Network: one national DC (echelon 0) -> two regional DCs (echelon 1) -> seven stores (echelon 2).
Sales happen at stores only, mostly intermittent (each store pair sells on a Beta(0.6, 2.4) share of
days, mean 20 %); ~3 % of store pairs sell but are not stocked (they exercise the "unstocked" path).
Strings are distinct Python objects per row, like frames read from a database.

Peak memory: ``VmHWM`` of ``/proc/self/status`` after resetting it (``/proc/self/clear_refs``) just
before the timed section, so it is the peak *during* the features step (sources included, since they
are in memory); ``ru_maxrss`` (whole process, generation included) is printed too.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory_assets.analytics.features import FeatureParameters, compute_features, summarize_features
from inventory_assets.analytics.merge import merge_dataset
from inventory_assets.forecast import ForecastParameters, forecast_demand

SIZES = {"small": 1_000, "medium": 10_000, "large": 100_000}
WINDOW_START = pd.Timestamp("2025-01-01")


def _strings(pool: np.ndarray, codes: np.ndarray) -> pd.Series:
    """A ``str`` Series whose elements are distinct objects (as from a database driver)."""
    fixed = pool.astype("U")[codes]
    return pd.Series(fixed.astype(object), dtype="str")


def make_frames(n_products: int, days: int = 90, seed: int = 7) -> dict[str, Any]:
    """Source-shaped frames (columns of docs/frames.md) for ``n_products`` x 10 locations, and the sales
    window's first and last day (``window_start``, ``window_end``)."""
    rng = np.random.default_rng(seed)
    window_end = WINDOW_START + pd.Timedelta(days=days - 1)
    products = np.array([f"P{i:07d}" for i in range(n_products)])
    loc_ids = np.array([f"L{i:02d}" for i in range(10)])
    parents = [None, "L00", "L00", "L01", "L01", "L01", "L02", "L02", "L02", "L02"]
    echelon = [0, 1, 1, 2, 2, 2, 2, 2, 2, 2]
    locations = pd.DataFrame(
        {
            "location_id": pd.Series(loc_ids, dtype="str"),
            "name": pd.Series([f"site {i}" for i in range(10)], dtype="str"),
            "echelon": np.array(echelon, dtype=np.int64),
            "parent_location_id": pd.Series(parents, dtype="str"),
            "capacity_units": np.where(np.arange(10) < 3, np.nan, 5e6),
        }
    )
    stores = np.arange(3, 10)

    unit_cost = np.round(rng.lognormal(2.5, 1.0, n_products), 2) + 0.5
    perishable = rng.random(n_products) < 0.2
    costs = pd.DataFrame(
        {
            "product_id": pd.Series(products, dtype="str"),
            "unit_cost": unit_cost,
            "holding_cost_rate": rng.uniform(0.15, 0.3, n_products),
            "stockout_cost": unit_cost * rng.uniform(0.5, 3.0, n_products),
            "waste_cost": unit_cost * 0.8,
            "shelf_life_days": np.where(perishable, rng.integers(5, 60, n_products), np.nan).astype(float),
            "min_order_qty": np.where(rng.random(n_products) < 0.3, 10.0, 0.0),
            "order_multiple": rng.choice([1.0, 6.0, 12.0], n_products),
        }
    )

    # Store pairs: sale probability per day and size of a sale.
    sp_prod = np.repeat(np.arange(n_products), len(stores))
    sp_loc = np.tile(stores, n_products)
    n_sp = len(sp_prod)
    p_sale = rng.beta(0.6, 2.4, n_sp)
    size = rng.gamma(1.0, 2.0, n_sp) + 0.5
    parts_pair, parts_day = [], []
    chunk = 50_000
    for lo in range(0, n_sp, chunk):
        hi = min(n_sp, lo + chunk)
        hit = rng.random((hi - lo, days)) < p_sale[lo:hi, None]
        r, d = np.nonzero(hit)
        parts_pair.append(r + lo)
        parts_day.append(d)
    s_pair = np.concatenate(parts_pair)
    s_day = np.concatenate(parts_day)
    qty = 1.0 + rng.poisson(size[s_pair])
    order = np.lexsort((sp_loc[s_pair], sp_prod[s_pair], s_day))  # by (sale_date, product, location)
    s_pair, s_day, qty = s_pair[order], s_day[order], qty[order]
    sales = pd.DataFrame(
        {
            "sale_date": (WINDOW_START + pd.to_timedelta(s_day, unit="D")).astype("datetime64[ns]"),
            "product_id": _strings(products, sp_prod[s_pair]),
            "location_id": _strings(loc_ids, sp_loc[s_pair]),
            "quantity": qty,
            "sale_lines": rng.integers(1, 4, len(s_pair)),
        }
    )

    # Inventory: every product at the DCs, 97 % of store pairs.
    stocked_store = rng.random(n_sp) >= 0.03
    inv_prod = np.concatenate([np.repeat(np.arange(n_products), 3), sp_prod[stocked_store]])
    inv_loc = np.concatenate([np.tile(np.arange(3), n_products), sp_loc[stocked_store]])
    key_order = np.lexsort((inv_loc, inv_prod))
    inv_prod, inv_loc = inv_prod[key_order], inv_loc[key_order]
    rate = np.bincount(sp_prod, weights=p_sale * (1.0 + size), minlength=n_products)  # product units/day
    cover = rng.uniform(0, 30, len(inv_prod))
    scale = np.where(inv_loc < 3, 2.0, 1.0 / len(stores))
    inventory = pd.DataFrame(
        {
            "product_id": _strings(products, inv_prod),
            "location_id": _strings(loc_ids, inv_loc),
            "on_hand": np.floor(rate[inv_prod] * scale * cover),
            "on_order": np.where(rng.random(len(inv_prod)) < 0.2, np.floor(rate[inv_prod] * scale * 7), 0.0),
            "as_of": np.full(len(inv_prod), np.datetime64(window_end, "ns")),
        }
    )

    # Receipts: ~1.5 per pair, lead time per product and location plus noise.
    n_r = rng.poisson(1.5, len(inv_prod))
    r_pair = np.repeat(np.arange(len(inv_prod)), n_r)
    base = rng.uniform(2, 14, n_products)[inv_prod[r_pair]] + np.where(inv_loc[r_pair] < 3, 5.0, 0.0)
    lead = np.maximum(0, np.round(base + rng.gamma(2.0, 1.0, len(r_pair)))).astype(np.int64)
    ordered = WINDOW_START + pd.to_timedelta(rng.integers(0, days, len(r_pair)), unit="D")
    receipts = pd.DataFrame(
        {
            "product_id": _strings(products, inv_prod[r_pair]),
            "location_id": _strings(loc_ids, inv_loc[r_pair]),
            "ordered_at": ordered.astype("datetime64[ns]"),
            "received_at": (ordered + pd.to_timedelta(lead, unit="D")).astype("datetime64[ns]"),
            "quantity": rng.integers(1, 100, len(r_pair)).astype(float),
        }
    )
    return {
        "sales": sales,
        "inventory": inventory,
        "costs": costs,
        "locations": locations,
        "receipts": receipts,
        "window_start": WINDOW_START,
        "window_end": window_end,
    }


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run(size: str, repeat: int = 1) -> dict[str, Any]:
    n_products = SIZES[size]
    t0 = time.perf_counter()
    frames = make_frames(n_products)
    generated = time.perf_counter() - t0
    gc.collect()
    rss_before = _status_kib("VmRSS")
    peak_reset = _reset_peak()
    timings = []
    for _ in range(repeat):
        t1 = time.perf_counter()
        merged, report = merge_dataset(
            frames["sales"],
            frames["inventory"],
            frames["costs"],
            frames["locations"],
            frames["receipts"],
            window_start=frames["window_start"],
            window_end=frames["window_end"],
        )
        t2 = time.perf_counter()
        window = {"window_start": frames["window_start"], "window_end": frames["window_end"]}
        old, _ = forecast_demand(
            frames["sales"], merged, params=ForecastParameters(forecast_method="window_mean"), **window
        )
        t3 = time.perf_counter()
        forecast, forecast_report = forecast_demand(frames["sales"], merged, **window)
        t4 = time.perf_counter()
        del old
        features = compute_features(merged, FeatureParameters(), forecast)
        t5 = time.perf_counter()
        timings.append((t2 - t1, t4 - t3, t5 - t4, t3 - t2))
    peak_kib = _status_kib("VmHWM") if peak_reset else None
    summary = summarize_features(features)
    merge_s, forecast_s, features_s, window_mean_s = min(timings, key=lambda t: t[0] + t[1] + t[2])
    result = {
        "size": size,
        "products": n_products,
        "pairs": len(merged),
        "sales_rows": len(frames["sales"]),
        "receipts_rows": len(frames["receipts"]),
        "generate_seconds": round(generated, 2),
        "merge_seconds": round(merge_s, 2),
        "forecast_seconds": round(forecast_s, 2),
        "forecast_window_mean_seconds": round(window_mean_s, 3),
        "features_seconds": round(features_s, 2),
        "total_seconds": round(merge_s + forecast_s + features_s, 2),
        "forecast_methods": forecast_report.methods,
        "rss_before_gib": round(rss_before / 2**20, 3) if rss_before else None,
        "peak_rss_during_gib": round(peak_kib / 2**20, 3) if peak_kib else None,
        "peak_rss_process_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "unstocked_sales_pairs": report.unstocked_sales_pairs,
        "stocked_pairs_without_sales": report.stocked_pairs_without_sales,
        "lead_time_levels": report.lead_time_levels,
        "methods": summary.safety_stock_methods,
        "abc_products": summary.abc_products,
        "items_at_risk": summary.items_at_risk,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the timed section (best is kept)")
    args = parser.parse_args()
    result = run(args.size, args.repeat)
    print(json.dumps(result, indent=2))
    ok = result["forecast_seconds"] < 120 and (result["peak_rss_during_gib"] or 0) < 8
    print(f"forecast target (< 120 s, features step < 8 GiB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
