"""Evaluate any inbound vector x against the model: positions, costs, hard-constraint checks.

Used for the plan that is returned (the rounded LP plan, the MIP plan), so the reported
costs are always those of the quantities actually recommended.  Two sets of figures:

* the *expected* ones, under each row's demand distribution (`expected_cost.evaluate_rows`):
  what the plan columns and the summary report, whichever objective was optimised;
* the deterministic gaps of the ``target_gap`` objective (units below the order-up-to level,
  beyond what sells in the shelf life), which that objective minimises and the reason codes read.

`PlanEvaluation.objective` is the value of the objective the run optimised, evaluated exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inventory_assets.contract import plan as rules
from inventory_assets.optimization.data import PlanData
from inventory_assets.optimization.expected_cost import evaluate_rows


@dataclass(frozen=True, eq=False)
class PlanEvaluation:
    """Per-row consequences of an inbound vector ``x`` (arrays of length n)."""

    x: np.ndarray
    pulls: np.ndarray
    position: np.ndarray
    shortfall_units: np.ndarray
    """max(0, order_up_to - position after): the gap to the target (``target_gap`` objective)."""
    waste_units: np.ndarray
    """max(0, position after - echelon demand x shelf life), perishables only (``target_gap``)."""
    lost_units: np.ndarray
    """Expected lost sales E[(D - Y)+] (a supplying row: of its echelon position and pooled demand)."""
    expiring_units: np.ndarray
    """Expected units that expire unsold (perishables; 0 otherwise)."""
    holding: np.ndarray
    """Expected holding: on the expected leftover for a store, on the position for a supplying row, $."""
    lost_cost: np.ndarray
    """stockout_cost x lost_units, $."""
    expiry_cost: np.ndarray
    """waste_cost x expiring_units, $."""
    spend: float
    """Supplier purchases: sum over root rows of unit_cost x."""
    objective: float
    """The optimised objective at x: the expected cost (sum of the three cost arrays) or the target gap cost."""

    @property
    def expected_cost(self) -> float:
        return float(self.holding.sum() + self.lost_cost.sum() + self.expiry_cost.sum())


def evaluate_plan(data: PlanData, x: np.ndarray) -> PlanEvaluation:
    """Positions and costs of inbound ``x`` (vectorised)."""
    x = np.asarray(x, dtype=float)
    pulls = data.pulls(x)
    position = data.base + x - pulls
    shortfall = np.maximum(data.target - position, 0.0)
    waste = np.where(data.perishable, np.maximum(position - data.sellable, 0.0), 0.0)
    expected = evaluate_rows(data, np.arange(data.n), x)
    holding = data.hold * np.where(data.has_children, position, expected.leftover_units)
    lost_cost = data.stockout_cost * expected.lost_units
    expiry_cost = data.waste_cost * expected.waste_units
    if data.objective == "target_gap":
        objective = float(
            np.dot(data.hold, position) + np.dot(data.shortfall_penalty, shortfall) + np.dot(data.waste_cost, waste)
        )
    else:
        objective = float(holding.sum() + lost_cost.sum() + expiry_cost.sum())
    return PlanEvaluation(
        x=x,
        pulls=pulls,
        position=position,
        shortfall_units=shortfall,
        waste_units=waste,
        lost_units=expected.lost_units,
        expiring_units=expected.waste_units,
        holding=holding,
        lost_cost=lost_cost,
        expiry_cost=expiry_cost,
        spend=float(np.dot(data.unit_cost[data.is_root], x[data.is_root])),
        objective=objective,
    )


def hard_violations(data: PlanData, x: np.ndarray, ev: PlanEvaluation | None = None) -> dict[str, np.ndarray]:
    """Rows (or location codes) breaking each hard constraint; empty arrays when all hold.

    Each rule is the contract's (``inventory_assets.contract.plan``), evaluated on the model's arrays;
    ``ev``: `evaluate_plan(data, x)` when the caller has it already."""
    ev = evaluate_plan(data, x) if ev is None else ev
    loc_position = np.bincount(data.loc, weights=ev.position, minlength=data.n_locations)
    loc_inbound = np.bincount(data.loc, weights=x, minlength=data.n_locations)
    cap_bad = rules.over_capacity(data.over_capacity, loc_inbound, loc_position, data.capacity) & np.isfinite(
        data.capacity
    )
    return {
        "negative": np.flatnonzero(rules.negative_quantity(x)),
        "pack": np.flatnonzero(rules.off_pack(x, data.order_multiple)),
        "moq": np.flatnonzero(rules.below_min_order(x, data.min_order_qty)),
        "blocked": np.flatnonzero(data.inbound_blocked & rules.ordered(x)),
        "parent_stock": np.flatnonzero(rules.over_stock(ev.pulls, data.on_hand)),
        "critical": np.flatnonzero(rules.below_safety_stock(data.critical, ev.position, data.safety)),
        "capacity": np.flatnonzero(cap_bad),
        "budget": np.array([0]) if rules.over_budget(ev.spend, data.budget) else np.array([], int),
    }
