"""Hand-built `abc_risk_features` frames for the optimization tests (columns of docs/frames.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

# A small network: one DC buying from suppliers, two stores replenished from it.
NETWORK = {"DC": None, "S1": "DC", "S2": "DC"}
ECHELON = {"DC": 0, "S1": 1, "S2": 1}

DEFAULTS: dict[str, object] = {
    "on_hand": 0.0,
    "on_order": 0.0,
    "unit_cost": 10.0,
    "holding_cost_rate": 0.365,  # x unit_cost / 365 x 7 days = 0.07 $/unit with unit_cost 10
    "stockout_cost": 5.0,
    "waste_cost": 0.0,
    "shelf_life_days": np.nan,
    "min_order_qty": 0.0,
    "order_multiple": 1.0,
    "forecast_demand_mean": 1.0,
    "abc_class": "C",
    "review_days": 7.0,
    "safety_stock": 0.0,
    "order_up_to": 0.0,
    "capacity_units": np.nan,
}


def features(rows: Iterable[Mapping[str, object]], network: Mapping[str, str | None] = NETWORK) -> pd.DataFrame:
    """A features frame from row dicts (``product_id``, ``location_id`` and overrides of `DEFAULTS`)."""
    records = []
    levels = _levels(network)
    for row in rows:
        rec = dict(DEFAULTS)
        rec.update(row)
        loc = str(rec["location_id"])
        rec["parent_location_id"] = network.get(loc)
        rec["echelon"] = levels.get(loc, 0)
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    frame["as_of"] = pd.Timestamp("2025-01-31")
    frame["inventory_position"] = frame["on_hand"] + frame["on_order"]
    # what the analytics risk function reads (docs/frames.md + inventory_assets.analytics.risk)
    frame["safety_stock_method"] = np.where(frame["forecast_demand_mean"] > 0, "normal", "none")
    frame["demand_over_protection"] = np.maximum(frame["order_up_to"] - frame["safety_stock"], 0.0)
    frame["demand_std_over_protection"] = np.maximum(frame["safety_stock"] / 2.0, 0.5)
    frame["stockout_risk"] = 0.5
    return frame


def _levels(network: Mapping[str, str | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for loc in network:
        level, cur = 0, network[loc]
        while cur is not None:
            level, cur = level + 1, network.get(cur)
        out[loc] = level
    return out


HOLD = 10.0 * 0.365 / 365.0 * 7.0
"""Holding cost per unit over the review period with the defaults (unit cost 10): 0.07."""
