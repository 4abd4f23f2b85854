"""Stock-out risk: ``P(demand over the protection interval > position)``, vectorised.

The distribution is the one the safety stock was sized with (columns ``safety_stock_method``,
``demand_over_protection`` = mean, ``demand_std_over_protection`` = standard deviation, in units):

- ``none`` (no demand): 0;
- any method with ``position <= 0`` and positive mean: 1 (nothing to sell from);
- ``normal``: ``1 - Phi((position - mean) / std)``; with ``std == 0`` demand is certain:
  1 when ``mean > position`` else 0;
- ``poisson``: ``P(N > floor(position))``, ``N ~ Poisson(mean)``;
- ``negative_binomial``: ``P(N > floor(position))``, ``N ~ nbinom(n, p)`` with ``p = mean / std²``,
  ``n = mean² / (std² - mean)`` (Poisson if ``std² <= mean``).

The result is in ``[0, 1]`` and non-increasing in ``position``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["demand_quantile", "distribution_rows", "exceedance_probability", "families", "stockout_risk"]


def distribution_rows(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, position: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows' distribution (method, mean, std) as arrays and ``position`` broadcast to one value per
    row (a fresh array); NaN positions are refused."""
    method = np.asarray(method, dtype=object)
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    pos = np.broadcast_to(np.asarray(position, dtype=float), (len(method),)).copy()
    if np.isnan(pos).any():
        raise ValueError("position must not be NaN")
    return method, mean, std, pos


def families(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``live`` by the distribution they are computed with: ``(normal, poisson, negbin)``. A
    negative binomial whose variance does not exceed its mean is the Poisson; for ``negbin`` rows scipy's
    ``nbinom(n, p)`` has ``n = mean² / (var - mean)``, ``p = mean / var``."""
    var = std * std
    normal = live & (method == "normal")
    poisson = live & ((method == "poisson") | ((method == "negative_binomial") & (var <= mean)))
    negbin = live & (method == "negative_binomial") & (var > mean)
    return normal, poisson, negbin


def exceedance_probability(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, position: np.ndarray | float
) -> np.ndarray:
    """``P(D > position)`` per row for the given distributions (see the module docstring)."""
    method, mean, std, pos = distribution_rows(method, mean, std, position)
    n = len(method)
    risk = np.zeros(n)
    demand = (method != "none") & (mean > 0)
    empty = demand & (pos <= 0)
    risk[empty] = 1.0
    live = demand & ~empty
    normal, poisson, negbin = families(method, mean, std, live)

    if normal.any():
        sd = std[normal]
        gap = pos[normal] - mean[normal]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            risk[normal] = np.where(sd > 0, stats.norm.sf(gap / np.where(sd > 0, sd, 1.0)), (gap < 0).astype(float))

    var = std * std
    if poisson.any():
        risk[poisson] = stats.poisson.sf(np.floor(pos[poisson]), mean[poisson])
    if negbin.any():
        m, v = mean[negbin], var[negbin]
        k = np.floor(pos[negbin])
        with np.errstate(all="ignore"):
            r = stats.nbinom.sf(k, m * m / (v - m), m / v)
        bad = ~np.isfinite(r)
        if bad.any():  # shape underflow for a vanishing mean: the Poisson limit
            r[bad] = stats.poisson.sf(k[bad], m[bad])
        risk[negbin] = r
    unknown = live & ~np.isin(method, ["normal", "poisson", "negative_binomial"])
    if unknown.any():
        raise ValueError(f"unknown safety_stock_method values: {sorted(set(method[unknown]))}")
    return np.clip(risk, 0.0, 1.0)


def demand_quantile(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, probability: np.ndarray | float
) -> np.ndarray:
    """The smallest ``y`` with ``P(D <= y) >= probability`` per row (the inverse of the module's
    distributions; a real number for the normal, whole units for the counts; 0 without demand).

    The newsvendor level of a row is this quantile at its critical fractile."""
    method, mean, std, p = distribution_rows(method, mean, std, probability)
    p = np.clip(p, 0.0, 1.0 - 1e-12)
    out = np.zeros(len(method))
    live = (method != "none") & (mean > 0)
    normal, poisson, negbin = families(method, mean, std, live)
    if normal.any():
        out[normal] = mean[normal] + std[normal] * stats.norm.ppf(p[normal])
    var = std * std
    if poisson.any():
        out[poisson] = stats.poisson.ppf(p[poisson], mean[poisson])
    if negbin.any():
        m, v = mean[negbin], var[negbin]
        with np.errstate(all="ignore"):
            q = stats.nbinom.ppf(p[negbin], m * m / (v - m), m / v)
        bad = ~np.isfinite(q)
        if bad.any():
            q[bad] = stats.poisson.ppf(p[negbin][bad], m[bad])
        out[negbin] = q
    return np.maximum(out, 0.0)


def stockout_risk(features: pd.DataFrame, position: np.ndarray | pd.Series | float) -> np.ndarray:
    """Stock-out risk of each ``abc_risk_features`` row if its inventory position were ``position``.

    ``position`` is aligned with the rows (an array of the same length, or a scalar). The optimization
    uses it for the risk after the plan (``position + order``).
    """
    pos = np.asarray(position.to_numpy(dtype=float) if isinstance(position, pd.Series) else position, dtype=float)
    if pos.ndim and len(pos) != len(features):
        raise ValueError(f"position has {len(pos)} values for {len(features)} rows")
    return exceedance_probability(
        features["safety_stock_method"].to_numpy(dtype=object),
        features["demand_over_protection"].to_numpy(dtype=float),
        features["demand_std_over_protection"].to_numpy(dtype=float),
        pos,
    )
