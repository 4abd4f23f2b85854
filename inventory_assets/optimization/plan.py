"""One call from the features frame to the procurement plan: the entry point for the asset.

    result = plan_procurement(features, PlanParameters(budget=50_000))
    result.plan      # DataFrame, ProcurementPlanSchema
    result.summary   # PlanSummary (run metadata)

Stages (each its own module, each tested on its own): `data.build_plan_data` ->
`diagnose.check_critical_feasibility` -> `model.build_model` + `matrix.compile_pyomo` (or
`matrix.build_matrix`) -> `solve.solve` -> rounding / snapping -> `extract.extract_plan`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from inventory_assets.optimization.data import QTY_TOL, PlanData, build_plan_data
from inventory_assets.optimization.diagnose import check_critical_feasibility
from inventory_assets.optimization.errors import PlanSolveError
from inventory_assets.optimization.evaluate import evaluate_plan, hard_violations
from inventory_assets.optimization.extract import PlanSummary, extract_plan, summarize
from inventory_assets.optimization.matrix import MatrixLP, build_matrix, compile_pyomo, to_segment_form
from inventory_assets.optimization.model import build_model
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.rounding import round_relaxed
from inventory_assets.optimization.sets import build_sets
from inventory_assets.optimization.solve import SolveResult, solve

Engine = Literal["auto", "pyomo", "matrix"]

PYOMO_MAX_ROWS = 50_000
"""``engine="auto"`` builds the Pyomo model up to this many rows, the numpy matrices above it
(Pyomo spends ~30-40 microseconds per constraint; see docs/benchmarks.md)."""

SEGMENT_MIN_COLUMNS = 20_000
"""LP relaxations with at least this many columns are solved in segment form
(`matrix.to_segment_form`, same optimum, far fewer rows; docs/benchmarks.md)."""


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The plan frame and its run summary."""

    plan: pd.DataFrame
    summary: PlanSummary


def build_lp(data: PlanData, engine: Engine = "auto", segment_min_columns: int | None = None) -> MatrixLP:
    """Build the model arrays with the chosen engine (``auto``: Pyomo up to `PYOMO_MAX_ROWS`).

    An LP relaxation with at least `SEGMENT_MIN_COLUMNS` columns is rewritten in segment form.
    """
    sets = build_sets(data)
    if engine == "auto":
        engine = "pyomo" if data.n <= PYOMO_MAX_ROWS else "matrix"
    t0 = time.perf_counter()
    if engine == "pyomo":
        lp = compile_pyomo(build_model(data, sets), data)
    elif engine == "matrix":
        lp = build_matrix(data, sets)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    threshold = SEGMENT_MIN_COLUMNS if segment_min_columns is None else segment_min_columns
    if data.relax and lp.n_cols >= threshold:
        lp = to_segment_form(lp, data, sets)
    lp.build_seconds = time.perf_counter() - t0
    return lp


def snap_to_packs(data: PlanData, x: np.ndarray) -> np.ndarray:
    """Exact whole packs from a MIP solution (removes solver round-off)."""
    x = np.clip(x, 0.0, data.upper)
    packs = np.round(x / data.order_multiple)
    return np.where(x > QTY_TOL, packs * data.order_multiple, 0.0)


def plan_procurement(
    features: pd.DataFrame,
    params: PlanParameters | None = None,
    *,
    engine: Engine = "auto",
    precheck: bool = True,
    segment_min_columns: int | None = None,
) -> PlanResult:
    """Optimise the procurement plan of one cycle.

    Args:
        features: the `abc_risk_features` frame (docs/frames.md).
        params: budget, critical classes, solver limits, relaxation switch.
        engine: ``pyomo``, ``matrix`` or ``auto`` (same model either way).
        precheck: run the analytic critical-safety-stock check before solving (turn off only
            to exercise HiGHS's IIS diagnosis in tests).
        segment_min_columns: override `SEGMENT_MIN_COLUMNS` (0: always use the segment form
            for LP relaxations; tests and benchmarks).

    Raises:
        PlanDataError: the features cannot be modelled.
        PlanInfeasibleError: no plan meets the hard constraints (message says why).
        PlanSolveError: HiGHS failed without a usable solution.
        PlanRoundingError: relaxed run whose rounding could not keep the hard constraints.
    """
    params = PlanParameters() if params is None else params
    t0 = time.perf_counter()
    data = build_plan_data(features, params)
    if precheck:
        check_critical_feasibility(data)
    lp = build_lp(data, engine, segment_min_columns)
    build_seconds = time.perf_counter() - t0

    result: SolveResult = solve(lp, params, data)

    t1 = time.perf_counter()
    x_solver = lp.inbound(result.col_value)
    x = round_relaxed(data, x_solver) if data.relax else snap_to_packs(data, x_solver)
    if not data.relax:
        bad = {k: v for k, v in hard_violations(data, x).items() if len(v)}
        if bad:
            raise PlanSolveError(f"HiGHS's solution breaks hard constraints after snapping to packs: {sorted(bad)}")
    ev = evaluate_plan(data, x)
    plan = extract_plan(data, ev)
    objective = ev.objective
    rounding_gap = (objective - result.objective) / max(abs(objective), 1e-9) if data.relax else 0.0
    summary = summarize(
        data,
        ev,
        plan,
        status=result.status,
        is_optimal=result.is_optimal,
        engine=lp.source,
        solver=result.solver,
        relaxed=data.relax,
        solver_objective=result.objective,
        rounding_gap=float(rounding_gap),
        mip_gap=float(result.mip_gap),
        budget_shadow_price=float(result.budget_shadow_price),
        n_variables=lp.n_cols,
        n_constraints=lp.n_rows,
        n_integer=lp.n_integer,
        n_nonzeros=lp.nnz,
        build_seconds=build_seconds,
        solve_seconds=result.solve_seconds,
        extract_seconds=time.perf_counter() - t1,
    )
    return PlanResult(plan=plan, summary=summary)
