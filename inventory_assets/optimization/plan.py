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
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from pyomo.common.gc_manager import PauseGC

from inventory_assets.optimization.data import QTY_TOL, PlanData, build_plan_data
from inventory_assets.optimization.diagnose import check_critical_feasibility, exempt_unreachable_critical
from inventory_assets.optimization.errors import PlanRoundingError, PlanSolveError
from inventory_assets.optimization.evaluate import evaluate_plan, hard_violations
from inventory_assets.optimization.expected_cost import CostCurves
from inventory_assets.optimization.extract import PlanSummary, extract_plan, summarize
from inventory_assets.optimization.matrix import (
    MatrixLP,
    build_matrix,
    compile_pyomo,
    eliminate_links,
    split_dense_rows,
    to_segment_form,
)
from inventory_assets.optimization.model import build_model
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.rounding import round_relaxed
from inventory_assets.optimization.sets import build_sets
from inventory_assets.optimization.solve import SolveResult, solve

Engine = Literal["auto", "pyomo", "matrix"]

KEY = ["product_id", "location_id"]

PYOMO_MAX_ROWS = 50_000
"""``engine="auto"`` builds the Pyomo model up to this many rows, the numpy matrices above it
(Pyomo's build and compile time per constraint dominates at scale; docs/benchmarks.md)."""

SEGMENT_MIN_COLUMNS = 20_000
"""LP relaxations with at least this many columns are solved in segment form
(`matrix.to_segment_form`, same optimum, far fewer rows) with dense rows split
(`matrix.split_dense_rows`); docs/benchmarks.md."""


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The plan frame and its run summary."""

    plan: pd.DataFrame
    summary: PlanSummary


def build_lp(
    data: PlanData,
    engine: Engine = "auto",
    segment_min_columns: int | None = None,
    curves: CostCurves | None = None,
) -> MatrixLP:
    """Build the model arrays with the chosen engine (``auto``: Pyomo up to `PYOMO_MAX_ROWS`).

    An LP relaxation with at least `SEGMENT_MIN_COLUMNS` columns is rewritten in segment form.
    ``curves``: the expected-cost chords of the same data, when an LP of it was built already (they do
    not depend on ``relax``).
    """
    sets = build_sets(data, curves)
    if engine == "auto":
        engine = "pyomo" if data.n <= PYOMO_MAX_ROWS else "matrix"
    t0 = time.perf_counter()
    if engine == "pyomo":
        # The collector paused while Pyomo creates its objects (a million at medium): its repeated full
        # collections took a quarter to a third of the build (docs/benchmarks.md).
        with PauseGC():
            lp = compile_pyomo(build_model(data, sets), data)
    elif engine == "matrix":
        lp = build_matrix(data, sets)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    threshold = SEGMENT_MIN_COLUMNS if segment_min_columns is None else segment_min_columns
    if data.relax and lp.n_cols >= threshold:
        reduced = eliminate_links(lp) if sets.curves is not None else to_segment_form(lp, data, sets)
        lp = split_dense_rows(reduced)
    lp.build_seconds = time.perf_counter() - t0
    lp.extra["curves"] = sets.curves
    return lp


def model_objective(data: PlanData, lp: MatrixLP, x: np.ndarray) -> float:
    """The objective of plan ``x`` as the model prices it: exact for ``target_gap``; for ``expected_cost``
    the holding term plus the chords (at or above the exact expected cost), so that it compares with the
    solver's bound."""
    curves = lp.extra.get("curves")
    if curves is None:
        return evaluate_plan(data, x).objective
    return float(np.dot(data.hold, data.position(x)) + curves.value(x))


def curve_error(lp: MatrixLP) -> float:
    """The chord error of the expected-cost curves the LP was built with (0 for target_gap)."""
    curves = lp.extra.get("curves")
    return 0.0 if curves is None else curves.max_error


def mip_start(lp: MatrixLP, data: PlanData, x: np.ndarray) -> tuple[np.ndarray, float]:
    """The MIP column vector (x, s, w, k, y, z) of a feasible inbound plan ``x``, and its objective."""
    ev = evaluate_plan(data, x)
    owner = np.maximum(lp.col_owner, 0)
    curves = lp.extra.get("curves")
    segments = np.zeros(lp.n_cols)
    if curves is not None and curves.n_segments:
        seg = lp.extra["col_segment"]
        segments = np.where(seg >= 0, curves.fill(x)[np.maximum(seg, 0)], 0.0)
    values = {
        0: x[owner],
        1: ev.shortfall_units[owner],
        2: ev.waste_units[owner],
        3: np.round(x[owner] / data.order_multiple[owner]),
        4: (x[owner] > QTY_TOL).astype(float),
        7: segments,
    }
    return np.select([lp.col_family == f for f in values], list(values.values()), default=0.0), ev.objective


def rounded_lp_start(data: PlanData, params: PlanParameters, lp: MatrixLP) -> tuple[np.ndarray, float] | None:
    """Solve the LP relaxation (matrix engine), round it, and return it as a MIP start.

    Returns ``(start vector, its objective)``, or None when the rounding breaks a hard rule.
    The MIP then never ends worse than the relaxed-and-rounded plan.
    """
    relaxed = replace(data, relax=True)
    relaxed_lp = build_lp(relaxed, "matrix", curves=lp.extra.get("curves"))
    try:
        x = round_relaxed(relaxed, relaxed_lp.inbound(solve(relaxed_lp, params, relaxed).col_value))
    except (PlanRoundingError, PlanSolveError):
        return None
    return mip_start(lp, data, x)


def _plan_start(data: PlanData, lp: MatrixLP, plan: pd.DataFrame) -> tuple[np.ndarray, float] | None:
    """An earlier plan's quantities as a MIP start, if it has these rows and meets every hard rule."""
    key = pd.MultiIndex.from_arrays([data.product_id.astype(str), data.location_id.astype(str)])
    given = pd.Series(plan["order_qty"].to_numpy(dtype=float), index=pd.MultiIndex.from_frame(plan[KEY].astype(str)))
    x = given.reindex(key).to_numpy(dtype=float)
    if np.isnan(x).any() or (x > data.upper + QTY_TOL).any():
        return None
    if any(len(v) for v in hard_violations(data, x).values()):
        return None
    return mip_start(lp, data, x)


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
    warm_start: bool = True,
    start_plan: pd.DataFrame | None = None,
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
        warm_start: for the MIP, first solve and round the LP relaxation and give HiGHS that
            plan as its first incumbent (the MIP then never ends worse than it).
        start_plan: an earlier plan frame of the same features (e.g. at a smaller budget); when
            its quantities meet every hard rule here and cost less than the rounded LP, it is the
            MIP's first incumbent instead (`budget_frontier` chains its points this way).

    Raises:
        PlanDataError: the features cannot be modelled.
        PlanInfeasibleError: no plan meets the hard constraints (message says why).
        PlanSolveError: HiGHS failed without a usable solution.
        PlanRoundingError: relaxed run whose rounding could not keep the hard constraints.
    """
    params = PlanParameters() if params is None else params
    t0 = time.perf_counter()
    data = exempt_unreachable_critical(build_plan_data(features, params))
    if precheck:
        check_critical_feasibility(data)
    lp = build_lp(data, engine, segment_min_columns)
    build_seconds = time.perf_counter() - t0

    t_solve = time.perf_counter()
    start, start_objective = None, float("nan")
    if not data.relax and warm_start:
        warm = rounded_lp_start(data, params, lp)
        if warm is not None:
            start, start_objective = warm
    if not data.relax and start_plan is not None:
        given = _plan_start(data, lp, start_plan)
        if given is not None and (start is None or given[1] < start_objective):
            start, start_objective = given
    result: SolveResult = solve(lp, params, data, start=start)
    solve_seconds = time.perf_counter() - t_solve

    t1 = time.perf_counter()
    relaxed = data.relax
    rounding_gap = 0.0
    if relaxed:
        try:
            x = round_relaxed(data, lp.inbound(result.col_value))
            priced = model_objective(data, lp, x)
            rounding_gap = (priced - result.objective) / max(abs(priced), 1e-9)
            rounded: np.ndarray | None = x
        except PlanRoundingError:  # the rounding could not keep a hard rule
            rounded = None
        if rounded is None or rounding_gap > params.relaxed_gap_limit:
            # the exact MIP decides instead, started from the rounded plan (HiGHS, within the time limit)
            relaxed, rounding_gap = False, 0.0
            exact = replace(data, relax=False)
            lp = build_lp(exact, "matrix", curves=lp.extra.get("curves"))
            start, start_objective = (None, float("nan")) if rounded is None else mip_start(lp, exact, rounded)
            result = solve(lp, params, exact, start=start)
            solve_seconds = time.perf_counter() - t_solve
            t1 = time.perf_counter()
    if not relaxed:
        x = snap_to_packs(data, lp.inbound(result.col_value))
    ev = evaluate_plan(data, x)
    if not relaxed:
        bad = {k: v for k, v in hard_violations(data, x, ev).items() if len(v)}
        if bad:
            raise PlanSolveError(f"HiGHS's solution breaks hard constraints after snapping to packs: {sorted(bad)}")
    plan = extract_plan(data, ev)
    summary = summarize(
        data,
        ev,
        plan,
        status=result.status,
        is_optimal=result.is_optimal,
        engine=lp.source,
        solver=result.solver,
        relaxed=relaxed,
        solver_objective=result.objective,
        rounding_gap=float(rounding_gap),
        mip_gap=float(result.mip_gap),
        budget_shadow_price=float(result.budget_shadow_price),
        mip_start_objective=float(start_objective),
        pwl_max_error=float(curve_error(lp)),
        n_variables=lp.n_cols,
        n_constraints=lp.n_rows,
        n_integer=lp.n_integer,
        n_nonzeros=lp.nnz,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        extract_seconds=time.perf_counter() - t1,
    )
    return PlanResult(plan=plan, summary=summary)
