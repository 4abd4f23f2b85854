"""ABC (Pareto by annual consumption value) and XYZ (demand variability) classification, vectorised.

ABC, per product:

- ``annual_value = unit_cost * 365 * sum over the product's stocked locations of demand_mean``
  (direct demand only, so a unit is counted once, where it was sold; ``demand_mean`` is units/day).
- Rank products by ``annual_value``, highest first. For each product let ``share`` be the value of all
  products with a *strictly higher* value, divided by the total value. Then ``A`` when
  ``share < a_cutoff``, ``B`` when ``share < b_cutoff``, else ``C``. Equivalently: A is the smallest
  set of top products whose value reaches ``a_cutoff`` of the total (the product that crosses the line is
  in A), B likewise up to ``b_cutoff``.
- Ties get the same class (the class of the tie group's first place, so the result does not depend on
  row order or ids). Products with zero value are ``C``; when no product has value, all are ``C``.

XYZ, per row: ``demand_cv = echelon_demand_std / echelon_demand_mean`` (NaN without demand);
``X`` when ``cv <= x_cutoff``, ``Y`` when ``cv <= y_cutoff``, else ``Z``; rows without demand are ``Z``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from inventory_assets.contract.spec import ABC_CLASSES

__all__ = [
    "ABC_CLASSES",
    "XYZ_CLASSES",
    "DAYS_PER_YEAR",
    "annual_value",
    "share_of_higher_value",
    "abc_classes",
    "demand_cv",
    "xyz_classes",
    "product_codes",
]

XYZ_CLASSES = ("X", "Y", "Z")
DAYS_PER_YEAR = 365.0


def annual_value(product_codes: np.ndarray, demand_mean: np.ndarray, unit_cost: np.ndarray) -> np.ndarray:
    """Per product code: ``unit_cost * 365 * sum(demand_mean)``; ``unit_cost`` is per row (one per product)."""
    n = int(product_codes.max()) + 1 if len(product_codes) else 0
    units_per_day = np.bincount(product_codes, weights=demand_mean, minlength=n)
    cost = np.zeros(n)
    cost[product_codes] = unit_cost
    return units_per_day * DAYS_PER_YEAR * cost


def share_of_higher_value(values: np.ndarray) -> np.ndarray:
    """For each item: total value of items with a strictly higher value / total value (1.0 if total is 0)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return np.array([], dtype=float)
    order = np.argsort(-v, kind="stable")
    desc = v[order]
    running = np.cumsum(desc)
    total = running[-1]
    exclusive = np.concatenate([[0.0], running[:-1]])
    first_of_tie = np.searchsorted(-desc, -desc, side="left")
    out = np.empty_like(v)
    out[order] = exclusive[first_of_tie] / total if total > 0 else 1.0
    return out


def abc_classes(values: np.ndarray, a_cutoff: float = 0.80, b_cutoff: float = 0.95) -> np.ndarray:
    """ABC class (object array of ``"A"``/``"B"``/``"C"``) of each item from its value (see module doc)."""
    if not 0.0 < a_cutoff <= b_cutoff <= 1.0:
        raise ValueError(f"need 0 < a_cutoff <= b_cutoff <= 1, got {a_cutoff}, {b_cutoff}")
    v = np.asarray(values, dtype=float)
    if (~np.isfinite(v)).any() or (v < 0).any():
        raise ValueError("annual values must be finite and >= 0")
    share = share_of_higher_value(v)
    cls = np.where(share < a_cutoff, "A", np.where(share < b_cutoff, "B", "C")).astype(object)
    cls[v <= 0] = "C"
    return cls


def demand_cv(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Coefficient of variation ``std / mean``; NaN where ``mean == 0``."""
    std = np.asarray(std, dtype=float)
    mean = np.asarray(mean, dtype=float)
    out = np.full(len(mean), np.nan)
    pos = mean > 0
    out[pos] = std[pos] / mean[pos]
    return out


def xyz_classes(cv: np.ndarray, x_cutoff: float = 0.5, y_cutoff: float = 1.0) -> np.ndarray:
    """XYZ class (object array) from the coefficient of variation; NaN (no demand) is ``Z``."""
    if not 0.0 <= x_cutoff <= y_cutoff:
        raise ValueError(f"need 0 <= x_cutoff <= y_cutoff, got {x_cutoff}, {y_cutoff}")
    cv = np.asarray(cv, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(cv <= x_cutoff, "X", np.where(cv <= y_cutoff, "Y", "Z")).astype(object)


def product_codes(product_id: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer code per row and the sorted product index (codes follow the sorted ids)."""
    codes, uniques = pd.factorize(product_id.astype(str), sort=True)
    return codes.astype(np.int64), pd.Index(uniques, dtype=str)
