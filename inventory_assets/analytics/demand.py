"""Daily demand statistics over the history window, vectorised on integer codes.

Everything here works on integer arrays (a pair index per sale row and a day offset in the window), so
the string work is done once by the caller (:mod:`inventory_assets.analytics.merge`). Sums and sums of
squares per pair are ``np.bincount`` calls; there is no per-row or per-pair Python.

Definitions (``W`` = ``window_days``, ``x_d`` = units sold on day ``d`` of the window, 0 when nothing
was sold):

- ``demand_total = sum_d x_d``
- ``demand_mean = demand_total / W`` (days without sales count as zero)
- ``demand_std = sqrt((sum_d x_d**2 - W * mean**2) / (W - 1))``: the *sample* standard deviation
  (``ddof=1``, unbiased variance) of the ``W`` daily values; 0 when ``W == 1``.
- ``sale_days``: days with ``x_d > 0``; ``last_sale_day``: the last such day (-1 when none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DEMAND_DDOF",
    "DailyDemand",
    "day_offsets",
    "daily_demand_stats",
    "combine_duplicate_days",
    "pooled_sale_days",
    "pool_to_ancestors",
]

_BITMAP_LIMIT = 2_000_000_000
"""Largest (pairs x window days) for the byte-map duplicate test (2 GB); above it a hash test is used."""

DEMAND_DDOF = 1
"""Degrees of freedom removed from ``W`` in the variance denominator (sample standard deviation)."""


@dataclass(frozen=True)
class DailyDemand:
    """Per-pair daily demand statistics; every array has one entry per pair."""

    total: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sale_days: np.ndarray
    last_sale_day: np.ndarray  # offset in the window, -1 when never sold


def day_offsets(dates: pd.Series | np.ndarray, window_start: pd.Timestamp) -> np.ndarray:
    """Whole days from ``window_start`` (day 0) to each date, as int64; the time of day is dropped."""
    values = np.asarray(pd.to_datetime(dates)).astype("datetime64[D]")
    start = np.datetime64(pd.Timestamp(window_start).date(), "D")
    return (values - start).astype(np.int64)


def combine_duplicate_days(
    pair: np.ndarray, day: np.ndarray, quantity: np.ndarray, window_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Sum rows that share (pair, day), so each (pair, day) has one daily total.

    The ``sales`` source is already one row per (day, product, location); this is a guard that costs
    one hash pass. Returns ``(pair, day, quantity, rows_merged)``.
    """
    key = pair.astype(np.int64) * window_days + day
    n_keys = (int(pair.max()) + 1) * window_days if len(pair) else 0
    if n_keys <= _BITMAP_LIMIT:
        # One byte per possible (pair, day): far cheaper than hashing when the source is clean.
        seen = np.zeros(n_keys, dtype=bool)
        seen[key] = True
        if int(np.count_nonzero(seen)) == len(key):
            return pair, day, quantity, 0
        del seen
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if not dup.any():
        return pair, day, quantity, 0
    summed = pd.Series(quantity[dup]).groupby(key[dup], sort=False).sum()
    merged_key = summed.index.to_numpy(dtype=np.int64)
    keep = ~dup
    rows_merged = int(dup.sum()) - len(summed)
    return (
        np.concatenate([pair[keep], merged_key // window_days]),
        np.concatenate([day[keep], merged_key % window_days]),
        np.concatenate([quantity[keep], summed.to_numpy(dtype=float)]),
        rows_merged,
    )


def daily_demand_stats(
    pair: np.ndarray, day: np.ndarray, quantity: np.ndarray, *, n_pairs: int, window_days: int
) -> DailyDemand:
    """Statistics of the daily demand of each of ``n_pairs`` pairs over a window of ``window_days``.

    ``pair``, ``day``, ``quantity``: one entry per (pair, day) with a recorded sale (at most one per
    (pair, day): see :func:`combine_duplicate_days`), ``0 <= day < window_days``. Pairs without rows get
    zero demand.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    quantity = np.asarray(quantity, dtype=float)
    total = np.bincount(pair, weights=quantity, minlength=n_pairs)
    sum_sq = np.bincount(pair, weights=quantity * quantity, minlength=n_pairs)
    mean = total / window_days
    if window_days > DEMAND_DDOF:
        var = (sum_sq - total * mean) / (window_days - DEMAND_DDOF)
        std = np.sqrt(np.clip(var, 0.0, None))
    else:
        std = np.zeros(n_pairs)
    sold = quantity > 0
    sale_days = np.bincount(pair[sold], minlength=n_pairs).astype(np.int64)
    last = np.full(n_pairs, -1, dtype=np.int64)
    np.maximum.at(last, pair[sold], day[sold])
    return DailyDemand(total=total, mean=mean, std=std, sale_days=sale_days, last_sale_day=last)


def pooled_sale_days(
    pair: np.ndarray,
    day: np.ndarray,
    ancestor_pair_by_distance: list[np.ndarray],
    *,
    n_pairs: int,
    window_days: int,
    own_sale_days: np.ndarray,
) -> np.ndarray:
    """Days on which a pair *or any pair below it* sold something (the echelon's sale days).

    ``pair``/``day``: the (pair, day) of every day with a sale (``quantity > 0``).
    ``ancestor_pair_by_distance[k]``: for each pair, the pair of the same product at its ancestor at
    distance ``k + 1`` (-1 when that ancestor does not stock the product or does not exist).

    Only pairs with at least one descendant pair need the union; they get a bitmap of
    ``window_days`` flags each (``n_upper * window_days`` bytes), the other pairs keep ``own_sale_days``.
    """
    out = own_sale_days.astype(np.int64).copy()
    if not ancestor_pair_by_distance:
        return out
    is_upper = np.zeros(n_pairs, dtype=bool)
    for anc in ancestor_pair_by_distance:
        is_upper[anc[anc >= 0]] = True
    if not is_upper.any():
        return out
    slot = np.full(n_pairs, -1, dtype=np.int64)
    upper = np.flatnonzero(is_upper)
    slot[upper] = np.arange(len(upper))
    flags = np.zeros(len(upper) * window_days, dtype=bool)
    own = slot[pair]
    mine = own >= 0
    flags[own[mine] * window_days + day[mine]] = True
    for anc in ancestor_pair_by_distance:
        target = anc[pair]
        ok = target >= 0
        flags[slot[target[ok]] * window_days + day[ok]] = True
    out[upper] = flags.reshape(len(upper), window_days).sum(axis=1)
    return out


def pool_to_ancestors(values: np.ndarray, ancestor_pair_by_distance: list[np.ndarray]) -> np.ndarray:
    """Each pair's own value plus the values of every pair below it (same product, descendant location).

    Used with means (echelon mean) and with variances (echelon variance: independent locations, so
    variances add).
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    for anc in ancestor_pair_by_distance:
        ok = anc >= 0
        out += np.bincount(anc[ok], weights=values[ok], minlength=len(values))
    return out
