"""Plausibility gates: data that passes every row rule but cannot be what the business looks like.

Pure pandas (no Dagster). Each gate returns the problems it finds as sentences naming the cause and the
figures; the definitions (``defs/features/plausibility.py``) turn them into blocking checks, so a run on
such data fails before the plan and the current plan stays. The gates and their defaults
(``docs/data-contract.md``, "Plausibility gates"):

* **The sales window against the inventory snapshot.** The window ends on the latest sale day. A latest
  sale more than ``max_days_after_snapshot`` days after the snapshot (``max(inventory.as_of)``) is a
  mistyped date or a feed ahead of the stock count: the window would cover days nobody sold on. One more
  than ``max_days_before_snapshot`` days before it is a feed that stopped: the plan would see no recent
  demand.
* **Unknown sales.** Sale units naming a product missing from ``costs`` or a location missing from
  ``locations`` are left out of demand; above ``max_unknown_sales_share`` of all units in the window (the
  feed changed its id format, a location was renamed) the demand left is not the business's.
* **Usable sales.** No unit of the window's sales reaches a stocked (product, location): every demand is
  zero and the plan would buy nothing.
* **Against the plan in use.** The new features' total order-up-to level against the current plan's: below
  ``min_target_ratio`` or above ``max_target_ratio`` of it, demand collapsed or exploded overnight (a
  feed half loaded, days loaded twice). Compared only while the assortment is comparable: when the stocked
  pairs themselves grew or shrank beyond those factors (a new data set, a chain of stores added), the totals
  say nothing about demand and the gate stands aside, saying so.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "PlausibilityParameters",
    "window_problems",
    "unknown_share_problems",
    "usable_sales_problems",
    "target_ratio_problems",
    "assortment_changed",
    "snapshot_day",
]

SAMPLE = 5
"""Ids named in a problem's sentence."""


@dataclass(frozen=True)
class PlausibilityParameters:
    """The gates' limits. Flat fields so they map one-to-one onto a ``dg.Config``."""

    max_days_after_snapshot: int = field(
        default=1,
        metadata={
            "doc": (
                "Days the latest sale may lie after the inventory snapshot (max of inventory.as_of) before the run "
                "fails: a later one is a mistyped date or a feed ahead of the stock count."
            )
        },
    )
    max_days_before_snapshot: int = field(
        default=14,
        metadata={
            "doc": (
                "Days the latest sale may lie before the inventory snapshot before the run fails: an older one is "
                "a sales feed that stopped."
            )
        },
    )
    max_unknown_sales_share: float = field(
        default=0.05,
        metadata={
            "doc": (
                "Share of the window's sale units naming an unknown product or location above which the run "
                "fails (those units are left out of demand), in [0, 1]."
            )
        },
    )
    min_target_ratio: float = field(
        default=0.5,
        metadata={
            "doc": (
                "The run fails when the features' total order-up-to level falls below this share of the current "
                "plan's (demand collapsed); 0 turns the gate off."
            )
        },
    )
    max_target_ratio: float = field(
        default=2.0,
        metadata={
            "doc": (
                "The run fails when the features' total order-up-to level rises above this multiple of the "
                "current plan's (days loaded twice); inf turns the gate off."
            )
        },
    )

    def __post_init__(self) -> None:
        for name in ("max_days_after_snapshot", "max_days_before_snapshot"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 <= self.max_unknown_sales_share <= 1:
            raise ValueError("max_unknown_sales_share must be in [0, 1]")
        if not (math.isfinite(self.min_target_ratio) and self.min_target_ratio >= 0):
            raise ValueError("min_target_ratio must be finite and >= 0")
        if not (self.max_target_ratio >= max(self.min_target_ratio, 1.0)):
            raise ValueError("max_target_ratio must be >= 1 and >= min_target_ratio")


def snapshot_day(inventory: pd.DataFrame) -> dt.date | None:
    """The inventory snapshot: the latest ``as_of`` (None when no row has one)."""
    if "as_of" not in inventory or inventory["as_of"].isna().all():
        return None
    return pd.Timestamp(pd.to_datetime(inventory["as_of"]).max()).date()


def window_problems(window_end: dt.date, snapshot: dt.date | None, params: PlausibilityParameters) -> list[str]:
    """The latest sale day too far after or before the inventory snapshot."""
    if snapshot is None:
        return []
    gap = (window_end - snapshot).days
    if gap > params.max_days_after_snapshot:
        return [
            f"the latest sale day {window_end} is {gap:,} days after the inventory snapshot {snapshot} "
            f"(max_days_after_snapshot {params.max_days_after_snapshot}): a mistyped sale date or a sales feed "
            "ahead of the stock count; the window would cover days without sales"
        ]
    if -gap > params.max_days_before_snapshot:
        return [
            f"the latest sale day {window_end} is {-gap:,} days before the inventory snapshot {snapshot} "
            f"(max_days_before_snapshot {params.max_days_before_snapshot}): the sales feed stopped; the plan "
            "would see no recent demand"
        ]
    return []


def unknown_share_problems(
    sales: pd.DataFrame, unknown: pd.DataFrame, params: PlausibilityParameters
) -> tuple[list[str], float]:
    """Sale units naming an unknown product or location above ``max_unknown_sales_share``, and the share,
    from ``unknown``: the failure rows of ``validation.reference_failures`` on the sales (the
    ``sales_plausible`` check has them already)."""
    units = pd.to_numeric(sales["quantity"], errors="coerce").fillna(0.0).clip(lower=0.0).to_numpy()
    total = float(units.sum())
    if total <= 0 or unknown.empty:
        return [], 0.0
    rows = np.unique(unknown["row"].to_numpy(dtype=np.int64))
    share = float(units[rows].sum()) / total
    if share <= params.max_unknown_sales_share:
        return [], share
    named = []
    for what in ("product", "location"):
        cases = unknown.loc[unknown["column"] == f"{what}_id", "failure_case"]
        if len(cases):
            sample = pd.unique(cases.to_numpy())[:SAMPLE]
            named.append(f"unknown {what} ids such as {', '.join(repr(s) for s in sample)}")
    return [
        f"{share:.1%} of the window's sale units ({units[rows].sum():,.0f} of {total:,.0f}) name a product "
        f"missing from costs or a location missing from locations (max_unknown_sales_share "
        f"{params.max_unknown_sales_share:.1%}): {'; '.join(named)}. Did the feed change its id format?"
    ], share


def usable_sales_problems(merged: pd.DataFrame, sales_units: float) -> list[str]:
    """No unit of the window's sales reaches a stocked pair (every demand would be zero)."""
    reached = float(np.nansum(merged["demand_total"].to_numpy(dtype=float))) if len(merged) else 0.0
    if reached > 0:
        return []
    return [
        f"no usable sales: none of the window's {sales_units:,.0f} sale units is for a stocked (product, location) "
        "with known costs and location, so every demand would be zero and the plan would buy nothing"
    ]


def assortment_changed(new_rows: int, current_rows: int, params: PlausibilityParameters) -> bool:
    """Whether the stocked pairs grew or shrank beyond the target ratios (totals are then not comparable)."""
    if current_rows <= 0:
        return True
    ratio = new_rows / current_rows
    return not (min(params.min_target_ratio, 0.5) <= ratio <= max(params.max_target_ratio, 2.0))


def target_ratio_problems(
    new_total: float, current_total: float | None, params: PlausibilityParameters
) -> tuple[list[str], float | None]:
    """The new total order-up-to level outside ``[min_target_ratio, max_target_ratio]`` x the current plan's;
    and the ratio (None without a current plan or when its total is 0)."""
    if current_total is None or not current_total > 0:
        return [], None
    ratio = new_total / current_total
    if params.min_target_ratio <= ratio <= params.max_target_ratio:
        return [], ratio
    direction = "collapsed" if ratio < params.min_target_ratio else "exploded"
    bound = (
        f"min_target_ratio {params.min_target_ratio:g}"
        if ratio < params.min_target_ratio
        else f"max_target_ratio {params.max_target_ratio:g}"
    )
    return [
        f"demand {direction} against the plan in use: the total order-up-to level is {new_total:,.0f} units, "
        f"{ratio:.2f} x the current plan's {current_total:,.0f} ({bound}); a partly loaded or doubly loaded feed? "
        "The current plan stays; if the change is real, raise the limit for this run"
    ], ratio
