"""The candidate forecasting models, vectorised over many daily series at once.

Every model reads a block ``Y`` of daily demand (one row per series, one column per day of the window,
``n`` days, zeros where nothing sold) and returns, for each *origin* ``t = 0 .. n``, the forecast of the
demand summed over the ``H`` days ``t .. t + H - 1`` made from the days ``0 .. t - 1`` only: an array of
shape ``(rows, n + 1)``. Column ``n`` is the forecast the plan uses; the others feed the rolling-origin
evaluation (:mod:`inventory_assets.forecast.core`). ``H`` is per row (the row's horizon in whole days).

Each model is one pass over the days with a few vector operations per day (no per-series Python); the
weekday profile is re-estimated once a week, so its cost is a few array operations per week. The
recursions, their starting values and their fixed parameters are stated in ``docs/forecast.md``;
:data:`MODELS` lists them in the order used to break ties (the baseline first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from inventory_assets.contract.spec import FORECAST_MODELS

__all__ = [
    "MODELS",
    "INTERMITTENT_MODELS",
    "INIT_DAYS",
    "SmootherParameters",
    "Series",
    "global_weekday_profile",
    "damped_sum",
    "window_mean",
    "weekday_level",
    "weekday_trend",
    "croston_sba",
    "tsb",
]

INIT_DAYS = 14
"""Days over which a smoother's level starts as the running mean (it smooths from day 14 on)."""


@dataclass(frozen=True)
class SmootherParameters:
    """Fixed smoothing constants of the candidates (docs/forecast.md, "The candidates")."""

    level_alpha: float = 0.1
    """Level smoothing of the weekday smoothers."""
    trend_beta: float = 0.05
    """Trend smoothing of ``weekday_trend``."""
    trend_phi: float = 0.9
    """Damping of ``weekday_trend``'s trend (0 < phi < 1)."""
    weekday_prior_units: float = 20.0
    """Units of pseudo-evidence pulling a series' weekday profile towards the profile of all series."""
    croston_alpha: float = 0.1
    """Smoothing of Croston/SBA's demand size and interval."""
    tsb_alpha: float = 0.1
    """Smoothing of TSB's demand size."""
    tsb_beta: float = 0.05
    """Smoothing of TSB's probability of a demand day."""


def global_weekday_profile(day_totals: np.ndarray) -> np.ndarray:
    """``(K + 1, 7)`` weekday factors of all series together, by position in the week of the window
    (position ``p`` = days ``p, p + 7, ...``): row ``k`` from the ``7 k`` first days only, each position's
    units over the mean of the seven, 1 everywhere while nothing has sold (``K = ceil(n / 7)``)."""
    weekly = _weekly_sums(np.asarray(day_totals, dtype=float)[None, :])[0]
    total = weekly.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 7.0 * weekly / np.where(total > 0, total, 1.0), 1.0)


def _weekly_sums(y: np.ndarray) -> np.ndarray:
    """``(rows, K + 1, 7)``: units sold on each position of the week over the ``7 k`` first days."""
    rows, n = y.shape
    weeks = -(-n // 7)
    padded = np.zeros((rows, weeks * 7))
    padded[:, :n] = y
    out = np.zeros((rows, weeks + 1, 7))
    np.cumsum(padded.reshape(rows, weeks, 7), axis=1, out=out[:, 1:])
    return out


class Series:
    """A block of series and what the models share about it (weekday profiles, de-seasoned demand)."""

    def __init__(
        self, y: np.ndarray, horizon: np.ndarray, global_profile: np.ndarray, params: SmootherParameters
    ) -> None:
        self.y = np.asarray(y, dtype=float)
        self.horizon = np.asarray(horizon, dtype=np.int64)
        self.global_profile = global_profile
        self.params = params
        rows, n = self.y.shape
        self.cumsum = np.zeros((rows, n + 1))
        np.cumsum(self.y, axis=1, out=self.cumsum[:, 1:])

    @property
    def days(self) -> int:
        return int(self.y.shape[1])

    def actual_sums(self) -> np.ndarray:
        """(rows, n + 1): units sold in ``t .. t + H - 1`` (NaN where the window ends before ``t + H``)."""
        n = self.days
        end = np.arange(n + 1)[None, :] + self.horizon[:, None]
        total = np.take_along_axis(self.cumsum, np.minimum(end, n), axis=1) - self.cumsum
        return np.where(end <= n, total, np.nan)

    @cached_property
    def profile(self) -> np.ndarray:
        """``(rows, K + 1, 7)`` each series' weekday factors, re-estimated every 7 days from the days before:
        ``g_p (S_p + k) / (S g_p / 7 + k)`` normalised to mean 1, where ``S_p`` is the series' units on
        position ``p``, ``S`` all its units, ``g`` the profile of all series and ``k`` the prior units."""
        sums = _weekly_sums(self.y)
        g = self.global_profile[None, :, :]
        total = sums.sum(axis=2, keepdims=True)
        k = self.params.weekday_prior_units
        raw = g * (sums + k) / (total * g / 7.0 + k)
        return raw / raw.mean(axis=2, keepdims=True)

    @cached_property
    def deseasoned(self) -> np.ndarray:
        """``(n, rows)``, time first: each day's units over the day's factor in the profile of its week."""
        n = self.days
        factor = self.profile.reshape(self.y.shape[0], -1)[:, :n]  # day d is week d // 7, position d % 7
        return np.ascontiguousarray((self.y / np.maximum(factor, 1e-9)).T)

    @cached_property
    def season_share(self) -> np.ndarray:
        """``(rows, n + 1)``: the mean factor over the ``H`` days from each origin (profile of its week)."""
        n = self.days
        rows, weeks_1, _ = self.profile.shape
        doubled = np.concatenate([self.profile, self.profile], axis=2)
        partial = np.zeros((rows, weeks_1, 15))
        np.cumsum(doubled, axis=2, out=partial[:, :, 1:])
        weeks, rest = np.divmod(self.horizon, 7)
        start = np.arange(7)
        end = np.broadcast_to((start[None, :] + rest[:, None])[:, None, :], (rows, weeks_1, 7))
        part = np.take_along_axis(partial, end, axis=2) - partial[:, :, :7]
        share = (7.0 * weeks[:, None, None] + part) / self.horizon[:, None, None]  # (rows, K + 1, 7 starts)
        return share.reshape(rows, -1)[:, : n + 1]  # origin t is week t // 7, start t % 7


Model = Callable[[Series], np.ndarray]


def window_mean(s: Series) -> np.ndarray:
    """The baseline: the mean daily demand of every day before the origin, times ``H``.

    At ``t = n`` this is the window mean of ``merged_dataset`` (today's rule); at ``t = 0`` it is 0.
    """
    t = np.arange(s.days + 1, dtype=float)
    return s.cumsum / np.maximum(t, 1.0) * s.horizon[:, None]


def _start_levels(z: np.ndarray) -> np.ndarray:
    """``(min(n, INIT_DAYS) + 1, rows)``: the running mean of the de-seasoned days before each origin."""
    first = z[:INIT_DAYS]
    out = np.zeros((len(first) + 1, z.shape[1]))
    np.cumsum(first, axis=0, out=out[1:])
    out[1:] /= np.arange(1, len(first) + 1)[:, None]
    return out


def damped_sum(phi: float, horizon: np.ndarray) -> np.ndarray:
    """``sum_{h=1..H} (phi + phi^2 + ... + phi^h)``: the trend multiplier of an ``H``-day sum."""
    h = np.asarray(horizon, dtype=float)
    if phi >= 1.0:
        return h * (h + 1) / 2
    return phi / (1 - phi) * (h - phi * (1 - phi**h) / (1 - phi))


def weekday_level(s: Series) -> np.ndarray:
    """Simple exponential smoothing of the de-seasoned demand, times the weekday profile:
    ``l_{t+1} = l_t + a (z_t - l_t)``; the ``H``-day sum ``H l_t x`` the mean factor over those days."""
    z = s.deseasoned
    n, rows = z.shape
    level = np.zeros((n + 1, rows))
    start = _start_levels(z)
    level[: len(start)] = start
    a = s.params.level_alpha
    for t in range(len(start) - 1, n):
        level[t + 1] = level[t] + a * (z[t] - level[t])
    return level.T * s.horizon[:, None] * s.season_share


def weekday_trend(s: Series) -> np.ndarray:
    """Damped-trend (Holt) smoothing of the de-seasoned demand, times the weekday profile:
    ``l_{t+1} = a z_t + (1 - a)(l_t + phi b_t)``, ``b_{t+1} = beta (l_{t+1} - l_t) + (1 - beta) phi b_t``;
    the ``H``-day sum ``max(0, H l_t + b_t sum_h (phi + .. + phi^h))`` x the mean factor."""
    p = s.params
    z = s.deseasoned
    n, rows = z.shape
    level = np.zeros((n + 1, rows))
    slope = np.zeros((n + 1, rows))
    start = _start_levels(z)
    level[: len(start)] = start
    a, beta, phi = p.level_alpha, p.trend_beta, p.trend_phi
    for t in range(len(start) - 1, n):
        level[t + 1] = a * z[t] + (1 - a) * (level[t] + phi * slope[t])
        slope[t + 1] = beta * (level[t + 1] - level[t]) + (1 - beta) * phi * slope[t]
    h = s.horizon[:, None].astype(float)
    base = level.T * h + slope.T * damped_sum(phi, s.horizon)[:, None]
    return np.maximum(base, 0.0) * s.season_share


def croston_sba(s: Series) -> np.ndarray:
    """Croston's method with the Syntetos-Boylan correction: ``(1 - a/2) z / q`` units a day.

    The demand size ``z`` and the interval ``q`` between demand days are smoothed on demand days only;
    the first demand day sets ``z`` to its units and ``q`` to its position counted from 1 (statsforecast's
    ``CrostonSBA`` conventions, which it pins at ``a = 0.1``). Before any demand the forecast is 0.
    """
    y = np.ascontiguousarray(s.y.T)
    n, rows = y.shape
    a = s.params.croston_alpha
    rate = np.zeros((n + 1, rows))
    size = np.zeros(rows)
    interval = np.ones(rows)
    since = np.zeros(rows)
    seen = np.zeros(rows, dtype=bool)
    for t in range(n):
        since += 1
        hit = y[t] > 0
        again = hit & seen
        first = hit & ~seen
        size[again] += a * (y[t][again] - size[again])
        interval[again] += a * (since[again] - interval[again])
        size[first] = y[t][first]
        interval[first] = since[first]
        seen |= hit
        since[hit] = 0.0
        rate[t + 1] = np.where(seen, size / interval, 0.0)
    return (1 - a / 2) * rate.T * s.horizon[:, None]


def tsb(s: Series) -> np.ndarray:
    """Teunter-Syntetos-Babai: ``d p`` units a day. The probability ``p`` of a demand day starts at the first
    day's (1 if it sold, else 0) and is smoothed every day after, ``p += beta (1[y > 0] - p)``; the demand
    size ``d`` starts at the first demand's units and is smoothed on demand days only (statsforecast's
    ``TSB`` conventions). The forecast is 0 before any demand."""
    y = np.ascontiguousarray(s.y.T)
    n, rows = y.shape
    a, b = s.params.tsb_alpha, s.params.tsb_beta
    rate = np.zeros((n + 1, rows))
    size = np.zeros(rows)
    prob = np.zeros(rows)
    seen = np.zeros(rows, dtype=bool)
    for t in range(n):
        hit = y[t] > 0
        prob = hit.astype(float) if t == 0 else prob + b * (hit - prob)
        size[hit] += a * (y[t][hit] - size[hit])
        first = hit & ~seen
        size[first] = y[t][first]
        seen |= hit
        rate[t + 1] = size * prob
    return rate.T * s.horizon[:, None]


MODELS: dict[str, Model] = {
    "window_mean": window_mean,
    "weekday_level": weekday_level,
    "weekday_trend": weekday_trend,
    "croston_sba": croston_sba,
    "tsb": tsb,
}
"""The candidates, in tie-break order (the baseline first)."""
INTERMITTENT_MODELS: frozenset[str] = frozenset({"croston_sba", "tsb"})
"""Candidates only for series the Syntetos-Boylan rule calls intermittent or lumpy."""
assert tuple(MODELS) == FORECAST_MODELS, "the contract names the candidates (contract.spec.FORECAST_MODELS)"
