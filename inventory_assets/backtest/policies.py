"""Replenishment policies of the backtest: one signature, ``Policy = Callable[[PolicyInput], Orders]``.

A policy sees, at a review day, the features recomputed from the history before that day with the
simulated stock as the position (``PolicyInput.features``: the ``abc_risk_features`` columns of
``docs/frames.md``, one row per simulated pair, in the simulation's row order) and returns one order
quantity per row and whether it is a purchase (spends budget, from the supplier) or a transfer from the
row's parent (leaves the parent's on hand at once). Register a new policy in :data:`POLICIES`.

Shared rules of the rule-based policies (``order_up_to``, ``risk_ranked``, ``replace_sold``):

- **echelon by echelon, deepest first**: a row's need counts what its children take from it this review,
  ``need_i = order_up_to_i + out_i - position_i`` (``position`` = on hand + on order);
- **packs and MOQs as in the plan**: a need is rounded *up* to the smallest feasible order (0, or whole
  packs >= MOQ: ``optimization.data.round_up_to_pack``);
- **transfers** come from the parent's on hand only: within each parent the children are served in
  decreasing ``stockout_risk`` (ties: row order); each gets its full order while the parent's on hand
  lasts, the first that does not fit gets the rest rounded *down* to packs (possibly 0), the later ones
  nothing. A row whose parent location does not stock the product receives nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.optimization.data import min_positive_order, round_down_to_pack, round_up_to_pack
from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement

__all__ = [
    "DEFAULT_POLICIES",
    "POLICIES",
    "Orders",
    "Policy",
    "PolicyInput",
    "allocate_transfers",
    "order_up_to_policy",
    "plan_policy",
    "plan_target_gap_policy",
    "replace_sold_policy",
    "risk_ranked_policy",
]


@dataclass(frozen=True, eq=False)
class PolicyInput:
    """What a policy knows at a review day (arrays aligned with ``features`` rows)."""

    features: pd.DataFrame
    """``abc_risk_features`` at the review (window ending the day before), ``on_hand``/``on_order`` =
    the simulated state; rows in the simulation's order with a fresh RangeIndex."""
    day: pd.Timestamp
    """The review day (its sales are not known yet)."""
    review: int
    """0-based index of the review."""
    parent_row: np.ndarray
    """Row of the same product at the parent location, -1 when none (a top-level row, or the parent
    location does not stock the product)."""
    sold_last_period: np.ndarray
    """Units sold (served) at each row in the ``review_days`` before ``day``; at the first review, the
    recorded sales of those days."""
    budget: float
    """Money available for purchases at this review."""
    plan_parameters: PlanParameters = field(default_factory=PlanParameters)
    """The project's plan as configured (its ``budget`` is replaced by :attr:`budget`)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Extra knobs for policies registered later (by name)."""

    @property
    def is_top(self) -> np.ndarray:
        """Rows whose location has no parent: they buy from suppliers."""
        return self.features["parent_location_id"].isna().to_numpy()


@dataclass(frozen=True, eq=False)
class Orders:
    """A policy's decision at one review: units per row, and purchase (False) or transfer (True)."""

    quantity: np.ndarray
    transfer: np.ndarray
    info: Mapping[str, Any] = field(default_factory=dict)
    """Facts about the decision for the run record (e.g. the plan's status)."""


Policy = Callable[[PolicyInput], Orders]


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float)


def _packs(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    multiple = _col(features, "order_multiple")
    return multiple, min_positive_order(multiple, _col(features, "min_order_qty"))


def allocate_transfers(
    request: np.ndarray,
    priority: np.ndarray,
    parent_row: np.ndarray,
    parent_available: np.ndarray,
    order_multiple: np.ndarray,
    min_qty: np.ndarray,
) -> np.ndarray:
    """Transfers granted to each row from its parent's available stock (module docstring's rule).

    ``request``/``priority``/``parent_row``/packs are per row; ``parent_available`` is per row too
    (read at the parent's index). Rows without a parent get 0.
    """
    request = np.asarray(request, dtype=float)
    granted = np.zeros(len(request))
    rows = np.flatnonzero((parent_row >= 0) & (request > 0))
    if not len(rows):
        return granted
    order = np.lexsort((rows, -priority[rows], parent_row[rows]))
    rows = rows[order]
    parent = parent_row[rows]
    q = request[rows]
    cum = np.cumsum(q)
    first = np.r_[True, parent[1:] != parent[:-1]]
    group_base = np.maximum.accumulate(np.where(first, cum - q, 0.0))
    before = cum - q - group_base
    left = np.maximum(parent_available[parent] - before, 0.0)
    fits = q <= left
    partial = round_down_to_pack(left, order_multiple[rows], min_qty[rows])
    granted[rows] = np.where(fits, q, np.minimum(partial, q))
    return granted


def _need(features: pd.DataFrame, out: np.ndarray, rows: np.ndarray) -> np.ndarray:
    target = _col(features, "order_up_to")[rows]
    position = _col(features, "inventory_position")[rows]
    return np.maximum(target + out[rows] - position, 0.0)


def _cascade(inp: PolicyInput, request_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Orders:
    """Echelon by echelon from the deepest: children's requests are granted from their parents' on
    hand; top rows' requests are purchases. ``request_of(rows, out)`` gives the (rounded) requests."""
    f = inp.features
    n = len(f)
    echelon = f["echelon"].to_numpy(dtype=np.int64)
    top = inp.is_top
    on_hand = _col(f, "on_hand")
    risk = _col(f, "stockout_risk")
    multiple, min_qty = _packs(f)
    out = np.zeros(n)
    qty = np.zeros(n)
    for level in sorted(set(echelon[~top].tolist()), reverse=True):
        rows = np.flatnonzero((echelon == level) & ~top)
        request = np.zeros(n)
        request[rows] = request_of(rows, out)
        granted = allocate_transfers(request, risk, inp.parent_row, on_hand, multiple, min_qty)
        qty[rows] = granted[rows]
        has = rows[granted[rows] > 0]
        np.add.at(out, inp.parent_row[has], granted[has])
    rows = np.flatnonzero(top)
    qty[rows] = request_of(rows, out)
    return Orders(quantity=qty, transfer=~top & (qty > 0))


def order_up_to_policy(inp: PolicyInput) -> Orders:
    """The textbook periodic-review rule: every row up to its ``order_up_to`` level, no budget."""
    multiple, min_qty = _packs(inp.features)

    def request(rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        return round_up_to_pack(_need(inp.features, out, rows), multiple[rows], min_qty[rows])

    return _cascade(inp, request)


def risk_ranked_policy(inp: PolicyInput) -> Orders:
    """The Databricks seed's rule: top rows buy up to target in decreasing ``stockout_risk x annual_value``
    until the budget is spent; children are refilled up to target by transfer (free of budget).

    Purchases are taken in rank order (ties: row order) while their cumulative cost fits the budget; the
    first that does not fit gets what the rest of the budget buys, rounded down to packs; then it stops.
    """
    f = inp.features
    multiple, min_qty = _packs(f)
    cost = _col(f, "unit_cost")
    score = _col(f, "stockout_risk") * _col(f, "annual_value")

    def request(rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        want = round_up_to_pack(_need(f, out, rows), multiple[rows], min_qty[rows])
        if not inp.is_top[rows].all():
            return want
        order = np.lexsort((rows, -score[rows]))
        ranked = rows[order]
        spend = want[order] * cost[ranked]
        before = np.cumsum(spend) - spend
        left = np.maximum(inp.budget - before, 0.0)
        fits = spend <= left + 1e-9 * max(inp.budget, 1.0)
        afford = round_down_to_pack(left / cost[ranked], multiple[ranked], min_qty[ranked])
        stop = np.cumsum(~fits) > 1  # after the first order that did not fit: nothing
        got = np.where(fits, want[order], np.where(stop, 0.0, np.minimum(afford, want[order])))
        result = np.empty(len(rows))
        result[order] = got
        return result

    return _cascade(inp, request)


def replace_sold_policy(inp: PolicyInput) -> Orders:
    """The naive practice: reorder what was sold in the last review period, at the row and below it
    (what its customers took through it), rounded up to packs; no budget, no targets."""
    f = inp.features
    multiple, min_qty = _packs(f)
    echelon = f["echelon"].to_numpy(dtype=np.int64)
    through = np.asarray(inp.sold_last_period, dtype=float).copy()
    for level in sorted(set(echelon.tolist()), reverse=True):
        rows = np.flatnonzero((echelon == level) & (inp.parent_row >= 0))
        np.add.at(through, inp.parent_row[rows], through[rows])

    def request(rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        return round_up_to_pack(through[rows], multiple[rows], min_qty[rows])

    return _cascade(inp, request)


def plan_policy(inp: PolicyInput) -> Orders:
    """The project's plan (``optimization.plan_procurement``) with the configured ``PlanParameters`` and the
    review's budget, on the features whose ``on_hand``/``on_order`` are the simulated state.

    When the plan is infeasible (critical safety stock out of reach of the budget or the parents'
    stock), the review is planned again without critical classes and ``info["critical_relaxed"]`` says so.
    """
    params = replace(inp.plan_parameters, budget=float(inp.budget))
    info: dict[str, Any] = {"critical_relaxed": False}
    try:
        result = plan_procurement(inp.features, params)
    except PlanInfeasibleError:
        result = plan_procurement(inp.features, replace(params, critical_classes=()))
        info["critical_relaxed"] = True
    plan = result.plan
    key = pd.MultiIndex.from_frame(inp.features[["product_id", "location_id"]].astype(str))
    rows = key.get_indexer(pd.MultiIndex.from_frame(plan[["product_id", "location_id"]].astype(str)))
    if (rows < 0).any():
        raise RuntimeError("the plan has rows that are not in the features")
    qty = np.zeros(len(inp.features))
    transfer = np.zeros(len(inp.features), dtype=bool)
    qty[rows] = plan["order_qty"].to_numpy(dtype=float)
    transfer[rows] = plan["source_location_id"].notna().to_numpy() & (qty[rows] > 0)
    info["status"] = result.summary.status
    return Orders(quantity=qty, transfer=transfer, info=info)


def plan_target_gap_policy(inp: PolicyInput) -> Orders:
    """`plan_policy` with the earlier ``target_gap`` objective (the deterministic gap to the order-up-to
    level), whatever the configured objective, and its rounded relaxation accepted at any gap, as it was
    before: the baseline the ``expected_cost`` plan is judged against."""
    params = replace(inp.plan_parameters, objective="target_gap", relaxed_gap_limit=math.inf)  # as it was
    return plan_policy(replace(inp, plan_parameters=params))


POLICIES: dict[str, Policy] = {
    "plan": plan_policy,
    "plan_target_gap": plan_target_gap_policy,
    "order_up_to": order_up_to_policy,
    "risk_ranked": risk_ranked_policy,
    "replace_sold": replace_sold_policy,
}
"""Policies by name; a later objective or forecast plugs in by adding a name here (or passing a mapping)."""

DEFAULT_POLICIES: tuple[str, ...] = tuple(POLICIES)
