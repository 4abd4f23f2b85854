"""Random small instances for oracle and property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inventory_assets.optimization.synthetic import synthetic_features


def random_instance(seed: int, n_products: int = 3, n_locations: int = 4) -> tuple[pd.DataFrame, float]:
    """A small synthetic features frame and a budget that is sometimes binding."""
    rng = np.random.default_rng(seed)
    frame = synthetic_features(
        n_products,
        n_locations,
        seed=seed,
        perishable_share=float(rng.choice([0.0, 0.5, 1.0])),
        capacity_share=float(rng.choice([0.0, 0.5, 1.0])),
        stock_level=float(rng.uniform(0.3, 1.0)),
    )
    # vary the DC's own stock so transfer limits bind sometimes
    dc = frame["echelon"] < frame["echelon"].max()
    frame.loc[dc, "on_hand"] = np.floor(frame.loc[dc, "on_hand"] * rng.uniform(0.3, 1.2, dc.sum()))
    root = frame["parent_location_id"].isna()
    need = ((frame["order_up_to"] - frame["on_hand"] - frame["on_order"]).clip(lower=0) * frame["unit_cost"])[root]
    budget = float(np.round(need.sum() * rng.choice([0.2, 0.6, 1.5]), 2)) + 1.0
    return frame, budget
