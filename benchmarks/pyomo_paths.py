"""Pyomo construction paths for the procurement LP against the same LP handed to highspy as arrays.

    .venv/bin/python benchmarks/pyomo_paths.py --size small  --out benchmarks/results/pyomo_paths_small.json
    .venv/bin/python benchmarks/pyomo_paths.py --size medium --out benchmarks/results/pyomo_paths_medium.json
    .venv/bin/python benchmarks/pyomo_paths.py --size medium --paths arrays_highspy kernel_matrix_readback

Issue 14 asks for the LP built through Pyomo within 1.5x of the build + solve time of the arrays path; this
measures which Pyomo path comes closest.  The instance is plan_benchmark.py's (`make_features`, the same
budget and parameters as its ``direct_highspy`` method, default ``expected_cost`` objective, LP relaxation):
features -> `build_plan_data` -> `build_sets` -> `matrix.build_matrix` -> `eliminate_links` ->
`split_dense_rows`, i.e. exactly the `MatrixLP` that ``direct_highspy`` passes to HiGHS (with
``--form raw``: the `build_matrix` output as is, links and s/w rows kept; HiGHS takes ~100 s on that at
medium).  Every path states that LP (same columns, bounds, rows, objective and offset; all columns
continuous, as in the relaxation) and solves it with HiGHS (defaults, no output):

- ``arrays_highspy``: the baseline: the `MatrixLP` to `Highs.passModel` (as plan_benchmark/solve.py do).
- ``kernel_matrix_readback``: `pyomo.core.kernel` block, a `variable_list`, one kernel `matrix_constraint`
  from the CSR arrays, the objective as a `LinearExpression`; HiGHS is then given the matrix, bounds and
  costs *read back from the kernel objects* (`matrix_constraint.A/lb/ub`, the variables' bounds) by
  passModel.  No Pyomo solver interface takes a kernel model to HiGHS in Pyomo 6.10: the
  ``pyomo.contrib.solver`` and appsi HiGHS interfaces raise ``AttributeError: property 'domain' of
  'variable' object has no getter``, `LinearStandardFormCompiler` raises ``'variable' object has no
  attribute 'parent_component'`` (the first is recorded by ``kernel_matrix_contrib_highs``).
- ``kernel_matrix_lpfile``: the same kernel model written by Pyomo's LP writer (`block.write`), read by
  `Highs.readModel`: the file route Pyomo supports for kernel models.
- ``kernel_matrix_contrib_highs``: the kernel model given to ``pyomo.contrib.solver`` HiGHS (records
  whether that works at all).
- ``concrete_linexpr_compiler``: a `ConcreteModel` (indexed `Var`, one `Constraint` indexed by row whose
  rule returns ``LinearExpression(linear_coefs=..., linear_vars=...)`` per CSR row), compiled by
  `LinearStandardFormCompiler` (mixed form) and passed to highspy.
- ``concrete_linexpr_persistent``: the same model through ``pyomo.contrib.solver.solvers.highs.Highs``
  (persistent; build = model + `set_instance`, solve = `solve`).
- ``concrete_linexpr_appsi``: the same model through ``pyomo.contrib.appsi.solvers.highs.Highs``.
- ``concrete_matrix_compiler`` / ``concrete_matrix_persistent``: a `ConcreteModel` whose rows are one
  `pyomo.core.base.matrix_constraint.MatrixConstraint` (CSR arrays, no expressions stored), then the
  compiler + highspy, or the persistent contrib HiGHS interface.  In Pyomo 6.10 both raise in the
  block walk (``Mapping.values() takes 1 positional argument but 2 were given``): recorded as errors.

Every Pyomo path runs twice (``--gc both``): as written, and with Python's cyclic garbage collector
paused around the Pyomo stages by Pyomo's own `pyomo.common.gc_manager.PauseGC` (which Pyomo's writers
use internally); creating ~10^6 Pyomo objects otherwise triggers repeated full collections.

Build seconds of a Pyomo path = the same numpy assembly as the baseline (``prep_seconds``: the Pyomo
paths read the CSR arrays it produces) + the Pyomo construction (``pyomo_seconds``) + the hand-over to
HiGHS (compiler / set_instance / LP file; ``handover_seconds``).  Solve seconds = `Highs.run` (or the
interface's `solve`).  Each path runs in its own subprocess (peak RSS = its ``ru_maxrss``); ratios are
to ``arrays_highspy`` of the same invocation.  The 2-core machine may be shared: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.plan_benchmark import SIZES, TIME_LIMIT, make_features  # noqa: E402

PATHS = [
    "arrays_highspy",
    "kernel_matrix_readback",
    "kernel_matrix_lpfile",
    "kernel_matrix_contrib_highs",
    "concrete_linexpr_compiler",
    "concrete_linexpr_persistent",
    "concrete_linexpr_appsi",
    "concrete_matrix_compiler",
    "concrete_matrix_persistent",
]
INF = float("inf")


def build_lp(size: str, form: str):
    """The instance of plan_benchmark's ``direct_highspy`` method (``raw``: before the reductions)."""
    from inventory_assets.optimization.data import build_plan_data
    from inventory_assets.optimization.diagnose import exempt_unreachable_critical
    from inventory_assets.optimization.matrix import build_matrix, eliminate_links, split_dense_rows, to_segment_form
    from inventory_assets.optimization.params import PlanParameters
    from inventory_assets.optimization.sets import build_sets

    frame, budget = make_features(size)
    params = PlanParameters(
        budget=budget,
        objective="expected_cost",
        relax_integrality=True,
        mip_max_rows=None,
        time_limit_seconds=TIME_LIMIT,
    )
    t0 = time.perf_counter()
    data = exempt_unreachable_critical(build_plan_data(frame, params))
    sets = build_sets(data)
    lp = build_matrix(data, sets)
    if form == "reduced":
        reduced = eliminate_links(lp) if sets.curves is not None else to_segment_form(lp, data, sets)
        lp = split_dense_rows(reduced)
    return lp, time.perf_counter() - t0, len(frame)


def _new_highs():
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", TIME_LIMIT)
    return h


def _pass_and_run(c, offset, col_lower, col_upper, A, row_lower, row_upper) -> tuple[dict, float]:
    """passModel (CSR, minimise, continuous) then run; returns the solve record and the pass time."""
    import scipy.sparse as sp

    t0 = time.perf_counter()
    A = sp.csr_array(A)
    n_cols = len(c)
    h = _new_highs()
    h.passModel(
        n_cols,
        len(row_lower),
        int(A.nnz),
        2,
        1,
        float(offset),
        np.ascontiguousarray(c, dtype=float),
        np.ascontiguousarray(col_lower, dtype=float),
        np.ascontiguousarray(col_upper, dtype=float),
        np.ascontiguousarray(row_lower, dtype=float),
        np.ascontiguousarray(row_upper, dtype=float),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        np.ascontiguousarray(A.data, dtype=float),
        np.zeros(n_cols, dtype=np.int32),
    )
    passed = time.perf_counter() - t0
    return _run(h), passed


def _run(h) -> dict:
    t0 = time.perf_counter()
    h.run()
    info = h.getInfo()
    return {
        "solve_seconds": time.perf_counter() - t0,
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": info.objective_function_value,
        "iterations": info.simplex_iteration_count,
        "solver_cols": h.getNumCol(),
        "solver_rows": h.getNumRow(),
        "solver_nnz": h.getNumNz(),
    }


def _bound(values: np.ndarray) -> list:
    """Array of bounds -> list with None for the infinite ones (Pyomo's 'no bound')."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


# ---- kernel ------------------------------------------------------------------------------------


def kernel_model(lp):
    import pyomo.kernel as pmo
    from pyomo.core.expr import LinearExpression

    m = pmo.block()
    lbs, ubs = _bound(lp.col_lower), _bound(lp.col_upper)
    m.x = pmo.variable_list(pmo.variable(lb=lo, ub=up) for lo, up in zip(lbs, ubs, strict=True))
    A = lp.A.tocsr()
    m.rows = pmo.matrix_constraint(A, lb=lp.row_lower, ub=lp.row_upper, x=m.x)
    nz = np.flatnonzero(lp.c)
    xs = m.x
    expr = LinearExpression(constant=float(lp.offset), linear_coefs=lp.c[nz].tolist(), linear_vars=[xs[j] for j in nz])
    m.obj = pmo.objective(expr, sense=pmo.minimize)
    return m


def kernel_readback(m) -> dict:
    """The LP arrays read back from the kernel objects (what a HiGHS hand-over of the kernel model reads)."""
    from pyomo.core.expr import LinearExpression

    x = m.x
    col_lower = np.array([-INF if v.lb is None else v.lb for v in x], dtype=float)
    col_upper = np.array([INF if v.ub is None else v.ub for v in x], dtype=float)
    index = {id(v): j for j, v in enumerate(x)}
    expr = m.obj.expr
    assert isinstance(expr, LinearExpression)
    c = np.zeros(len(x))
    cols = np.fromiter((index[id(v)] for v in expr.linear_vars), dtype=np.int64, count=len(expr.linear_vars))
    np.add.at(c, cols, np.asarray(expr.linear_coefs, dtype=float))
    rows = m.rows
    lb = np.array(rows.lb, dtype=float)  # float arrays, +-inf where unbounded
    ub = np.array(rows.ub, dtype=float)
    return {
        "c": c,
        "offset": float(expr.constant),
        "col_lower": col_lower,
        "col_upper": col_upper,
        "A": rows.A,
        "row_lower": lb,
        "row_upper": ub,
    }


# ---- ConcreteModel -----------------------------------------------------------------------------


def concrete_vars(lp):
    import pyomo.environ as pe

    m = pe.ConcreteModel()
    lbs, ubs = _bound(lp.col_lower), _bound(lp.col_upper)
    m.x = pe.Var(range(lp.n_cols), dense=True)
    for v, lo, up in zip(m.x.values(), lbs, ubs, strict=True):  # measured faster than a bounds rule
        v.lb = lo
        v.ub = up
    return m


def concrete_objective(m, lp) -> None:
    import pyomo.environ as pe
    from pyomo.core.expr import LinearExpression

    nz = np.flatnonzero(lp.c)
    x = m.x
    expr = LinearExpression(constant=float(lp.offset), linear_coefs=lp.c[nz].tolist(), linear_vars=[x[j] for j in nz])
    m.obj = pe.Objective(expr=expr, sense=pe.minimize)


def concrete_linexpr_model(lp):
    import pyomo.environ as pe
    from pyomo.core.expr import LinearExpression

    m = concrete_vars(lp)
    A = lp.A.tocsr()
    ptr, idx, val = A.indptr.tolist(), A.indices.tolist(), A.data.tolist()
    lo, up = _bound(lp.row_lower), _bound(lp.row_upper)
    xl = [m.x[j] for j in range(lp.n_cols)]

    def row(_m, r):
        s, e = ptr[r], ptr[r + 1]
        body = LinearExpression(linear_coefs=val[s:e], linear_vars=[xl[j] for j in idx[s:e]])
        if lo[r] is not None and lo[r] == up[r]:
            return body == lo[r]
        return (lo[r], body, up[r])

    m.rows = pe.Constraint(range(lp.n_rows), rule=row)
    concrete_objective(m, lp)
    return m


def concrete_matrix_model(lp):
    from pyomo.core.base.matrix_constraint import MatrixConstraint

    m = concrete_vars(lp)
    A = lp.A.tocsr()
    xl = [m.x[j] for j in range(lp.n_cols)]
    m.rows = MatrixConstraint(
        A.data.tolist(),
        A.indices.tolist(),
        A.indptr.tolist(),
        _bound(lp.row_lower),
        _bound(lp.row_upper),
        xl,
    )
    concrete_objective(m, lp)
    return m


def compile_standard_form(m) -> dict:
    """`LinearStandardFormCompiler` (mixed form) -> the arrays passModel takes."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    col_lower = np.array([-INF if v.lb is None else v.lb for v in info.columns], dtype=float)
    col_upper = np.array([INF if v.ub is None else v.ub for v in info.columns], dtype=float)
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.fromiter((s for _con, s in info.rows), dtype=np.int64, count=len(info.rows))
    row_lower = np.where(sense == 1, -INF, rhs)  # 0: ==, 1: <=, -1: >=
    row_upper = np.where(sense == -1, INF, rhs)
    return {
        "c": np.asarray(info.c.todense()).ravel(),
        "offset": float(info.c_offset[0]),
        "col_lower": col_lower,
        "col_upper": col_upper,
        "A": info.A,
        "row_lower": row_lower,
        "row_upper": row_upper,
    }


def _pyomo_solver_record(solver, res, m, t_solve: float) -> dict:
    out: dict = {
        "solve_seconds": t_solve,
        "status": str(getattr(res, "termination_condition", "")),
        "objective": getattr(res, "incumbent_objective", None),
    }
    if out["objective"] is None and hasattr(res, "best_feasible_objective"):  # appsi
        out["objective"] = res.best_feasible_objective
    h = getattr(solver, "_solver_model", None)
    if h is not None:
        out.update(solver_cols=h.getNumCol(), solver_rows=h.getNumRow(), solver_nnz=h.getNumNz())
        out["iterations"] = h.getInfo().simplex_iteration_count
    return out


def persistent_contrib(m) -> tuple[dict, float]:
    from pyomo.contrib.solver.solvers.highs import Highs

    solver = Highs()
    solver.config.time_limit = TIME_LIMIT
    t0 = time.perf_counter()
    solver.set_instance(m)
    handover = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solver.solve(m, load_solutions=False)
    return _pyomo_solver_record(solver, res, m, time.perf_counter() - t0), handover


def persistent_appsi(m) -> tuple[dict, float]:
    from pyomo.contrib.appsi.solvers.highs import Highs

    solver = Highs()
    solver.config.time_limit = TIME_LIMIT
    solver.config.load_solution = False
    t0 = time.perf_counter()
    solver.set_instance(m)
    handover = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solver.solve(m)
    return _pyomo_solver_record(solver, res, m, time.perf_counter() - t0), handover


# ---- one path ----------------------------------------------------------------------------------


def _preimport() -> None:
    """Import HiGHS and the Pyomo modules before any clock starts (a first import is not construction)."""
    import highspy  # noqa: F401
    import pyomo.contrib.appsi.solvers.highs
    import pyomo.contrib.solver.solvers.highs
    import pyomo.core.base.matrix_constraint
    import pyomo.environ
    import pyomo.kernel
    import pyomo.repn.plugins.standard_form  # noqa: F401


def run_case(size: str, path: str, form: str, gc_mode: str) -> dict:
    _preimport()
    lp, prep, n_rows_features = build_lp(size, form)
    out: dict = {
        "size": size,
        "path": path,
        "form": form,
        "gc": gc_mode,
        "features_rows": n_rows_features,
        "n_cols": lp.n_cols,
        "n_rows": lp.n_rows,
        "nnz": lp.nnz,
        "prep_seconds": prep,
        "pyomo_seconds": 0.0,
        "handover_seconds": 0.0,
    }
    arrays = {
        "c": lp.c,
        "offset": lp.offset,
        "col_lower": lp.col_lower,
        "col_upper": lp.col_upper,
        "A": lp.A,
        "row_lower": lp.row_lower,
        "row_upper": lp.row_upper,
    }
    if path == "arrays_highspy":
        rec, out["handover_seconds"] = _pass_and_run(**arrays)
    elif gc_mode == "paused":
        from pyomo.common.gc_manager import PauseGC

        with PauseGC():  # Pyomo's own switch (its writers use it): no cyclic GC while building / handing over
            rec = _run_pyomo_path(lp, path, out)
    else:
        rec = _run_pyomo_path(lp, path, out)
    out.update(rec)
    out["build_seconds"] = out["prep_seconds"] + out["pyomo_seconds"] + out["handover_seconds"]
    out["total_seconds"] = out["build_seconds"] + out["solve_seconds"]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
    return out


def _run_pyomo_path(lp, path: str, out: dict) -> dict:
    """Build the Pyomo model of ``lp`` the way ``path`` says, hand it to HiGHS, solve; times go into ``out``.

    Under ``gc=paused`` the HiGHS run happens inside the pause too (it allocates no Python objects).
    """
    t0 = time.perf_counter()
    if path.startswith("kernel_matrix"):
        m = kernel_model(lp)
        out["pyomo_seconds"] = time.perf_counter() - t0
        if path == "kernel_matrix_readback":
            t1 = time.perf_counter()
            back = kernel_readback(m)
            out["readback_seconds"] = time.perf_counter() - t1
            rec, passed = _pass_and_run(**back)
            passed += out["readback_seconds"]
        elif path == "kernel_matrix_lpfile":
            with tempfile.TemporaryDirectory() as tmp:
                t1 = time.perf_counter()
                fname = os.path.join(tmp, "model.lp")
                m.write(fname, format="lp")
                out["lp_write_seconds"] = time.perf_counter() - t1
                out["lp_file_mb"] = os.path.getsize(fname) / 1e6
                h = _new_highs()
                h.readModel(fname)
                passed = time.perf_counter() - t1
            rec = _run(h)
        else:
            rec, passed = persistent_contrib(m)
    elif path.startswith("concrete_"):
        m = concrete_linexpr_model(lp) if "linexpr" in path else concrete_matrix_model(lp)
        out["pyomo_seconds"] = time.perf_counter() - t0
        if path.endswith("_compiler"):
            t1 = time.perf_counter()
            compiled = compile_standard_form(m)
            out["compile_seconds"] = time.perf_counter() - t1
            rec, passed = _pass_and_run(**compiled)
            passed += out["compile_seconds"]
        elif path.endswith("_persistent"):
            rec, passed = persistent_contrib(m)
        else:
            rec, passed = persistent_appsi(m)
    else:
        raise ValueError(path)
    out["handover_seconds"] = passed
    return rec


def _summarise(results: list[dict]) -> None:
    base = next((r for r in results if r.get("path") == "arrays_highspy" and "error" not in r), None)
    for r in results:
        if base is None or "error" in r:
            continue
        r["ratio_total"] = r["total_seconds"] / base["total_seconds"]
        r["ratio_build"] = r["build_seconds"] / base["build_seconds"]
        if r.get("objective") is not None and base.get("objective") is not None:
            r["objective_rel_diff"] = abs(r["objective"] - base["objective"]) / max(1.0, abs(base["objective"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small", choices=list(SIZES))
    parser.add_argument("--paths", nargs="+", default=PATHS, choices=PATHS)
    parser.add_argument("--form", default="reduced", choices=["reduced", "raw"])
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/pyomo_paths_<size>.json)")
    parser.add_argument(
        "--gc",
        default="both",
        choices=["on", "paused", "both"],
        help="Pyomo stages with Python's cyclic GC on, paused (pyomo.common.gc_manager.PauseGC), or both",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per path")
    parser.add_argument("--case", nargs=4, metavar=("SIZE", "PATH", "FORM", "GC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case)))
        return
    results: list[dict] = []
    modes = ["on", "paused"] if args.gc == "both" else [args.gc]
    cases = [("arrays_highspy", "on")]
    cases += [(p, mode) for mode in modes for p in args.paths if p != "arrays_highspy"]
    failed: set[str] = set()
    for path, mode in cases:
        if path in failed:  # a path that raised with GC on raises with it paused as well
            continue
        cmd = [sys.executable, __file__, "--case", args.size, path, args.form, mode]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            row: dict = {"size": args.size, "path": path, "gc": mode, "error": f"timeout after {args.timeout:.0f} s"}
        else:
            if proc.returncode != 0:
                failed.add(path)
                row = {"size": args.size, "path": path, "gc": mode, "error": proc.stderr.strip().splitlines()[-1:]}
            else:
                row = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(row)
        _summarise(results)
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    import highspy
    import pyomo.version

    versions = {"pyomo": pyomo.version.version, "highspy": getattr(highspy, "__version__", None)}
    out_path = Path(args.out or ROOT / "benchmarks" / "results" / f"pyomo_paths_{args.size}.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = [r for r in results if r.get("path") != "arrays_highspy" and "error" not in r]
    fastest = min(done, key=lambda r: r["total_seconds"], default=None)
    payload = {
        "machine": machine,
        "versions": versions,
        "command": " ".join(sys.argv),
        "fastest_pyomo": None if fastest is None else {k: fastest.get(k) for k in ("path", "gc", "ratio_total")},
        "results": results,
    }
    out_path.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
