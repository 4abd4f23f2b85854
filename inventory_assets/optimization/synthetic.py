"""Synthetic `abc_risk_features` frames for tests and benchmarks (numpy, any size).

The network is a tree: one national DC (echelon 0); with 6 or more locations, regional DCs
(echelon 1, about one per five stores); stores at the bottom.  Every product is stocked at
every location.  Statistics follow docs/frames.md closely enough for the plan: pooled
(echelon) demand at DCs, order-up-to = mean demand over protection + safety stock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

_SERVICE = {"A": 0.98, "B": 0.95, "C": 0.90}


def network(n_locations: int) -> pd.DataFrame:
    """Locations: id, echelon, parent (None for the national DC)."""
    if n_locations < 1:
        raise ValueError("need at least one location")
    ids = ["DC00"]
    parents: list[str | None] = [None]
    echelons = [0]
    if n_locations >= 6:
        n_regional = max(1, (n_locations - 1) // 6)
        regional = [f"RDC{r:02d}" for r in range(n_regional)]
        ids += regional
        parents += ["DC00"] * n_regional
        echelons += [1] * n_regional
        n_stores = n_locations - 1 - n_regional
        ids += [f"S{s:04d}" for s in range(n_stores)]
        parents += [regional[s % n_regional] for s in range(n_stores)]
        echelons += [2] * n_stores
    else:
        ids += [f"S{s:04d}" for s in range(n_locations - 1)]
        parents += ["DC00"] * (n_locations - 1)
        echelons += [1] * (n_locations - 1)
    return pd.DataFrame({"location_id": ids, "echelon": echelons, "parent_location_id": parents})


def synthetic_features(
    n_products: int,
    n_locations: int,
    *,
    seed: int = 0,
    perishable_share: float = 0.2,
    capacity_share: float = 0.0,
    stock_level: float = 0.6,
) -> pd.DataFrame:
    """A features frame of ``n_products x n_locations`` rows (sorted by product, location).

    ``stock_level`` scales today's stock relative to the order-up-to level (below 1: most
    rows need replenishment).  ``capacity_share`` of the stores get a capacity at about
    their target total.
    """
    rng = np.random.default_rng(seed)
    locs = network(n_locations)
    n_loc = len(locs)
    P = n_products
    n = P * n_loc
    prod_idx = np.repeat(np.arange(P), n_loc)
    loc_idx = np.tile(np.arange(n_loc), P)
    echelon = locs["echelon"].to_numpy()[loc_idx]
    max_e = int(locs["echelon"].max())

    # product attributes
    unit_cost = np.round(rng.lognormal(2.5, 0.8, P), 2) + 0.5
    holding_rate = rng.uniform(0.15, 0.35, P)
    stockout_cost = unit_cost * rng.uniform(0.5, 2.0, P)
    waste_cost = unit_cost * rng.uniform(0.8, 1.2, P)
    perishable = rng.random(P) < perishable_share
    shelf = np.where(perishable, rng.integers(5, 40, P).astype(float), np.nan)
    order_multiple = rng.choice([1.0, 1.0, 6.0, 12.0, 24.0], P)
    moq = np.where(rng.random(P) < 0.3, order_multiple * rng.integers(1, 4, P), 0.0)

    # direct demand at stores (and a little at DCs when there are no stores)
    store = echelon == max_e
    base_rate = rng.lognormal(0.5, 1.0, P)[prod_idx]
    demand_mean = np.where(store, base_rate * rng.uniform(0.3, 1.7, n), 0.0)
    if n_loc == 1:
        demand_mean = base_rate.copy()
    demand_std = np.sqrt(demand_mean) * rng.uniform(0.8, 1.5, n)

    # echelon demand: sum over descendants (tree by echelon, bottom-up)
    parent_of = locs["parent_location_id"].map({loc: i for i, loc in enumerate(locs["location_id"])})
    parent_loc = parent_of.fillna(-1).astype(int).to_numpy()
    mean_grid = demand_mean.reshape(P, n_loc).copy()  # (product, location)
    var_grid = (demand_std**2).reshape(P, n_loc).copy()
    for e in range(max_e, 0, -1):
        for j in np.flatnonzero(locs["echelon"].to_numpy() == e):
            mean_grid[:, parent_loc[j]] += mean_grid[:, j]
            var_grid[:, parent_loc[j]] += var_grid[:, j]
    ech_mean = mean_grid.ravel()
    ech_std = np.sqrt(var_grid.ravel())

    annual_value = demand_mean.reshape(P, n_loc).sum(axis=1) * unit_cost * 365
    order = np.argsort(-annual_value)
    share = np.cumsum(annual_value[order]) / max(annual_value.sum(), 1e-12)
    abc_p = np.empty(P, dtype=object)
    abc_p[order] = np.where(share <= 0.8, "A", np.where(share <= 0.95, "B", "C"))
    abc = abc_p[prod_idx]
    service = np.vectorize(_SERVICE.get)(abc).astype(float)
    z = norm.ppf(service)

    lead_mean = np.where(echelon == 0, rng.uniform(7, 21, n), rng.uniform(1, 4, n))
    lead_std = lead_mean * rng.uniform(0.1, 0.3, n)
    review = np.full(n, 7.0)
    protection = lead_mean + review
    dop = ech_mean * protection
    safety = z * np.sqrt(protection * ech_std**2 + ech_mean**2 * lead_std**2)
    order_up_to = dop + safety
    store_stock = rng.uniform(0.0, 2 * stock_level, n)
    dc_stock = rng.uniform(0.6, 1.4, n)  # DCs hold enough to supply their stores' minimums
    # what the children could ask for: their targets plus a pack and MOQ each
    ask = (order_up_to + order_multiple[prod_idx] + moq[prod_idx]).reshape(P, n_loc)
    child_ask = np.zeros((P, n_loc))
    for j in np.flatnonzero(parent_loc >= 0):
        child_ask[:, parent_loc[j]] += ask[:, j]
    dc_floor = child_ask.ravel() * rng.uniform(1.0, 1.3, n)
    on_hand = np.floor(np.where(store, order_up_to * store_stock, np.maximum(order_up_to * dc_stock, dc_floor)))
    on_order = np.where(rng.random(n) < 0.3, np.floor(order_up_to * rng.uniform(0, 0.3, n)), 0.0)
    position = on_hand + on_order
    sigma_t = np.sqrt(protection * ech_std**2 + ech_mean**2 * lead_std**2)
    risk = np.where(ech_mean > 0, norm.sf((position - dop) / np.maximum(sigma_t, 1e-12)), 0.0)

    cap_loc = np.full(n_loc, np.nan)
    stores = np.flatnonzero(locs["echelon"].to_numpy() == max_e)
    chosen = stores[rng.random(len(stores)) < capacity_share]
    if len(chosen):
        tgt_by_loc = np.bincount(loc_idx, weights=order_up_to, minlength=n_loc)
        cap_loc[chosen] = np.round(tgt_by_loc[chosen] * rng.uniform(0.8, 1.3, len(chosen)))

    product_ids = np.array([f"P{p:07d}" for p in range(P)], dtype=object)
    frame = pd.DataFrame(
        {
            "product_id": product_ids[prod_idx],
            "location_id": locs["location_id"].to_numpy()[loc_idx],
            "on_hand": on_hand,
            "on_order": on_order,
            "as_of": pd.Timestamp("2025-01-31"),
            "unit_cost": unit_cost[prod_idx],
            "holding_cost_rate": holding_rate[prod_idx],
            "stockout_cost": stockout_cost[prod_idx],
            "waste_cost": waste_cost[prod_idx],
            "shelf_life_days": shelf[prod_idx],
            "min_order_qty": moq[prod_idx],
            "order_multiple": order_multiple[prod_idx],
            "echelon": echelon,
            "parent_location_id": locs["parent_location_id"].to_numpy()[loc_idx],
            "capacity_units": cap_loc[loc_idx],
            "window_days": 90.0,
            "demand_total": demand_mean * 90,
            "demand_mean": demand_mean,
            "demand_std": demand_std,
            "sale_days": np.minimum(90.0, np.ceil(demand_mean * 60)),
            "last_sale_date": pd.Timestamp("2025-01-30"),
            "echelon_demand_mean": ech_mean,
            "echelon_demand_std": ech_std,
            "lead_time_mean": lead_mean,
            "lead_time_std": lead_std,
            "lead_time_receipts": 5,
            "lead_time_level": "pair",
            "annual_value": annual_value[prod_idx],
            "abc_class": abc,
            "demand_cv": np.where(ech_mean > 0, ech_std / np.maximum(ech_mean, 1e-12), np.nan),
            "xyz_class": "Y",
            "forecast_method": np.where(ech_mean > 0, "window_mean", "none"),
            "forecast_demand_mean": ech_mean,
            "forecast_demand_std": ech_std,
            "service_level": service,
            "z_value": z,
            "review_days": review,
            "protection_days": protection,
            "demand_over_protection": dop,
            "demand_std_over_protection": sigma_t,
            "safety_stock": safety,
            "safety_stock_method": np.where(ech_mean > 0, "normal", "none"),
            "order_up_to": order_up_to,
            "reorder_point": lead_mean * ech_mean + safety,
            "inventory_position": position,
            "days_of_cover": np.where(ech_mean > 0, position / np.maximum(ech_mean, 1e-12), np.inf),
            "stockout_risk": risk,
            "expected_waste_units": 0.0,
            "expected_waste_value": 0.0,
        }
    )
    frame = frame.sort_values(["product_id", "location_id"], ignore_index=True)
    return frame
