"""An independent statement of the model (docs/model.md), written row by row in plain Python
and solved with `scipy.optimize.milp`.

It shares no code with `inventory_assets.optimization` beyond reading the same features
columns: no index-set reductions, every row gets every constraint of its kind, dense
matrices built by hand.  Small instances only.
"""

from __future__ import annotations

import math

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


def oracle_objective(features: pd.DataFrame, budget: float, critical=("A",), integer: bool = True) -> float:
    """Optimal objective of the model on ``features`` (raises if not optimal)."""
    rows = features.reset_index(drop=True).to_dict("records")
    n = len(rows)
    key = {(r["product_id"], r["location_id"]): i for i, r in enumerate(rows)}
    loc_parent = {r["location_id"]: r["parent_location_id"] for r in rows}

    def level_of(loc):
        lev, cur = 0, loc_parent.get(loc)
        while cur is not None and not (isinstance(cur, float) and math.isnan(cur)):
            lev, cur = lev + 1, loc_parent.get(cur)
        return lev

    parent = [None] * n
    orphan = [False] * n
    for i, r in enumerate(rows):
        pl = r["parent_location_id"]
        if pl is not None and not (isinstance(pl, float) and math.isnan(pl)):
            parent[i] = key.get((r["product_id"], pl))
            orphan[i] = parent[i] is None
    children = [[c for c in range(n) if parent[c] == i] for i in range(n)]
    level = [level_of(r["location_id"]) for r in rows]

    def num(r, col, default=0.0):
        v = r[col]
        return default if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    b = [num(r, "on_hand") + num(r, "on_order") for r in rows]
    oh = [num(r, "on_hand") for r in rows]
    tgt = [num(r, "order_up_to") for r in rows]
    ss = [num(r, "safety_stock") for r in rows]
    crit = [r["abc_class"] in critical for r in rows]
    cost = [num(r, "unit_cost") for r in rows]
    hold = [num(r, "unit_cost") * num(r, "holding_cost_rate") / 365 * num(r, "review_days") for r in rows]
    so = [num(r, "stockout_cost") * (1 + TIE * level[i]) for i, r in enumerate(rows)]
    wc = [num(r, "waste_cost") for r in rows]
    per = [not (r["shelf_life_days"] is None or math.isnan(float(r["shelf_life_days"]))) for r in rows]
    sell = [
        num(r, "echelon_demand_mean") * num(r, "shelf_life_days") if per[i] else math.inf for i, r in enumerate(rows)
    ]
    mult = [num(r, "order_multiple", 1.0) for r in rows]
    moq = [num(r, "min_order_qty") for r in rows]
    qmin = [max(1.0, math.ceil(moq[i] / mult[i] - 1e-9)) * mult[i] for i in range(n)]
    root = [parent[i] is None and not orphan[i] for i in range(n)]

    # capacity per location; locations already over capacity receive nothing
    cap: dict[str, float] = {}
    for r in rows:
        c = r["capacity_units"]
        if c is not None and not math.isnan(float(c)):
            cap[r["location_id"]] = float(c)
    base_at = {loc: sum(b[i] for i, r in enumerate(rows) if r["location_id"] == loc) for loc in cap}
    over = {loc for loc in cap if base_at[loc] > cap[loc]}
    blocked = [orphan[i] or rows[i]["location_id"] in over for i in range(n)]

    # inbound cap U (docs/model.md), deepest echelon first
    U = [0.0] * n
    for lev in sorted(set(level), reverse=True):
        for i in (i for i in range(n) if level[i] == lev):
            D = min(oh[i], sum(U[c] for c in children[i]))
            need = max(max(tgt[i], ss[i] if crit[i] else 0.0) + D - b[i], 0.0)
            u = _ceil_pack(need, mult[i], qmin[i])
            if root[i]:
                u = min(u, _floor_pack(budget / cost[i], mult[i], qmin[i]))
            if parent[i] is not None:
                u = min(u, _floor_pack(oh[parent[i]], mult[i], qmin[i]))
            U[i] = 0.0 if blocked[i] else u

    # variables: x (n), s (n), w (n), k (n), y (n)
    X, S, W, K, Y = (np.arange(n) + j * n for j in range(5))
    nv = 5 * n
    c = np.zeros(nv)
    const = 0.0
    for i in range(n):
        const += hold[i] * b[i]
        c[X[i]] += hold[i]
        if parent[i] is not None:
            c[X[i]] -= hold[parent[i]]
        c[S[i]] = so[i]
        c[W[i]] = wc[i] if per[i] else 0.0
    lo = np.zeros(nv)
    hi = np.full(nv, np.inf)
    for i in range(n):
        hi[X[i]] = U[i]
        hi[W[i]] = np.inf if per[i] else 0.0
        hi[K[i]] = round(U[i] / mult[i]) if integer else 0.0
        hi[Y[i]] = 1.0 if integer else 0.0
    A, lb, ub = [], [], []

    def row(coefs: dict[int, float], low: float, up: float) -> None:
        a = np.zeros(nv)
        for j, v in coefs.items():
            a[j] += v
        A.append(a)
        lb.append(low)
        ub.append(up)

    def position(i: int, sign: float = 1.0) -> dict[int, float]:
        d = {X[i]: sign}
        for ch in children[i]:
            d[X[ch]] = d.get(X[ch], 0.0) - sign
        return d

    for i in range(n):
        row({S[i]: 1.0, **position(i)}, tgt[i] - b[i], np.inf)  # shortfall
        if per[i]:
            row({W[i]: 1.0, **position(i, -1.0)}, b[i] - sell[i], np.inf)  # waste
        if crit[i]:
            row(position(i), ss[i] - b[i], np.inf)  # critical minimum
        if children[i]:
            row({X[ch]: 1.0 for ch in children[i]}, -np.inf, oh[i])  # transfer limit
        if integer:
            row({X[i]: 1.0, K[i]: -mult[i]}, 0.0, 0.0)
            row({X[i]: 1.0, Y[i]: -qmin[i]}, 0.0, np.inf)
            row({X[i]: 1.0, Y[i]: -U[i]}, -np.inf, 0.0)
    for loc, capacity in cap.items():
        if loc in over:
            continue
        coefs: dict[int, float] = {}
        for i, r in enumerate(rows):
            if r["location_id"] == loc:
                for j, v in position(i).items():
                    coefs[j] = coefs.get(j, 0.0) + v
        row(coefs, -np.inf, capacity - base_at[loc])
    row({X[i]: cost[i] for i in range(n) if root[i]}, -np.inf, budget)

    integrality = np.zeros(nv)
    if integer:
        integrality[K] = 1
        integrality[Y] = 1
    res = milp(
        c,
        constraints=LinearConstraint(np.array(A), lb, ub),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if res.status != 0:
        raise RuntimeError(f"oracle: {res.message}")
    return float(res.fun + const)
