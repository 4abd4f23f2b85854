"""Evaluate any inbound vector x against the model: positions, costs, hard-constraint checks.

Used for the plan that is returned (the rounded LP plan, the MIP plan), so the reported
costs are always those of the quantities actually recommended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inventory_assets.optimization.data import QTY_TOL, PlanData

_REL = 1e-9


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


def _tol(scale: np.ndarray | float) -> np.ndarray | float:
    return QTY_TOL + _REL * np.abs(scale)


def hard_violations(data: PlanData, x: np.ndarray) -> dict[str, np.ndarray]:
    """Rows (or location codes) breaking each hard constraint; empty arrays when all hold."""
    ev = evaluate_plan(data, x)
    packs = x / data.order_multiple
    off_pack = (x > QTY_TOL) & (np.abs(packs - np.round(packs)) > 1e-6)
    below_moq = (x > QTY_TOL) & (x < data.min_order_qty - _tol(data.min_order_qty))
    loc_position = np.bincount(data.loc, weights=ev.position, minlength=data.n_locations)
    loc_inbound = np.bincount(data.loc, weights=x, minlength=data.n_locations)
    cap_bad = np.where(
        data.over_capacity,
        loc_inbound > QTY_TOL,
        loc_position > data.capacity + _tol(data.capacity),
    ) & np.isfinite(data.capacity)
    return {
        "negative": np.flatnonzero(x < -QTY_TOL),
        "pack": np.flatnonzero(off_pack),
        "moq": np.flatnonzero(below_moq),
        "blocked": np.flatnonzero(data.inbound_blocked & (x > QTY_TOL)),
        "parent_stock": np.flatnonzero(ev.pulls > data.on_hand + _tol(data.on_hand)),
        "critical": np.flatnonzero(data.critical & (ev.position < data.safety - _tol(data.safety))),
        "capacity": np.flatnonzero(cap_bad),
        "budget": np.array([0]) if ev.spend > data.budget + 1e-6 * max(1.0, data.budget) else np.array([], int),
    }
