"""Evaluate any inbound vector x against the model: positions, costs, hard-constraint checks.

Used for the plan that is returned (the rounded LP plan, the MIP plan), so the reported
costs are always those of the quantities actually recommended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inventory_assets.contract import plan as rules
from inventory_assets.optimization.data import PlanData


@dataclass(frozen=True, eq=False)
class PlanEvaluation:
    """Per-row consequences of an inbound vector ``x`` (arrays of length n)."""

    x: np.ndarray
    pulls: np.ndarray
    position: np.ndarray
    shortfall_units: np.ndarray
    """max(0, order_up_to - position after)."""
    waste_units: np.ndarray
    """max(0, position after - echelon demand x shelf life), perishables only."""
    holding: np.ndarray
    shortfall_cost: np.ndarray
    waste_cost: np.ndarray
    spend: float
    """Supplier purchases: sum over root rows of unit_cost x."""

    @property
    def objective(self) -> float:
        return float(self.holding.sum() + self.shortfall_cost.sum() + self.waste_cost.sum())


def evaluate_plan(data: PlanData, x: np.ndarray) -> PlanEvaluation:
    """Positions and costs of inbound ``x`` (vectorised)."""
    x = np.asarray(x, dtype=float)
    pulls = data.pulls(x)
    position = data.base + x - pulls
    shortfall = np.maximum(data.target - position, 0.0)
    waste = np.where(data.perishable, np.maximum(position - data.sellable, 0.0), 0.0)
    return PlanEvaluation(
        x=x,
        pulls=pulls,
        position=position,
        shortfall_units=shortfall,
        waste_units=waste,
        holding=data.hold * position,
        shortfall_cost=data.shortfall_penalty * shortfall,
        waste_cost=data.waste_cost * waste,
        spend=float(np.dot(data.unit_cost[data.is_root], x[data.is_root])),
    )


def hard_violations(data: PlanData, x: np.ndarray) -> dict[str, np.ndarray]:
    """Rows (or location codes) breaking each hard constraint; empty arrays when all hold.

    Each rule is the contract's (``inventory_assets.contract.plan``), evaluated on the model's arrays."""
    ev = evaluate_plan(data, x)
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
