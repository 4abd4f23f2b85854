"""Property tests over random instances: every hard rule holds; more budget never costs more."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inventory_assets.contract.plan import ProcurementPlanSchema, plan_violations
from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets_tests.optimization.instances import random_instance

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(frame, budget, relax, engine="matrix", critical=("A",)):
    params = PlanParameters(
        objective="target_gap", budget=budget, relax_integrality=relax, mip_rel_gap=0.0, critical_classes=critical
    )
    try:
        return params, plan_procurement(frame, params, engine=engine)
    except PlanInfeasibleError:
        return params, None


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    n_products=st.integers(1, 4),
    n_locations=st.integers(1, 8),
    relax=st.booleans(),
    critical=st.sampled_from([(), ("A",), ("A", "B")]),
)
def test_every_hard_rule_holds(seed, n_products, n_locations, relax, critical):
    frame, budget = random_instance(seed, n_products, n_locations)
    params, result = run(frame, budget, relax, critical=critical)
    assume(result is not None)
    plan = ProcurementPlanSchema.validate(result.plan)
    violations = plan_violations(plan, params)
    assert violations.empty, violations.to_string()
    assert result.summary.spend <= budget * (1 + 1e-9)
    assert len(plan) == len(frame)
    assert result.summary.budget_shadow_price >= 0


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    n_locations=st.integers(1, 7),
    relax=st.booleans(),
    factor=st.floats(1.05, 4.0),
)
def test_more_budget_never_raises_the_objective(seed, n_locations, relax, factor):
    frame, budget = random_instance(seed, 3, n_locations)
    _, low = run(frame, budget, relax)
    assume(low is not None)
    _, high = run(frame, budget * factor, relax)
    assert high is not None  # more money cannot make it infeasible
    # the optimum (MIP with gap 0, or the LP bound) is monotone in the budget
    assert high.summary.solver_objective <= low.summary.solver_objective * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_budget_shadow_price_matches_a_finite_difference(seed):
    frame, budget = random_instance(seed, 3, 5)
    _, a = run(frame, budget, relax=True)
    _, b = run(frame, budget + 1.0, relax=True)
    saved = a.summary.solver_objective - b.summary.solver_objective
    assert saved == pytest.approx(a.summary.budget_shadow_price, rel=1e-4, abs=1e-6)
