"""Expected lost sales and fill rate: ``E[(D - y)+]`` over the protection interval, vectorised.

``D`` is the demand over the protection interval under the distribution the safety stock was sized with
(columns ``safety_stock_method``, ``demand_over_protection`` = mean ``m``, ``demand_std_over_protection``
= standard deviation ``s``; the same as :mod:`inventory_assets.analytics.risk`), ``y`` the inventory
position (units). Demand beyond the position is lost, so the expected lost units are the *loss function*
``E[(D - y)+]``. A position below zero cannot serve anything: it counts as ``y = 0`` (all of ``D`` lost).

- ``none`` (no demand): 0;
- ``normal``: ``s * G((y - m) / s)`` with the standard normal loss function
  ``G(z) = phi(z) - z * (1 - Phi(z))`` (Silver, Pyke & Peterson, *Inventory Management and Production
  Planning and Scheduling*, 3rd ed., appendix B: ``G(0) = 0.3989``, ``G(1) = 0.0833``); with ``s = 0``
  demand is certain: ``max(0, m - y)``;
- ``poisson`` with mean ``m``: ``E[(N - y)+] = m * P(N >= k) - y * P(N > k)`` with ``k = floor(y)``
  (from ``j p(j) = m p(j - 1)``);
- ``negative_binomial`` (scipy's ``nbinom(n, p)``, ``p = m / s²``, ``n = m² / (s² - m)``; the Poisson when
  ``s² <= m``): ``E[(N - y)+] = m * P(N' >= k) - y * P(N > k)`` with ``N' ~ nbinom(n + 1, p)`` (from
  ``j p_n(j) = m p_{n+1}(j - 1)``). Both discrete formulas are exact sums, also for a non-integer ``y``.

The fill rate of a set of rows is ``1 - sum E[(D - y)+] / sum E[D]`` (the share of expected demand
served from stock). The loss is non-increasing and convex in ``y``, ``m`` at ``y = 0``.

:func:`service_figures` applies it to a plan: over the *customer-facing* rows (locations that supply no
other location: an upper echelon's pooled demand is its children's, counting it again would count a sale
twice), the expected lost units and their value at unit cost before and after the plan, and the fill
rates. :func:`at_risk_by_class` counts the rows whose stock-out risk exceeds a threshold, per ABC class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from inventory_assets.analytics.risk import NONE, distribution_rows, families, feature_distributions
from inventory_assets.contract.spec import ABC_CLASSES
from inventory_assets.parallel import in_pieces, joined

__all__ = [
    "ServiceFigures",
    "at_risk_by_class",
    "customer_facing",
    "expected_lost_units",
    "expected_shortage",
    "fill_rate",
    "normal_loss",
    "service_figures",
]

RISK_THRESHOLD = 0.5


def normal_loss(z: np.ndarray | float) -> np.ndarray:
    """The standard normal loss function ``G(z) = E[(Z - z)+] = phi(z) - z (1 - Phi(z))``."""
    z = np.asarray(z, dtype=float)
    return np.asarray(stats.norm.pdf(z) - z * stats.norm.sf(z), dtype=float)


def expected_shortage(
    method: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    position: np.ndarray | float,
    *,
    at_most_mean: bool = True,
    threads: int = 1,
) -> np.ndarray:
    """``E[(D - max(position, 0))+]`` per row, in units (see the module docstring); in pieces by ``threads``
    threads (`parallel.in_pieces`, 0: one per CPU), the same values for any number.

    ``at_most_mean=False`` keeps the normal's value where it exceeds the mean: for ``y >= 0`` it is
    exactly ``E[(max(N, 0) - y)+]``, the loss of the normal demand with its negative part counted as
    no demand, which stays convex in ``y`` (the optimisation needs that; clipped at ``m`` it is not)."""
    method, mean, std, pos = distribution_rows(method, mean, std, position)
    return joined(
        in_pieces(
            lambda rows: _shortage(method[rows], mean[rows], std[rows], pos[rows], at_most_mean), len(method), threads
        )
    )


def _shortage(
    method: np.ndarray, mean: np.ndarray, std: np.ndarray, position_rows: np.ndarray, at_most_mean: bool
) -> np.ndarray:
    n = len(method)
    y = np.maximum(position_rows, 0.0)
    loss = np.zeros(n)
    live = (method != NONE) & (mean > 0)
    normal, poisson, negbin = families(method, mean, std, live)

    if normal.any():
        m, s, yy = mean[normal], std[normal], y[normal]
        certain = np.maximum(0.0, m - yy)
        safe = np.where(s > 0, s, 1.0)
        loss[normal] = np.where(s > 0, s * normal_loss((yy - m) / safe), certain)

    var = std * std
    k = np.floor(y)
    if poisson.any():
        m, yy, kk = mean[poisson], y[poisson], k[poisson]
        loss[poisson] = m * stats.poisson.sf(kk - 1, m) - yy * stats.poisson.sf(kk, m)
    if negbin.any():
        m, v, yy, kk = mean[negbin], var[negbin], y[negbin], k[negbin]
        shape, p = m * m / (v - m), m / v
        with np.errstate(all="ignore"):
            out = m * stats.nbinom.sf(kk - 1, shape + 1.0, p) - yy * stats.nbinom.sf(kk, shape, p)
        bad = ~np.isfinite(out)
        if bad.any():  # shape underflow for a vanishing mean: the Poisson limit
            out[bad] = m[bad] * stats.poisson.sf(kk[bad] - 1, m[bad]) - yy[bad] * stats.poisson.sf(kk[bad], m[bad])
        loss[negbin] = out
    # Round-off can leave -1e-17 where the loss vanishes; the loss never exceeds the mean at y >= 0.
    if not at_most_mean:
        return np.where(live, np.maximum(loss, 0.0), 0.0)
    return np.clip(loss, 0.0, np.where(live, mean, 0.0))


def expected_lost_units(
    features: pd.DataFrame, position: np.ndarray | pd.Series | float, *, threads: int = 1
) -> np.ndarray:
    """Expected units of demand over the protection interval each ``abc_risk_features`` row cannot serve
    at inventory position ``position`` (aligned with the rows, or a scalar); in pieces by ``threads``
    threads (0: one per CPU; `parallel.in_pieces`), the same values."""
    return expected_shortage(*feature_distributions(features, position), threads=threads)


def fill_rate(lost_units: np.ndarray, demand_units: np.ndarray) -> float:
    """``1 - sum(lost) / sum(demand)``; 1.0 when there is no demand."""
    demand = float(np.sum(demand_units))
    if demand <= 0:
        return 1.0
    return float(1.0 - np.sum(lost_units) / demand)


def customer_facing(features: pd.DataFrame) -> np.ndarray:
    """Rows whose location supplies no other location (the stores of a DC -> store network)."""
    parents = features["parent_location_id"].dropna().astype(str).unique()  # a few ids: no set of every row's
    return ~features["location_id"].astype(str).isin(parents).to_numpy()


@dataclass(frozen=True)
class ServiceFigures:
    """Expected service of the customer-facing rows over their protection interval, before and after."""

    rows: int
    demand_units: float
    lost_units_before: float
    lost_units_after: float
    lost_value_before: float
    """At unit cost, $."""
    lost_value_after: float
    fill_rate_before: float
    fill_rate_after: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def service_figures(
    features: pd.DataFrame,
    position_before: np.ndarray | pd.Series,
    position_after: np.ndarray | pd.Series,
    *,
    threads: int = 1,
) -> ServiceFigures:
    """Lost units, their value and the fill rate of the customer-facing rows of ``features`` at the two
    positions (aligned with the rows); the lost units priced for those rows only, by ``threads`` threads."""
    facing = customer_facing(features)
    served = features[facing]
    demand = served["demand_over_protection"].to_numpy(dtype=float)
    cost = served["unit_cost"].to_numpy(dtype=float)
    before = expected_lost_units(served, np.asarray(position_before, dtype=float)[facing], threads=threads)
    after = expected_lost_units(served, np.asarray(position_after, dtype=float)[facing], threads=threads)
    return ServiceFigures(
        rows=int(facing.sum()),
        demand_units=float(demand.sum()),
        lost_units_before=float(before.sum()),
        lost_units_after=float(after.sum()),
        lost_value_before=float((before * cost).sum()),
        lost_value_after=float((after * cost).sum()),
        fill_rate_before=fill_rate(before, demand),
        fill_rate_after=fill_rate(after, demand),
    )


def at_risk_by_class(
    abc_class: np.ndarray | pd.Series,
    risk_before: np.ndarray | pd.Series,
    risk_after: np.ndarray | pd.Series,
    threshold: float = RISK_THRESHOLD,
) -> pd.DataFrame:
    """Per ABC class (A, B, C always, then any other, then ``total``): ``rows``, and ``before`` /
    ``after`` the rows whose stock-out risk exceeds ``threshold``."""
    frame = pd.DataFrame(
        {
            "abc_class": pd.Series(abc_class).to_numpy(dtype=object).astype(str),  # Arrow text: not value by value
            "before": np.asarray(risk_before, dtype=float) > threshold,
            "after": np.asarray(risk_after, dtype=float) > threshold,
        }
    )
    classes = [*ABC_CLASSES, *sorted(set(frame["abc_class"].unique()) - set(ABC_CLASSES))]
    grouped = frame.groupby("abc_class").agg(rows=("before", "size"), before=("before", "sum"), after=("after", "sum"))
    table = grouped.reindex(classes, fill_value=0).astype(np.int64).reset_index()
    total = pd.DataFrame(
        {
            "abc_class": ["total"],
            "rows": [len(frame)],
            "before": [int(frame["before"].sum())],
            "after": [int(frame["after"].sum())],
        }
    )
    return pd.concat([table, total], ignore_index=True)
