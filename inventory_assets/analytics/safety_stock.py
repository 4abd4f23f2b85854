"""Demand over the protection interval, its distribution, and safety stock, vectorised with scipy.stats.

Per row, with ``mu`` / ``sigma_d`` the daily demand mean / standard deviation (units/day), ``L`` /
``sigma_L`` the lead-time mean / standard deviation (days) and ``R`` the review period (days):

- protection interval ``T = L + R`` (days);
- demand over ``T``: mean ``m = mu * T``, variance ``v = T * sigma_d**2 + mu**2 * sigma_L**2`` (units²);
- method (distribution of the demand over ``T``):

  - ``none`` when ``mu == 0``: no demand, safety stock 0;
  - ``normal`` for regular items: ``SS = max(0, z * sqrt(v))``, ``z = Phi^-1(service level)``;
  - intermittent items (see :func:`is_intermittent`): ``poisson`` with mean ``m`` when ``v <= m``, else
    ``negative_binomial`` with mean ``m`` and variance ``v`` (method of moments: ``p = m / v``,
    ``n = m**2 / (v - m)``, scipy's ``nbinom(n, p)``); ``SS = max(0, Q(service level) - m)`` with
    ``Q`` the distribution's quantile (an integer number of units).

- monotone discrete safety stock (``monotone=True``, the default). For a skewed discrete distribution
  the quantile at a fixed mean is *not* monotone in the variance: more spread also puts more mass on
  zero, so a more erratic item can get less stock (e.g. ``m = 0.225``, service level 0.80: Poisson gives
  ``Q = 1``, a negative binomial with 1 % more variance gives ``Q = 0``). Planning must never hold less
  protection because demand became more erratic, so for the discrete methods the dispersion ratio
  ``r = v / m`` is rounded *up* to a geometric grid ``g_k = rho**k`` (``rho = dispersion_grid_ratio``,
  ``k = 0`` is the Poisson) and the safety stock is the largest ``max(0, Q_k - m)`` over the grid points
  ``g_0 .. g_K`` up to the item's own ``g_K``. The distribution reported (and used for the stock-out
  risk) is the negative binomial with variance ``m * g_K`` (at most ``rho`` times the sample variance),
  under which the order-up-to level ``m + SS`` still has ``P(D_T > m + SS) <= 1 - service level``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from inventory_assets.contract.spec import SAFETY_STOCK_METHODS as METHODS
from inventory_assets.parallel import in_pieces, joined

__all__ = [
    "METHODS",
    "SafetyStock",
    "protection_demand",
    "is_intermittent",
    "negative_binomial_parameters",
    "safety_stock",
]


@dataclass(frozen=True)
class SafetyStock:
    """Per-row results; ``mean``/``std`` describe the distribution of demand over ``T`` that was used."""

    method: np.ndarray  # object array of METHODS
    mean: np.ndarray
    std: np.ndarray
    safety_stock: np.ndarray
    z: np.ndarray


def protection_demand(
    mean_daily: np.ndarray,
    std_daily: np.ndarray,
    lead_time_mean: np.ndarray,
    lead_time_std: np.ndarray,
    review_days: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(T, m, v)``: protection days ``L + R``, mean ``mu*T`` and variance ``T*sigma_d² + mu²*sigma_L²``."""
    mu = np.asarray(mean_daily, dtype=float)
    sd = np.asarray(std_daily, dtype=float)
    lt = np.asarray(lead_time_mean, dtype=float)
    lts = np.asarray(lead_time_std, dtype=float)
    t = lt + np.asarray(review_days, dtype=float)
    return t, mu * t, t * sd * sd + mu * mu * lts * lts


def is_intermittent(sale_days: np.ndarray, window_days: np.ndarray | int, adi_threshold: float) -> np.ndarray:
    """Intermittent when the average inter-demand interval ``ADI = window_days / sale_days`` exceeds
    ``adi_threshold`` (Syntetos-Boylan: 1.32), i.e. sales on fewer than ``1/1.32 = 76 %`` of the days;
    items never sold are intermittent too."""
    sale_days = np.asarray(sale_days, dtype=float)
    window = np.asarray(window_days, dtype=float)
    return (sale_days <= 0) | (window > adi_threshold * sale_days)


def negative_binomial_parameters(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy ``nbinom(n, p)`` with the given mean and variance (``var > mean > 0``)."""
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    return mean * mean / (var - mean), mean / var


def _dispersion_steps(ratio: np.ndarray, rho: float) -> np.ndarray:
    """Smallest ``k >= 1`` with ``rho**k >= ratio`` (monotone in ``ratio``), for ``ratio > 1``."""
    k = np.ceil(np.log(ratio) / np.log(rho) - 1e-9)
    return np.maximum(k, 1).astype(np.int64)


def _grid_quantile(alpha: np.ndarray, mean: np.ndarray, step: int, rho: float) -> np.ndarray:
    """Quantile of demand with mean ``mean`` at dispersion grid point ``rho**step`` (0: Poisson)."""
    if step == 0:
        return stats.poisson.ppf(alpha, mean)
    g = rho**step
    return _nbinom_ppf(alpha, mean / (g - 1.0), 1.0 / g, mean)


def _nbinom_ppf(alpha: np.ndarray, n: np.ndarray, p: np.ndarray | float, mean: np.ndarray) -> np.ndarray:
    """scipy's quantile, with the Poisson quantile where the shape underflows (mean ~ 1e-300)."""
    with np.errstate(all="ignore"):
        q = stats.nbinom.ppf(alpha, n, p)
    bad = ~np.isfinite(q)
    if bad.any():
        q[bad] = stats.poisson.ppf(alpha[bad], mean[bad])
    return q


def _grid_cdf(k: np.ndarray, mean: np.ndarray, step: int, rho: float) -> np.ndarray:
    """``P(N <= k)`` at dispersion grid point ``rho**step`` (nbinom CDF = regularised incomplete beta)."""
    if step == 0:
        return special.pdtr(k, mean)
    g = rho**step
    return special.betainc(mean / (g - 1.0), k + 1.0, 1.0 / g)


def _monotone_quantile(mean: np.ndarray, alpha: np.ndarray, steps: np.ndarray, rho: float) -> np.ndarray:
    """``max over k = 0..steps of Q_alpha(rho**k)`` per item, computed cheaply.

    ``B = Q(rho**steps)`` is one quantile; a lower grid point beats it only if its CDF at ``B`` is below
    ``alpha`` (one incomplete-beta call per point, much cheaper than a quantile). Only those rare items get
    the quantile at every grid point. A margin of 1e-9 on the test errs towards the exact path.
    """
    best = np.empty(len(mean))
    for step in np.unique(steps):
        at = steps == step
        best[at] = _grid_quantile(alpha[at], mean[at], int(step), rho)
    beaten = np.zeros(len(mean), dtype=bool)
    for step in range(int(steps.max()) if len(steps) else 0):
        active = np.flatnonzero((steps > step) & ~beaten)
        if len(active):
            cdf = _grid_cdf(best[active], mean[active], step, rho)
            beaten[active[cdf < alpha[active] + 1e-9]] = True
    if beaten.any():
        rows = np.flatnonzero(beaten)
        for step in range(int(steps[rows].max())):
            active = rows[steps[rows] > step]
            best[active] = np.maximum(best[active], _grid_quantile(alpha[active], mean[active], step, rho))
    return best


def safety_stock(
    mean_t: np.ndarray,
    var_t: np.ndarray,
    intermittent: np.ndarray,
    service_level: np.ndarray,
    *,
    monotone: bool = True,
    dispersion_grid_ratio: float = 1.2,
    threads: int = 1,
) -> SafetyStock:
    """Safety stock per row (units) and the distribution behind it; see the module docstring. Computed in
    pieces by ``threads`` threads (`parallel.in_pieces`, 0: one per CPU; scipy's quantiles release the GIL);
    each row's values are the same for any number."""
    m = np.asarray(mean_t, dtype=float)
    v = np.asarray(var_t, dtype=float)
    n = len(m)
    alpha = np.broadcast_to(np.asarray(service_level, dtype=float), (n,))
    if ((alpha <= 0) | (alpha >= 1)).any():
        raise ValueError("service levels must be strictly between 0 and 1")
    if dispersion_grid_ratio <= 1:
        raise ValueError("dispersion_grid_ratio must be > 1")
    if (~np.isfinite(m)).any() or (m < 0).any() or (~np.isfinite(v)).any() or (v < 0).any():
        raise ValueError("demand mean and variance over T must be finite and >= 0")
    intermittent = np.broadcast_to(np.asarray(intermittent, dtype=bool), (n,))
    parts = in_pieces(
        lambda rows: _safety_stock(m[rows], v[rows], intermittent[rows], alpha[rows], monotone, dispersion_grid_ratio),
        n,
        threads,
    )
    result: SafetyStock = joined(parts)
    return result


def _safety_stock(
    m: np.ndarray,
    v: np.ndarray,
    intermittent: np.ndarray,
    alpha: np.ndarray,
    monotone: bool,
    dispersion_grid_ratio: float,
) -> SafetyStock:
    n = len(m)
    z = stats.norm.ppf(alpha)
    has_demand = m > 0
    normal = has_demand & ~intermittent
    poisson = has_demand & intermittent & (v <= m)
    negbin = has_demand & intermittent & (v > m)

    method = np.full(n, "none", dtype=object)
    method[normal] = "normal"
    method[poisson] = "poisson"
    method[negbin] = "negative_binomial"

    std = np.zeros(n)
    ss = np.zeros(n)
    std[normal] = np.sqrt(v[normal])
    ss[normal] = np.maximum(0.0, z[normal] * std[normal])

    discrete = poisson | negbin
    if discrete.any():
        std[poisson] = np.sqrt(m[poisson])
        q = np.zeros(n)
        q[poisson] = stats.poisson.ppf(alpha[poisson], m[poisson])
        if negbin.any():
            idx = np.flatnonzero(negbin)
            mi, ai, vi = m[idx], alpha[idx], v[idx]
            if monotone:
                steps = _dispersion_steps(vi / mi, dispersion_grid_ratio)
                top = dispersion_grid_ratio ** steps.astype(float)
                q[idx] = _monotone_quantile(mi, ai, steps, dispersion_grid_ratio)
                std[idx] = np.sqrt(mi * top)
            else:
                nb_n, nb_p = negative_binomial_parameters(mi, vi)
                q[idx] = _nbinom_ppf(ai, nb_n, nb_p, mi)
                std[idx] = np.sqrt(vi)
        ss[discrete] = np.maximum(0.0, q[discrete] - m[discrete])
    return SafetyStock(method=method, mean=m.copy(), std=std, safety_stock=ss, z=z)
