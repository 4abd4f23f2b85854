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

Every function takes the methods as their names or as `method_codes` (their positions in
``SAFETY_STOCK_METHODS``): a caller that evaluates the same rows many times (the plan's cost curves) turns
the names into codes once, since comparing a million Python strings costs more than the arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from inventory_assets.contract.spec import SAFETY_STOCK_METHODS
from inventory_assets.parallel import in_pieces, joined

__all__ = [
    "demand_quantile",
    "distribution_rows",
    "exceedance_probability",
    "feature_distributions",
    "families",
    "method_codes",
    "stockout_risk",
]

NONE, NORMAL, POISSON, NEGATIVE_BINOMIAL = (
    SAFETY_STOCK_METHODS.index(name) for name in ("none", "normal", "poisson", "negative_binomial")
)
"""The codes of `method_codes`."""


def method_codes(method: np.ndarray) -> np.ndarray:
    """The methods as int8 codes, each its name's position in ``SAFETY_STOCK_METHODS`` (codes pass through,
    checked); a name or code that is not one of them raises ValueError naming it."""
    method = np.asarray(method)
    if method.dtype.kind in "iu":
        wrong = (method < 0) | (method >= len(SAFETY_STOCK_METHODS))
        if wrong.any():
            raise ValueError(f"unknown safety_stock_method codes: {sorted(set(method[wrong].tolist()))}")
        return method.astype(np.int8, copy=False)
    codes = np.full(method.shape, -1, dtype=np.int8)
    for code, name in enumerate(SAFETY_STOCK_METHODS):
        codes[method == name] = code
    unknown = codes < 0
    if unknown.any():
        raise ValueError(f"unknown safety_stock_method values: {sorted(set(map(str, method[unknown])))}")
    return codes


def distribution_rows(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, position: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows' distribution (method codes, mean, std) as arrays and ``position`` broadcast to one value per
    row (a fresh array); unknown methods and NaN positions are refused."""
    method = method_codes(method)
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    pos = np.broadcast_to(np.asarray(position, dtype=float), (len(method),)).copy()
    if np.isnan(pos).any():
        raise ValueError("position must not be NaN")
    return method, mean, std, pos


def families(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``live`` by the distribution they are computed with: ``(normal, poisson, negbin)``
    (``method``: `method_codes`). A negative binomial whose variance does not exceed its mean is the
    Poisson; for ``negbin`` rows scipy's ``nbinom(n, p)`` has ``n = mean² / (var - mean)``, ``p = mean / var``."""
    var = std * std
    normal = live & (method == NORMAL)
    poisson = live & ((method == POISSON) | ((method == NEGATIVE_BINOMIAL) & (var <= mean)))
    negbin = live & (method == NEGATIVE_BINOMIAL) & (var > mean)
    return normal, poisson, negbin


def exceedance_probability(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, position: np.ndarray | float, *, threads: int = 1
) -> np.ndarray:
    """``P(D > position)`` per row for the given distributions (see the module docstring); in pieces by
    ``threads`` threads (`parallel.in_pieces`, 0: one per CPU), the same values for any number."""
    method, mean, std, pos = distribution_rows(method, mean, std, position)
    return joined(
        in_pieces(lambda rows: _exceedance(method[rows], mean[rows], std[rows], pos[rows]), len(method), threads)
    )


def _exceedance(method: np.ndarray, mean: np.ndarray, std: np.ndarray, pos: np.ndarray) -> np.ndarray:
    n = len(method)
    risk = np.zeros(n)
    demand = (method != NONE) & (mean > 0)
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
    return np.clip(risk, 0.0, 1.0)


def demand_quantile(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, probability: np.ndarray | float, *, threads: int = 1
) -> np.ndarray:
    """The smallest ``y`` with ``P(D <= y) >= probability`` per row (the inverse of the module's
    distributions; a real number for the normal, whole units for the counts; 0 without demand); in pieces
    by ``threads`` threads as `exceedance_probability`.

    The newsvendor level of a row is this quantile at its critical fractile."""
    method, mean, std, p = distribution_rows(method, mean, std, probability)
    p = np.clip(p, 0.0, 1.0 - 1e-12)
    return joined(in_pieces(lambda rows: _quantile(method[rows], mean[rows], std[rows], p[rows]), len(method), threads))


def _quantile(method: np.ndarray, mean: np.ndarray, std: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.zeros(len(method))
    live = (method != NONE) & (mean > 0)
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


def stockout_risk(features: pd.DataFrame, position: np.ndarray | pd.Series | float, *, threads: int = 1) -> np.ndarray:
    """Stock-out risk of each ``abc_risk_features`` row if its inventory position were ``position``
    (`exceedance_probability`, by ``threads`` threads).

    ``position`` is aligned with the rows (an array of the same length, or a scalar). The optimization
    uses it for the risk after the plan (``position + order``).
    """
    return exceedance_probability(*feature_distributions(features, position), threads=threads)


def feature_distributions(
    features: pd.DataFrame, position: np.ndarray | pd.Series | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(method, mean, std, position)`` of the ``abc_risk_features`` rows over the protection interval, for
    the functions of this module and `service`; ``position`` as floats, aligned with the rows or a scalar
    (another length is refused)."""
    pos = np.asarray(position.to_numpy(dtype=float) if isinstance(position, pd.Series) else position, dtype=float)
    if pos.ndim and len(pos) != len(features):
        raise ValueError(f"position has {len(pos)} values for {len(features)} rows")
    return (
        features["safety_stock_method"].to_numpy(dtype=object),
        features["demand_over_protection"].to_numpy(dtype=float),
        features["demand_std_over_protection"].to_numpy(dtype=float),
        pos,
    )
