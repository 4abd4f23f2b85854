"""Seeded lead-time draws per (product, location) from the receipts, with the features' fall-back ladder.

The level of each pair is the one :func:`inventory_assets.analytics.lead_time.lead_time_statistics`
picks (``pair`` -> ``product`` (same source) -> ``location`` -> ``default``; ``docs/features.md``): the
simulation draws from the same receipts the features summarise, so the world the policies are tested in
has the lead-time distribution the features estimate.

- ``pair``, ``product``, ``location``: an empirical draw, i.e. one of the group's receipt lead times
  (``received_at - ordered_at`` in whole days, :func:`receipt_lead_days`), each with equal probability:
  ``values[start + floor(u * count)]`` for a uniform ``u`` in [0, 1).
- ``default``: ``max(0, round(mean + std * Phi^-1(u)))`` with the default mean and standard deviation.

Draws are whole days. One uniform per draw, supplied by the caller (the backtest makes them common to
every policy: the draw of a pair at a review does not depend on the policy, see ``docs/backtest.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from inventory_assets.analytics.lead_time import LEAD_TIME_LEVELS, lead_time_statistics, receipt_lead_days
from inventory_assets.contract.ids import positions

__all__ = ["LeadTimeSampler", "build_lead_time_sampler", "location_sources"]

_SUPPLIERS = "\x00suppliers"


def location_sources(locations: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """``(location index, source code)`` exactly as ``merge_dataset`` builds them for the lead times.

    Locations sorted by id (first row of a duplicated id); locations sharing a parent share a source
    code, and every top-level location shares "the suppliers".
    """
    frame = locations.loc[:, ["location_id", "parent_location_id"]].copy()
    frame["location_id"] = frame["location_id"].astype(str)
    frame = frame.drop_duplicates("location_id", keep="first").sort_values("location_id", kind="stable")
    index = pd.Index(frame["location_id"], dtype=str)
    source = pd.factorize(frame["parent_location_id"].astype(object).fillna(_SUPPLIERS))[0]
    return index, np.asarray(source, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class LeadTimeSampler:
    """Per-pair empirical lead-time distributions (arrays aligned with the pairs)."""

    values: np.ndarray
    """Receipt lead times (days) of every group, group after group."""
    start: np.ndarray
    """Per pair: first position of its group in ``values`` (unused for ``default``)."""
    count: np.ndarray
    """Per pair: receipts in its group (0: the default distribution)."""
    level: np.ndarray
    """Per pair: ``pair``, ``product``, ``location`` or ``default``."""
    default_mean_days: float
    default_std_days: float

    def draw(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Lead times in whole days (int64) of pairs ``rows`` from the uniforms ``u`` in [0, 1)."""
        rows = np.asarray(rows, dtype=np.int64)
        u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
        count = self.count[rows]
        out = np.empty(len(rows), dtype=np.int64)
        empirical = count > 0
        if empirical.any():
            pick = self.start[rows[empirical]] + np.minimum(
                np.floor(u[empirical] * count[empirical]).astype(np.int64), count[empirical] - 1
            )
            out[empirical] = self.values[pick].astype(np.int64)
        if (~empirical).any():
            z = special.ndtri(np.clip(u[~empirical], 1e-12, 1 - 1e-12))
            days = np.rint(self.default_mean_days + self.default_std_days * z)
            out[~empirical] = np.maximum(days, 0).astype(np.int64)
        return out


def _grouped(codes: np.ndarray, values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sorted values, start per group, count per group)`` for codes in ``[0, n_groups)`` (-1 dropped)."""
    keep = codes >= 0
    codes, values = codes[keep], values[keep]
    order = np.argsort(codes, kind="stable")
    count = np.bincount(codes, minlength=n_groups).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64) if n_groups else count
    return values[order], start, count


def build_lead_time_sampler(
    receipts: pd.DataFrame,
    product_id: np.ndarray,
    location_id: np.ndarray,
    locations: pd.DataFrame,
    *,
    min_receipts: int = 3,
    default_mean_days: float = 7.0,
    default_std_days: float = 2.0,
) -> LeadTimeSampler:
    """The sampler of the pairs ``(product_id[i], location_id[i])`` (unique pairs).

    The level of each pair comes from ``lead_time_statistics`` (the features' own rule); the groups'
    receipts are re-collected here with the same keys, and their counts are checked against it.
    """
    product_id = np.asarray(product_id).astype(str)
    location_id = np.asarray(location_id).astype(str)
    products = pd.Index(np.unique(product_id), dtype=str)
    loc_index, source = location_sources(locations)
    pair_product = products.get_indexer(product_id).astype(np.int64)
    pair_location = loc_index.get_indexer(location_id).astype(np.int64)
    if (pair_location < 0).any():
        raise ValueError("every pair's location must be in `locations`")
    stats = lead_time_statistics(
        receipts,
        products,
        loc_index,
        pair_product,
        pair_location,
        min_receipts=min_receipts,
        default_mean_days=default_mean_days,
        default_std_days=default_std_days,
        location_source=source,
    )
    n_pairs, n_loc, n_src = len(product_id), max(len(loc_index), 1), int(source.max()) + 1 if len(source) else 1

    if len(receipts):
        lead = receipt_lead_days(receipts)
        r_prod = positions(products, receipts["product_id"].astype(str)).astype(np.int64)
        r_loc = positions(loc_index, receipts["location_id"].astype(str)).astype(np.int64)
    else:
        lead = np.array([], dtype=float)
        r_prod = r_loc = np.array([], dtype=np.int64)
    valid = np.isfinite(lead) & (lead >= 0)
    both = valid & (r_prod >= 0) & (r_loc >= 0)
    pair_key = pd.Index(pair_product * n_loc + pair_location)
    r_pair = np.full(len(lead), -1, dtype=np.int64)
    r_pair[both] = pair_key.get_indexer(r_prod[both] * n_loc + r_loc[both])
    r_prod_src = np.where(both, r_prod * n_src + source[np.maximum(r_loc, 0)], -1)
    r_location = np.where(valid, r_loc, -1)

    groups = [
        (_grouped(r_pair, lead, n_pairs), np.arange(n_pairs)),
        (_grouped(r_prod_src, lead, len(products) * n_src), pair_product * n_src + source[pair_location]),
        (_grouped(r_location, lead, len(loc_index)), pair_location),
    ]
    values_parts, start, count, offset = [], np.zeros(n_pairs, np.int64), np.zeros(n_pairs, np.int64), 0
    for level_name, ((vals, g_start, g_count), pair_group) in zip(LEAD_TIME_LEVELS[:3], groups, strict=True):
        at = stats.level == level_name
        start[at] = offset + g_start[pair_group[at]]
        count[at] = g_count[pair_group[at]]
        values_parts.append(vals)
        offset += len(vals)
    if not np.array_equal(count, stats.receipts):
        raise RuntimeError("lead-time groups disagree with analytics.lead_time_statistics (keys changed?)")
    return LeadTimeSampler(
        values=np.concatenate(values_parts) if values_parts else np.array([], dtype=float),
        start=start,
        count=count,
        level=np.asarray(stats.level, dtype=object),
        default_mean_days=float(default_mean_days),
        default_std_days=float(default_std_days),
    )
