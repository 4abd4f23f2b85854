"""The budget frontier (core): one plan per budget, monotone, ending where more money buys nothing."""

from __future__ import annotations

import numpy as np
import pytest

from inventory_assets.optimization.frontier import (
    FRONTIER_COLUMNS,
    FrontierParameters,
    budget_frontier,
    default_budgets,
    saturation_budget,
)
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.instances import random_instance


def test_default_grid_is_around_the_budget():
    assert default_budgets(1000.0) == [250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0, 2000.0, 3000.0]
    assert default_budgets(0.0) == []


@pytest.mark.parametrize("seed", range(4))
def test_points_are_the_plans_at_each_budget_and_monotone(seed):
    frame, budget = random_instance(seed, 3, 4 + seed)
    params = PlanParameters(budget=budget, critical_classes=(), mip_rel_gap=0.0)
    frontier = budget_frontier(frame, params)
    points = frontier.points
    assert list(points.columns) == list(FRONTIER_COLUMNS)
    assert points["point"].tolist() == list(range(1, len(points) + 1))
    assert points["budget"].is_monotonic_increasing
    # the last point is where money stops buying anything: its plan spends less than the budget would allow
    assert points["budget"].iloc[-1] == pytest.approx(frontier.saturation)
    assert points["shadow_price"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    assert (points["spend"] <= points["budget"] + 1e-6).all()
    # more money never raises the expected cost (each point's plan is optimal at its budget)
    assert np.all(np.diff(points["expected_cost"]) <= 1e-6 * points["expected_cost"].abs().max() + 1e-9)
    # each point is the plan at its budget, solved on its own
    for row in points.itertuples():
        alone = plan_procurement(frame, PlanParameters(budget=row.budget, critical_classes=(), mip_rel_gap=0.0))
        assert row.expected_cost == pytest.approx(alone.summary.expected_cost, rel=1e-6, abs=1e-6)
    assert points["is_configured"].sum() == 1  # the configured budget, or the saturation point above it


def test_saturation_is_the_unconstrained_spend():
    frame, budget = random_instance(3, 3, 5)
    params = PlanParameters(budget=budget, critical_classes=())
    unconstrained = plan_procurement(frame, PlanParameters(budget=1e12, critical_classes=())).summary.spend
    assert saturation_budget(frame, params) == pytest.approx(unconstrained)


def test_frontier_parameters_refuse_bad_budgets_and_keep_the_plan_knobs():
    with pytest.raises(ValueError, match="budgets"):
        FrontierParameters(budgets=(100.0, -1.0))
    params = FrontierParameters(budget=500.0, critical_classes=("B",), budgets=(300.0, 100.0))
    assert params.plan_parameters() == PlanParameters(budget=500.0, critical_classes=("B",))
    assert params.budgets == (300.0, 100.0)
