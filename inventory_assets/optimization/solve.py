"""One guarded HiGHS solve of a `MatrixLP`.

The model arrays go to `highspy` in a single ``passModel`` call.  The termination status is
checked before any value is read: an optimal solution, or a time/iteration limit with a
feasible solution (reported as such), is accepted; an infeasible model raises
`PlanInfeasibleError` with a diagnosis; anything else raises `PlanSolveError`.  Nothing is
retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from inventory_assets.optimization.data import PlanData
from inventory_assets.optimization.diagnose import diagnose_with_iis
from inventory_assets.optimization.errors import PlanSolveError
from inventory_assets.optimization.matrix import MatrixLP
from inventory_assets.optimization.params import PlanParameters

SEGMENT_FORM_OPTIONS = {"solver": "simplex", "presolve": "off", "simplex_dual_edge_weight_strategy": 1}
"""HiGHS options for a ``target_gap`` LP in segment form (`matrix.to_segment_form`): dual simplex
(Devex pricing) without presolve.  Chosen by measurement on that model (docs/benchmarks.md, "Solver
choices"): presolve spends more time than it saves on the segment form (the dense budget and
capacity rows), and interior point (with or without presolve) is slower than dual simplex at
every size.  Everything else keeps HiGHS's defaults, the ``expected_cost`` relaxation with its links
eliminated included: there presolve pays (synthetic large, 5M columns: 10.9 s with the defaults
against 573 s with these options; medium 1.2 s against 2.9 s)."""

_MS = highspy.HighsModelStatus
_LIMITS = {
    _MS.kTimeLimit: "time_limit",
    _MS.kIterationLimit: "iteration_limit",
    _MS.kSolutionLimit: "solution_limit",
    _MS.kInterrupt: "interrupted",
    _MS.kHighsInterrupt: "interrupted",  # type: ignore[attr-defined]  # in highspy 1.15 but missing from its stubs
    _MS.kObjectiveBound: "objective_bound",
    _MS.kObjectiveTarget: "objective_target",
    _MS.kUnknown: "unknown",
}
_INFEASIBLE = {_MS.kInfeasible, _MS.kUnboundedOrInfeasible}


@dataclass(eq=False)
class SolveResult:
    """What an accepted solve returns."""

    status: str
    """``optimal`` or ``feasible_<limit>`` (e.g. ``feasible_time_limit``)."""
    is_optimal: bool
    objective: float
    """Objective value reported by HiGHS (MIP: of the incumbent)."""
    col_value: np.ndarray
    row_dual: np.ndarray | None
    """Row duals (LP only, None for a MIP)."""
    mip_gap: float
    """Relative MIP gap (0 for an LP solved to optimality, nan for an LP stopped early)."""
    dual_bound: float
    budget_shadow_price: float
    """Objective saved per extra unit of budget (>= 0); MIP: from the LP with the order/no-order
    binaries fixed and pack counts relaxed; nan when unavailable."""
    solver: str
    """``simplex`` / ``ipm`` / ``mip``: how HiGHS solved it."""
    solve_seconds: float
    options: dict


def highs_options(lp: MatrixLP, params: PlanParameters) -> dict:
    """HiGHS options for this model (see `IPM_MIN_COLUMNS`)."""
    options: dict = {
        "output_flag": False,
        "time_limit": float(params.time_limit_seconds),
        "mip_rel_gap": float(params.mip_rel_gap),
    }
    if params.threads:
        options["threads"] = int(params.threads)
    if lp.n_integer == 0 and lp.source.endswith("+segments"):
        options.update(SEGMENT_FORM_OPTIONS)
    return options


def _pass(h: highspy.Highs, lp: MatrixLP, integrality: np.ndarray) -> None:
    A = lp.A  # CSR: HiGHS takes row-wise storage (format 2) directly
    status = h.passModel(
        lp.n_cols,
        lp.n_rows,
        lp.nnz,
        2,
        1,
        float(lp.offset),
        lp.c,
        lp.col_lower,
        lp.col_upper,
        lp.row_lower,
        lp.row_upper,
        A.indptr.astype(np.int32, copy=False),
        A.indices.astype(np.int32, copy=False),
        A.data,
        integrality.astype(np.int32, copy=False),
    )
    if status == highspy.HighsStatus.kError:
        raise PlanSolveError("HiGHS rejected the model (passModel returned an error)")


def _budget_dual(h: highspy.Highs, lp: MatrixLP) -> float:
    if lp.budget_row < 0:
        return 0.0
    sol = h.getSolution()
    if not sol.dual_valid:
        return float("nan")
    return max(0.0, -float(sol.row_dual[lp.budget_row]))


def _mip_shadow_price(lp: MatrixLP, col_value: np.ndarray, options: dict) -> float:
    """Budget dual of the LP with the binaries fixed at the MIP solution and pack counts relaxed.

    Fixing every integer would fix every x and make the dual 0; fixing only the order/no-order
    decisions (y) keeps the marginal value of money among the orders the plan places.  Solved
    on a fresh HiGHS instance (HiGHS's time limit counts from its first run).
    """
    if lp.budget_row < 0:
        return 0.0
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    binary = lp.col_family == 4
    lower[binary] = upper[binary] = np.round(col_value[binary])
    fixed = MatrixLP(
        **{**lp.__dict__, "col_lower": lower, "col_upper": upper, "integrality": np.zeros(lp.n_cols, dtype=np.uint8)}
    )
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(min(60.0, options.get("time_limit", 60.0))))
    _pass(h, fixed, fixed.integrality)
    h.run()
    if h.getModelStatus() != _MS.kOptimal:
        return float("nan")
    return _budget_dual(h, fixed)


def solve(lp: MatrixLP, params: PlanParameters, data: PlanData, start: np.ndarray | None = None) -> SolveResult:
    """Solve once with HiGHS; check termination before reading values; raise on failure.

    ``start``: a feasible column vector handed to HiGHS as the first incumbent of a MIP.
    """
    options = highs_options(lp, params)
    t0 = time.perf_counter()
    h = highspy.Highs()
    if "threads" in options:
        # HiGHS's thread pool is global and fixed at its first use: rebuild it for this count
        highspy.Highs.resetGlobalScheduler(True)
    for name, value in options.items():
        h.setOptionValue(name, value)
    _pass(h, lp, lp.integrality)
    if start is not None and lp.n_integer:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(start, dtype=float)
        solution.value_valid = True
        h.setSolution(solution)
    run_status = h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    is_mip = lp.n_integer > 0
    solver = "mip" if is_mip else options.get("solver", "simplex")

    if model_status in _INFEASIBLE:
        raise diagnose_with_iis(lp, data)
    if model_status == _MS.kModelEmpty:  # nothing to decide (e.g. every row already at target)
        return SolveResult(
            status="optimal",
            is_optimal=True,
            objective=float(lp.offset),
            col_value=np.zeros(lp.n_cols),
            row_dual=np.zeros(lp.n_rows),
            mip_gap=0.0,
            dual_bound=float(lp.offset),
            budget_shadow_price=0.0,
            solver="none",
            solve_seconds=time.perf_counter() - t0,
            options=options,
        )
    if model_status == _MS.kOptimal:
        status, is_optimal = "optimal", True
    elif model_status in _LIMITS and info.primal_solution_status == int(highspy.SolutionStatus.kSolutionStatusFeasible):
        status, is_optimal = f"feasible_{_LIMITS[model_status]}", False
    else:
        text = h.modelStatusToString(model_status)
        hint = ""
        if model_status in _LIMITS:
            hint = "; no feasible plan was found before the limit: raise time_limit_seconds or set relax_integrality"
        raise PlanSolveError(f"HiGHS stopped with status '{text}' (run status {run_status.name}){hint}")

    col_value = np.asarray(h.getSolution().col_value, dtype=float)
    objective = float(info.objective_function_value)
    if is_mip:
        mip_gap = float(info.mip_gap)
        dual_bound = float(info.mip_dual_bound)
        row_dual = None
        shadow = _mip_shadow_price(lp, col_value, options)
    else:
        mip_gap = 0.0 if is_optimal else float("nan")
        dual_bound = objective if is_optimal else float("nan")
        sol = h.getSolution()
        row_dual = np.asarray(sol.row_dual, dtype=float) if sol.dual_valid else None
        shadow = _budget_dual(h, lp)
    return SolveResult(
        status=status,
        is_optimal=is_optimal,
        objective=objective,
        col_value=col_value,
        row_dual=row_dual,
        mip_gap=mip_gap,
        dual_bound=dual_bound,
        budget_shadow_price=shadow,
        solver=str(solver),
        solve_seconds=time.perf_counter() - t0,
        options=options,
    )
