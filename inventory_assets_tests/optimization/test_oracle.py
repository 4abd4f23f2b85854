"""The model against an independent formulation solved by scipy.optimize.milp (1e-6 relative)."""

from __future__ import annotations

import math

import pytest

from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import Engine, plan_procurement
from inventory_assets_tests.optimization.instances import random_instance
from inventory_assets_tests.optimization.oracle import oracle_objective

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("relax", [False, True])
def test_same_objective_as_the_scipy_oracle(seed, relax):
    frame, budget = random_instance(seed, n_products=3, n_locations=4 + seed % 4)
    params = PlanParameters(
        objective="target_gap", budget=budget, mip_rel_gap=0.0, relax_integrality=relax, relaxed_gap_limit=math.inf
    )
    engine: Engine = "pyomo" if seed % 2 else "matrix"
    try:
        result = plan_procurement(frame, params, engine=engine)
    except PlanInfeasibleError:
        # the analytic precheck must agree with the oracle that no plan exists (MIP)
        with pytest.raises(RuntimeError):
            oracle_objective(frame, budget, integer=True)
        return
    plan = result.plan
    unreachable = plan[plan["reason_code"] == "critical_unreachable"]
    exempt = frozenset(zip(unreachable["product_id"], unreachable["location_id"], strict=True))
    expected = oracle_objective(frame, budget, integer=not relax, exempt=exempt)
    assert result.summary.solver_objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    if not relax:
        # the returned plan's evaluated cost is the solver's objective
        assert result.summary.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    else:
        # rounding can only cost more than the LP bound
        assert result.summary.objective >= expected * (1 - 1e-9) - 1e-9


def test_oracle_sees_infeasible_when_the_precheck_does():
    from inventory_assets_tests.optimization.factories import features

    frame = features(
        [{"product_id": "P1", "location_id": "DC", "safety_stock": 10, "order_up_to": 10, "abc_class": "A"}],
        network={"DC": None},
    )
    with pytest.raises(PlanInfeasibleError):
        plan_procurement(frame, PlanParameters(objective="target_gap", budget=50))
    with pytest.raises(RuntimeError):
        oracle_objective(frame, 50)
