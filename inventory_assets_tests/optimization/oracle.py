"""An independent statement of the model (docs/model.md), written row by row in plain Python
and solved with `scipy.optimize.milp`.

It shares no code with `inventory_assets.optimization` beyond reading the same features
columns: no index-set reductions, every row gets every constraint of its kind, dense
matrices built by hand.  Small instances only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

TIE = 1e-3  # docs/model.md: shortfall weight 1 + 0.001 x echelon


def _ceil_pack(q: float, m: float, qmin: float) -> float:
    if q <= 1e-6:
        return 0.0
    return max(math.ceil(q / m - 1e-9) * m, qmin)


def _floor_pack(q: float, m: float, qmin: float) -> float:
    v = math.floor(q / m + 1e-9) * m
    return 0.0 if v < qmin * (1 - 1e-9) else v


@dataclass
class _Instance:
    """The features rows as plain per-row lists (index = row), with the tree and capacities."""

    rows: list[dict]
    parent: list[int | None]
    children: list[list[int]]
    level: list[int]
    b: list[float]
    """Position today: on hand + on order."""
    oh: list[float]
    tgt: list[float]
    ss: list[float]
    crit: list[bool]
    cost: list[float]
    hold: list[float]
    so: list[float]
    wc: list[float]
    per: list[bool]
    sell: list[float]
    mult: list[float]
    qmin: list[float]
    root: list[bool]
    cap: dict[str, float]
    base_at: dict[str, float]
    over: set[str]
    """Locations already over capacity: they receive nothing."""
    blocked: list[bool]

    @property
    def n(self) -> int:
        return len(self.rows)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _num(r: dict, col: str, default: float = 0.0) -> float:
    v = r[col]
    return default if _missing(v) else float(v)


def _tree(rows: list[dict]) -> tuple[list[int | None], list[bool], list[list[int]], list[int]]:
    """Per row: parent row (None for a root or an orphan), orphan flag, children rows, echelon."""
    n = len(rows)
    key = {(r["product_id"], r["location_id"]): i for i, r in enumerate(rows)}
    loc_parent = {r["location_id"]: r["parent_location_id"] for r in rows}

    def level_of(loc):
        lev, cur = 0, loc_parent.get(loc)
        while not _missing(cur):
            lev, cur = lev + 1, loc_parent.get(cur)
        return lev

    parent: list[int | None] = [None] * n
    orphan = [False] * n
    for i, r in enumerate(rows):
        pl = r["parent_location_id"]
        if not _missing(pl):
            parent[i] = key.get((r["product_id"], pl))
            orphan[i] = parent[i] is None
    children = [[c for c in range(n) if parent[c] == i] for i in range(n)]
    level = [level_of(r["location_id"]) for r in rows]
    return parent, orphan, children, level


def _read(features: pd.DataFrame, critical, exempt: frozenset = frozenset()) -> _Instance:
    """Every model parameter of every row, read column by column (docs/model.md)."""
    rows = features.reset_index(drop=True).to_dict("records")
    n = len(rows)
    parent, orphan, children, level = _tree(rows)
    b = [_num(r, "on_hand") + _num(r, "on_order") for r in rows]
    per = [not (r["shelf_life_days"] is None or math.isnan(float(r["shelf_life_days"]))) for r in rows]
    mult = [_num(r, "order_multiple", 1.0) for r in rows]
    moq = [_num(r, "min_order_qty") for r in rows]

    # capacity per location; locations already over capacity receive nothing
    cap: dict[str, float] = {}
    for r in rows:
        c = r["capacity_units"]
        if c is not None and not math.isnan(float(c)):
            cap[r["location_id"]] = float(c)
    base_at = {loc: sum(b[i] for i, r in enumerate(rows) if r["location_id"] == loc) for loc in cap}
    over = {loc for loc in cap if base_at[loc] > cap[loc]}
    return _Instance(
        rows=rows,
        parent=parent,
        children=children,
        level=level,
        b=b,
        oh=[_num(r, "on_hand") for r in rows],
        tgt=[_num(r, "order_up_to") for r in rows],
        ss=[_num(r, "safety_stock") for r in rows],
        crit=[r["abc_class"] in critical and (r["product_id"], r["location_id"]) not in exempt for r in rows],
        cost=[_num(r, "unit_cost") for r in rows],
        hold=[_num(r, "unit_cost") * _num(r, "holding_cost_rate") / 365 * _num(r, "review_days") for r in rows],
        so=[_num(r, "stockout_cost") * (1 + TIE * level[i]) for i, r in enumerate(rows)],
        wc=[_num(r, "waste_cost") for r in rows],
        per=per,
        sell=[
            _num(r, "forecast_demand_mean") * _num(r, "shelf_life_days") if per[i] else math.inf
            for i, r in enumerate(rows)
        ],
        mult=mult,
        qmin=[max(1.0, math.ceil(moq[i] / mult[i] - 1e-9)) * mult[i] for i in range(n)],
        root=[parent[i] is None and not orphan[i] for i in range(n)],
        cap=cap,
        base_at=base_at,
        over=over,
        blocked=[orphan[i] or rows[i]["location_id"] in over for i in range(n)],
    )


def _inbound_caps(inst: _Instance, budget: float) -> list[float]:
    """The inbound cap U of each row (docs/model.md), deepest echelon first."""
    n = inst.n
    U = [0.0] * n
    for lev in sorted(set(inst.level), reverse=True):
        for i in (i for i in range(n) if inst.level[i] == lev):
            D = min(inst.oh[i], sum(U[c] for c in inst.children[i]))
            need = max(max(inst.tgt[i], inst.ss[i] if inst.crit[i] else 0.0) + D - inst.b[i], 0.0)
            u = _ceil_pack(need, inst.mult[i], inst.qmin[i])
            if inst.root[i]:
                u = min(u, _floor_pack(budget / inst.cost[i], inst.mult[i], inst.qmin[i]))
            p = inst.parent[i]
            if p is not None:
                u = min(u, _floor_pack(inst.oh[p], inst.mult[i], inst.qmin[i]))
            U[i] = 0.0 if inst.blocked[i] else u
    return U


class _Columns:
    """Variables x, s, w, k, y (n of each, in that order)."""

    def __init__(self, n: int) -> None:
        self.X, self.S, self.W, self.K, self.Y = (np.arange(n) + j * n for j in range(5))
        self.nv = 5 * n


def _objective_and_bounds(
    inst: _Instance, cols: _Columns, U: list[float], integer: bool
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Cost vector, constant (holding of today's position), lower and upper bounds."""
    X, S, W, K, Y = cols.X, cols.S, cols.W, cols.K, cols.Y
    c = np.zeros(cols.nv)
    const = 0.0
    for i in range(inst.n):
        const += inst.hold[i] * inst.b[i]
        c[X[i]] += inst.hold[i]
        p = inst.parent[i]
        if p is not None:
            c[X[i]] -= inst.hold[p]
        c[S[i]] = inst.so[i]
        c[W[i]] = inst.wc[i] if inst.per[i] else 0.0
    lo = np.zeros(cols.nv)
    hi = np.full(cols.nv, np.inf)
    for i in range(inst.n):
        hi[X[i]] = U[i]
        hi[W[i]] = np.inf if inst.per[i] else 0.0
        hi[K[i]] = round(U[i] / inst.mult[i]) if integer else 0.0
        hi[Y[i]] = 1.0 if integer else 0.0
    return c, const, lo, hi


class _Rows:
    """Dense constraint rows ``lb <= a x <= ub``, appended one by one."""

    def __init__(self, nv: int) -> None:
        self.nv = nv
        self.A: list[np.ndarray] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, coefs: dict[int, float], low: float, up: float) -> None:
        a = np.zeros(self.nv)
        for j, v in coefs.items():
            a[j] += v
        self.A.append(a)
        self.lb.append(low)
        self.ub.append(up)


def _constraints(inst: _Instance, cols: _Columns, U: list[float], budget: float, integer: bool) -> _Rows:
    """Every row gets every constraint of its kind; then capacity per location and the budget."""
    X, S, W, K, Y = cols.X, cols.S, cols.W, cols.K, cols.Y
    rows = _Rows(cols.nv)

    def position(i: int, sign: float = 1.0) -> dict[int, float]:
        d = {X[i]: sign}
        for ch in inst.children[i]:
            d[X[ch]] = d.get(X[ch], 0.0) - sign
        return d

    b = inst.b
    for i in range(inst.n):
        rows.add({S[i]: 1.0, **position(i)}, inst.tgt[i] - b[i], np.inf)  # shortfall
        if inst.per[i]:
            rows.add({W[i]: 1.0, **position(i, -1.0)}, b[i] - inst.sell[i], np.inf)  # waste
        if inst.crit[i]:
            rows.add(position(i), inst.ss[i] - b[i], np.inf)  # critical minimum
        if inst.children[i]:
            rows.add({X[ch]: 1.0 for ch in inst.children[i]}, -np.inf, inst.oh[i])  # transfer limit
        if integer:
            rows.add({X[i]: 1.0, K[i]: -inst.mult[i]}, 0.0, 0.0)
            rows.add({X[i]: 1.0, Y[i]: -inst.qmin[i]}, 0.0, np.inf)
            rows.add({X[i]: 1.0, Y[i]: -U[i]}, -np.inf, 0.0)
    for loc, capacity in inst.cap.items():
        if loc in inst.over:
            continue
        coefs: dict[int, float] = {}
        for i, r in enumerate(inst.rows):
            if r["location_id"] == loc:
                for j, v in position(i).items():
                    coefs[j] = coefs.get(j, 0.0) + v
        rows.add(coefs, -np.inf, capacity - inst.base_at[loc])
    rows.add({X[i]: inst.cost[i] for i in range(inst.n) if inst.root[i]}, -np.inf, budget)
    return rows


def oracle_objective(
    features: pd.DataFrame, budget: float, critical=("A",), integer: bool = True, exempt: frozenset = frozenset()
) -> float:
    """Optimal objective of the ``target_gap`` model on ``features`` (raises if not optimal).

    ``exempt``: (product_id, location_id) keys of critical rows the plan reported as unreachable."""
    inst = _read(features, critical, exempt)
    U = _inbound_caps(inst, budget)
    cols = _Columns(inst.n)
    c, const, lo, hi = _objective_and_bounds(inst, cols, U, integer)
    rows = _constraints(inst, cols, U, budget, integer)

    integrality = np.zeros(cols.nv)
    if integer:
        integrality[cols.K] = 1
        integrality[cols.Y] = 1
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows.A), rows.lb, rows.ub),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if res.status != 0:
        raise RuntimeError(f"oracle: {res.message}")
    return float(res.fun + const)
