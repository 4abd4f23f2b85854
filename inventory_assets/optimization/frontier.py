"""The budget frontier: the plan re-solved over a grid of budgets, and what each budget buys.

    frontier = budget_frontier(features, PlanParameters(budget=100_000))
    frontier.points      # one row per budget (FRONTIER_COLUMNS), smallest budget first
    frontier.saturation  # the spend beyond which more money buys nothing

Each point is `plan_procurement` at that budget with the other parameters unchanged; the points are
solved from the smallest budget up, each MIP started from the previous point's plan (feasible at any
larger budget). The saturation budget is the spend of the plan at a budget no order can exhaust (every
row bought up to its cap U_i); the grid never goes past it. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from inventory_assets.optimization.data import build_plan_data
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import PlanResult, plan_procurement

DEFAULT_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
"""Budgets of the default grid, as fractions of the configured budget."""

RISK_THRESHOLD = 0.5
"""A row is at risk when its stock-out risk after the plan exceeds this."""

FRONTIER_COLUMNS: tuple[str, ...] = (
    "point",
    "budget",
    "is_configured",
    "spend",
    "expected_cost",
    "expected_lost_units",
    "expected_lost_value",
    "expected_fill_rate",
    "expected_dc_shortfall_units",
    "rows_at_risk",
    "shadow_price",
    "status",
    "saturation_budget",
)
"""Columns of `BudgetFrontier.points` (the ``budget_frontier`` table adds the run)."""


@dataclass(frozen=True)
class FrontierParameters(PlanParameters):
    """The plan's knobs (the budget is the centre of the default grid) and the budgets to solve."""

    budgets: tuple[float, ...] = field(
        default=(),
        metadata={
            "doc": (
                "Budgets to re-solve the plan at, in currency units; empty: 25 %, 50 %, 75 %, 100 %, 125 %, 150 %, "
                "200 % and 300 % of budget. Budgets above the saturation budget (where more money buys nothing) "
                "are dropped and the saturation budget is always the last point."
            )
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "budgets", tuple(float(b) for b in self.budgets))
        if any(not (np.isfinite(b) and b > 0) for b in self.budgets):
            raise ValueError(f"budgets must be finite and > 0, got {list(self.budgets)}")

    def plan_parameters(self) -> PlanParameters:
        """The plan's own parameters (without the grid)."""
        return PlanParameters(**{f: getattr(self, f) for f in PlanParameters.__dataclass_fields__})


@dataclass(frozen=True, eq=False)
class BudgetFrontier:
    """The points and the saturation budget."""

    points: pd.DataFrame
    saturation: float
    """Spend of the unconstrained plan: beyond it more budget changes nothing."""

    def at(self, budget: float) -> pd.Series:
        """The point of ``budget`` (exact match)."""
        return self.points.loc[np.isclose(self.points["budget"], budget)].iloc[0]


def default_budgets(budget: float, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[float]:
    """The default grid around ``budget`` (positive, sorted, without duplicates)."""
    return sorted({round(float(budget) * f, 2) for f in fractions if budget * f > 0})


def _point(result: PlanResult, budget: float, configured: float) -> dict:
    plan, summary = result.plan, result.summary
    # stores: locations that supply no other (as analytics.service.customer_facing)
    at_store = ~plan["location_id"].isin(plan["source_location_id"].dropna().unique()).to_numpy()
    lost = plan["expected_shortfall_after"].to_numpy(dtype=float)
    return {
        "budget": float(budget),
        "is_configured": bool(np.isclose(budget, configured)),
        "spend": summary.spend,
        "expected_cost": summary.expected_cost,
        "expected_lost_units": summary.expected_lost_units,
        "expected_lost_value": float(np.sum(lost[at_store] * plan["unit_cost"].to_numpy(dtype=float)[at_store])),
        "expected_fill_rate": summary.expected_fill_rate,
        "expected_dc_shortfall_units": float(lost[~at_store].sum()),
        "rows_at_risk": int((plan["stockout_risk_after"] > RISK_THRESHOLD).sum()),
        "shadow_price": summary.budget_shadow_price,
        "status": summary.status,
    }


def saturation_budget(features: pd.DataFrame, params: PlanParameters) -> float:
    """Spend of the plan when money is no limit (at most every buying row bought up to its cap)."""
    data = build_plan_data(features, replace(params, budget=1e15))
    most = float(np.dot(data.unit_cost[data.is_root], data.upper[data.is_root]))
    return plan_procurement(features, replace(params, budget=most)).summary.spend


def budget_frontier(
    features: pd.DataFrame, params: PlanParameters, budgets: Sequence[float] | None = None
) -> BudgetFrontier:
    """The plan at each budget of ``budgets`` (default: `default_budgets` of ``params.budget``).

    Budgets above the saturation budget are dropped (they repeat its point), and the saturation
    budget itself is the last point (flagged ``is_configured`` when the configured budget is at or
    above it: its plan is the configured one). Infeasible budgets (critical safety stock unaffordable) raise
    as `plan_procurement` does.
    """
    saturation = saturation_budget(features, params)
    grid = default_budgets(params.budget) if budgets is None else sorted({float(b) for b in budgets})
    grid = [b for b in grid if b < saturation - 0.005] + [saturation]
    rows, previous = [], None
    for budget in grid:
        result = plan_procurement(features, replace(params, budget=budget), start_plan=previous)
        rows.append(_point(result, budget, params.budget))
        if budget == saturation and params.budget >= saturation:  # the configured plan is the saturated one
            rows[-1]["is_configured"] = True
        previous = result.plan
    points = pd.DataFrame(rows)
    points.insert(0, "point", np.arange(1, len(points) + 1))
    points["saturation_budget"] = saturation
    return BudgetFrontier(points=points[list(FRONTIER_COLUMNS)], saturation=saturation)


__all__ = [
    "DEFAULT_FRACTIONS",
    "FRONTIER_COLUMNS",
    "BudgetFrontier",
    "FrontierParameters",
    "budget_frontier",
    "default_budgets",
    "saturation_budget",
]
