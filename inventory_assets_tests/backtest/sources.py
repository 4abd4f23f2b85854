"""Tiny hand-built source frames for the backtest tests (the shapes the ``sales``, ``inventory``, ...
assets hand to ``merged_dataset``: docs/frames.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-01")
"""First day of the data window."""

COST_DEFAULTS: dict[str, Any] = {
    "unit_cost": 10.0,
    "holding_cost_rate": 0.2,
    "stockout_cost": 5.0,
    "waste_cost": 10.0,
    "shelf_life_days": np.nan,
    "min_order_qty": 0.0,
    "order_multiple": 1.0,
}


def day(n: int) -> pd.Timestamp:
    return START + pd.Timedelta(days=n)


def locations(network: Mapping[str, str | None]) -> pd.DataFrame:
    """``{location: parent}`` -> the ``locations`` frame (echelon = depth)."""
    depth = {}
    for loc in network:
        level, cur = 0, network[loc]
        while cur is not None:
            level, cur = level + 1, network[cur]
        depth[loc] = level
    ids = sorted(network)
    return pd.DataFrame(
        {
            "location_id": pd.Series(ids, dtype=str),
            "name": pd.Series(ids, dtype=str),
            "echelon": [depth[i] for i in ids],
            "parent_location_id": pd.Series([network[i] for i in ids], dtype=object),
            "capacity_units": np.nan,
        }
    )


def costs(products: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    rows = []
    for product, overrides in sorted(products.items()):
        rec = {"product_id": product, **COST_DEFAULTS, **overrides}
        rows.append(rec)
    return pd.DataFrame(rows)


def inventory(stock: Mapping[tuple[str, str], tuple[float, float]], as_of: pd.Timestamp) -> pd.DataFrame:
    """``{(product, location): (on_hand, on_order)}``."""
    keys = sorted(stock)
    return pd.DataFrame(
        {
            "product_id": pd.Series([k[0] for k in keys], dtype=str),
            "location_id": pd.Series([k[1] for k in keys], dtype=str),
            "on_hand": [float(stock[k][0]) for k in keys],
            "on_order": [float(stock[k][1]) for k in keys],
            "as_of": as_of,
        }
    )


def sales(
    pairs: Iterable[tuple[str, str]], days: int, units: Callable[[str, str, int], float], start: pd.Timestamp = START
) -> pd.DataFrame:
    """Daily sales rows (only days with ``units > 0``), attrs carrying the data window."""
    rows = []
    for product, location in pairs:
        for d in range(days):
            q = float(units(product, location, d))
            if q > 0:
                rows.append((start + pd.Timedelta(days=d), product, location, q))
    frame = pd.DataFrame(rows, columns=["sale_date", "product_id", "location_id", "quantity"])
    frame["sale_date"] = pd.to_datetime(frame["sale_date"])
    frame["product_id"] = frame["product_id"].astype(str)
    frame["location_id"] = frame["location_id"].astype(str)
    frame["sale_lines"] = 1
    frame = frame.sort_values(["sale_date", "product_id", "location_id"]).reset_index(drop=True)
    frame.attrs["window_start"] = start
    frame.attrs["window_end"] = start + pd.Timedelta(days=days - 1)
    return frame


def receipts(rows: Iterable[tuple[str, str, int, int]]) -> pd.DataFrame:
    """``(product, location, ordered day, lead days)`` -> the ``receipts`` frame."""
    records = [(p, loc, day(o), day(o + lead), 10.0) for p, loc, o, lead in rows]
    frame = pd.DataFrame(records, columns=["product_id", "location_id", "ordered_at", "received_at", "quantity"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    return frame


def sources(
    *,
    network: Mapping[str, str | None],
    products: Mapping[str, Mapping[str, Any]],
    stock: Mapping[tuple[str, str], tuple[float, float]],
    days: int,
    units: Callable[[str, str, int], float],
    receipt_rows: Iterable[tuple[str, str, int, int]] = (),
) -> dict[str, pd.DataFrame]:
    """The five source frames, keyword names as ``run_backtest`` takes them."""
    return {
        "sales": sales(stock.keys(), days, units),
        "inventory": inventory(stock, day(days - 1)),
        "costs": costs(products),
        "locations": locations(network),
        "receipts": receipts(receipt_rows),
    }
