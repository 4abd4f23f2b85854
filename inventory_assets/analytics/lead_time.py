"""Lead-time statistics from ``receipts`` with a fall-back ladder, vectorised.

Lead time of a receipt, in days: ``received_at - ordered_at`` (calendar days, times of day dropped).
Statistics per group (pair, product, location): count ``n``, mean, and the *sample* standard deviation
(``ddof=1``); a group with a single receipt has standard deviation 0 (one observation says nothing about
spread; keep ``min_receipts >= 2`` to avoid relying on it).

Fall-back, per (product, location) pair, first level with at least ``min_receipts`` receipts wins:

1. ``pair``: the receipts of this product at this location;
2. ``product``: the receipts of this product at every location replenished from the same source (the same
   parent location; all top-level locations share "the suppliers"), so a store never borrows its DC's
   supplier lead time, nor a DC a store's transfer time;
3. ``location``: the receipts of every product at this location;
4. ``default``: ``default_mean_days`` / ``default_std_days`` (``lead_time_receipts = 0``).

Receipts with a missing date or ``received_at < ordered_at`` are ignored and counted (the source check
rejects them, so in production there are none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from inventory_assets.contract.ids import positions
from inventory_assets.contract.spec import LEAD_TIME_LEVELS

__all__ = [
    "LEAD_TIME_DDOF",
    "LEAD_TIME_LEVELS",
    "LeadTimes",
    "receipt_lead_days",
    "group_stats",
    "lead_time_statistics",
]

LEAD_TIME_DDOF = 1


@dataclass(frozen=True)
class LeadTimes:
    """Per-pair lead-time figures (arrays aligned with the pairs) and the receipts that were ignored."""

    mean: np.ndarray
    std: np.ndarray
    receipts: np.ndarray
    level: np.ndarray  # str: one of LEAD_TIME_LEVELS
    receipts_used: int
    receipts_ignored: int


def receipt_lead_days(receipts: pd.DataFrame) -> np.ndarray:
    """``received_at - ordered_at`` in whole days per receipt (float; NaN when a date is missing)."""
    ordered = np.asarray(pd.to_datetime(receipts["ordered_at"])).astype("datetime64[D]")
    received = np.asarray(pd.to_datetime(receipts["received_at"])).astype("datetime64[D]")
    days = (received - ordered).astype("timedelta64[D]")
    out = days.astype(np.int64).astype(float)
    out[np.isnat(days)] = np.nan
    return out


def group_stats(codes: np.ndarray, values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(count, mean, std)`` of ``values`` per integer code in ``[0, n_groups)`` (ddof=1; std 0 for n=1).

    Groups without values get count 0 and NaN mean/std. Two-pass (centred) variance for accuracy.
    """
    count = np.bincount(codes, minlength=n_groups)
    total = np.bincount(codes, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        centred = values - mean[codes]
        ss = np.bincount(codes, weights=centred * centred, minlength=n_groups)
        std = np.where(
            count > LEAD_TIME_DDOF,
            np.sqrt(ss / np.maximum(count - LEAD_TIME_DDOF, 1)),
            np.where(count > 0, 0.0, np.nan),
        )
    return count.astype(np.int64), mean, std


def lead_time_statistics(
    receipts: pd.DataFrame,
    products: pd.Index,
    locations: pd.Index,
    pair_product: np.ndarray,
    pair_location: np.ndarray,
    *,
    min_receipts: int = 3,
    default_mean_days: float = 7.0,
    default_std_days: float = 2.0,
    location_source: np.ndarray | None = None,
) -> LeadTimes:
    """Lead-time mean/std per pair with the fall-back ladder of the module docstring.

    ``products``/``locations``: the id indexes the pair codes refer to; ``pair_product[i]`` and
    ``pair_location[i]`` are pair ``i``'s positions in them. Receipts of products or locations outside
    those indexes still count at the levels they can reach (a receipt of an unknown product at a known
    location counts for the location). ``location_source[j]`` is a code of where location ``j`` is
    replenished from (locations with equal codes share the ``product`` level); None: one source for all.
    """
    if min_receipts < 1:
        raise ValueError(f"min_receipts must be >= 1, got {min_receipts}")
    if not (np.isfinite(default_mean_days) and default_mean_days >= 0):
        raise ValueError(f"default lead time must be finite and >= 0, got {default_mean_days}")
    if not (np.isfinite(default_std_days) and default_std_days >= 0):
        raise ValueError(f"default lead-time std must be finite and >= 0, got {default_std_days}")
    n_pairs = len(pair_product)
    n_products, n_locations = len(products), len(locations)

    if len(receipts):
        lead = receipt_lead_days(receipts)
        valid = np.isfinite(lead) & (lead >= 0)
        ignored = int((~valid).sum())
        r_prod = positions(products, receipts["product_id"].astype(str))
        r_loc = positions(locations, receipts["location_id"].astype(str))
    else:
        lead = np.array([], dtype=float)
        valid = np.array([], dtype=bool)
        ignored = 0
        r_prod = r_loc = np.array([], dtype=np.int64)

    # Pair codes: the pairs are unique, so map (product, location) -> pair through a hash index.
    pair_key = pd.Index(pair_product.astype(np.int64) * max(n_locations, 1) + pair_location)
    known = valid & (r_prod >= 0) & (r_loc >= 0)
    r_pair = np.full(len(lead), -1, dtype=np.int64)
    if known.any():
        r_pair[known] = pair_key.get_indexer(r_prod[known].astype(np.int64) * max(n_locations, 1) + r_loc[known])

    def level(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ok = valid & (codes >= 0)
        return group_stats(codes[ok], lead[ok], n)

    source = np.zeros(n_locations, dtype=np.int64) if location_source is None else np.asarray(location_source, np.int64)
    n_sources = int(source.max()) + 1 if n_locations else 1
    r_prod_source = (
        np.where((r_prod >= 0) & (r_loc >= 0), r_prod.astype(np.int64) * n_sources + source[np.maximum(r_loc, 0)], -1)
        if len(lead)
        else np.array([], dtype=np.int64)
    )

    p_n, p_mean, p_std = level(r_pair, n_pairs)
    pr_n, pr_mean, pr_std = level(r_prod_source, n_products * n_sources)
    lo_n, lo_mean, lo_std = level(r_loc, n_locations)

    pair_prod_source = pair_product.astype(np.int64) * n_sources + source[pair_location]
    prod_n, prod_mean, prod_std = pr_n[pair_prod_source], pr_mean[pair_prod_source], pr_std[pair_prod_source]
    loc_n, loc_mean, loc_std = lo_n[pair_location], lo_mean[pair_location], lo_std[pair_location]

    use_pair = p_n >= min_receipts
    use_prod = ~use_pair & (prod_n >= min_receipts)
    use_loc = ~use_pair & ~use_prod & (loc_n >= min_receipts)
    conditions = [use_pair, use_prod, use_loc]
    mean = np.select(conditions, [p_mean, prod_mean, loc_mean], default=float(default_mean_days))
    std = np.select(conditions, [p_std, prod_std, loc_std], default=float(default_std_days))
    count = np.select(conditions, [p_n, prod_n, loc_n], default=0).astype(np.int64)
    level_name = np.select(conditions, list(LEAD_TIME_LEVELS[:3]), default=LEAD_TIME_LEVELS[3]).astype(object)
    return LeadTimes(
        mean=mean.astype(float),
        std=std.astype(float),
        receipts=count,
        level=level_name,
        receipts_used=int(valid.sum()),
        receipts_ignored=ignored,
    )
