"""Rounding rule for the LP relaxation (`PlanParameters.relax_integrality`).

The LP gives fractional inbound x*.  The rule (documented in docs/model.md):

1. Echelon by echelon from the stores up to the suppliers (children before parents, so a
   parent's pulls are final when it is rounded), each row's quantity is shifted by what its
   children's rounding changed in its pulls, ``q_i = x*_i + (pulls_i - pulls*_i)``, which
   keeps the parent's position where the LP put it.
2. Each row takes the cheaper, by its own cost (holding + shortfall + waste, or holding + its
   expected cost under ``expected_cost``), of the two
   neighbouring feasible quantities: ``up`` (smallest whole-pack quantity >= q that meets the
   MOQ) and ``down`` (largest <= q, or 0); a tie goes down (spend less).  A critical row
   whose ``down`` would leave it below safety stock takes ``up``.
3. Repairs, in this order at each echelon, only ever lowering quantities: parent stock
   (per parent, the children's transfers fit its on hand and, for a critical parent, leave
   it at its safety stock with its own LP quantity rounded up), location capacity (per
   location), budget (root echelon).  Within a group, rows that went up are put back down in order of increasing
   stock-out cost (budget: stock-out cost per dollar), never a critical row whose safety
   stock needs the unit; if that is not enough, quantities drop a pack at a time in the
   same order.
4. The result is checked against every hard constraint; a violation raises
   `PlanRoundingError` (solve the MIP instead).
"""

from __future__ import annotations

import numpy as np

from inventory_assets.optimization.data import (
    NO_PARENT,
    QTY_TOL,
    PlanData,
    round_down_to_pack,
    round_up_to_pack,
)
from inventory_assets.optimization.errors import PlanRoundingError
from inventory_assets.optimization.evaluate import hard_violations
from inventory_assets.optimization.expected_cost import evaluate_rows


def _own_cost(data: PlanData, rows: np.ndarray, net: np.ndarray, q: np.ndarray) -> np.ndarray:
    pos = net + q
    if data.objective == "expected_cost":
        return data.hold[rows] * pos + evaluate_rows(data, rows, q).value
    cost = data.hold[rows] * pos + data.shortfall_penalty[rows] * np.maximum(data.target[rows] - pos, 0.0)
    waste = np.where(data.perishable[rows], np.maximum(pos - data.sellable[rows], 0.0), 0.0)
    return cost + data.waste_cost[rows] * waste


def _reduce(
    data: PlanData,
    x: np.ndarray,
    rows: np.ndarray,
    down: np.ndarray,
    net: np.ndarray,
    group: np.ndarray,
    excess: np.ndarray,
    weight: np.ndarray,
    priority: np.ndarray,
) -> None:
    """Lower ``x[rows]`` until every group's excess (in weight units) is gone.

    ``group`` (aligned with rows, -1 = no group) indexes ``excess``; rows are lowered
    in ascending ``priority`` within their group, non-critical before critical.
    """
    tol = QTY_TOL * 10
    protected = data.critical[rows] & (net + down < data.safety[rows] - QTY_TOL)
    live = (group >= 0) & (x[rows] > down + QTY_TOL) & ~protected
    live &= excess[np.maximum(group, 0)] > tol
    if live.any():
        idx = np.flatnonzero(live)
        order = np.lexsort((priority[idx], group[idx]))
        idx = idx[order]
        g = group[idx]
        red = (x[rows[idx]] - down[idx]) * weight[idx]
        csum = np.cumsum(red)
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        run = np.repeat(starts, np.diff(np.r_[starts, len(g)]))
        before = csum - red - (csum[run] - red[run])
        take = before < excess[g] - tol
        j = idx[take]
        excess -= np.bincount(group[j], weights=(x[rows[j]] - down[j]) * weight[j], minlength=len(excess))
        x[rows[j]] = down[j]

    still = np.flatnonzero(excess > tol)
    if not len(still):
        return
    # rare: drop a pack at a time, non-critical rows first, then critical rows while safe
    for gid in still:
        members = np.flatnonzero(group == gid)
        members = members[np.lexsort((priority[members], data.critical[rows[members]]))]
        for k in members:
            i = rows[k]
            while excess[gid] > tol and x[i] > QTY_TOL:
                lower = float(
                    round_down_to_pack(
                        np.array([x[i] - data.order_multiple[i]]),
                        data.order_multiple[i : i + 1],
                        data.min_qty[i : i + 1],
                    )[0]
                )
                if data.critical[i] and net[k] + lower < data.safety[i] - QTY_TOL:
                    break
                excess[gid] -= (x[i] - lower) * weight[k]
                x[i] = lower
            if excess[gid] <= tol:
                break


def round_relaxed(data: PlanData, x_lp: np.ndarray) -> np.ndarray:
    """Round the LP inbound ``x_lp`` to whole packs and MOQs with the rule above."""
    n = data.n
    x_lp = np.clip(np.asarray(x_lp, dtype=float), 0.0, data.upper)
    pull_lp = data.pulls(x_lp)
    pull = np.zeros(n)
    x = np.zeros(n)
    has_parent = data.parent != NO_PARENT
    parent_most = np.minimum(data.upper, round_up_to_pack(x_lp, data.order_multiple, data.min_qty))
    for level in range(int(data.level.max(initial=0)), -1, -1):
        rows = np.flatnonzero(data.level == level)
        if not len(rows):
            continue
        q = np.maximum(x_lp[rows] + pull[rows] - pull_lp[rows], 0.0)
        cap = data.upper[rows]
        up = np.minimum(_up(data, rows, q), cap)
        down = np.minimum(_down(data, rows, q), cap)
        net = data.base[rows] - pull[rows]
        # up costs less than down by more than round-off (where the two are one quantity, it does not)
        go_up = np.zeros(len(rows), dtype=bool)
        two = np.flatnonzero(up != down)
        cost_up = _own_cost(data, rows[two], net[two], up[two])
        cost_down = _own_cost(data, rows[two], net[two], down[two])
        go_up[two] = cost_up < cost_down - 1e-9 * (np.abs(cost_down) + 1.0)
        go_up |= data.critical[rows] & (net + down < data.safety[rows] - QTY_TOL)
        x[rows] = np.where(go_up, up, down)

        # parent on hand: children (these rows) of each parent pull at most its on hand, and
        # no more than leaves a critical parent at its safety stock with its LP quantity
        # rounded up (the most it is assumed to receive when its own echelon is rounded)
        parent = np.where(has_parent[rows], data.parent[rows], -1)
        limit = np.minimum(data.on_hand, np.where(data.critical, data.base + parent_most - data.safety, np.inf))
        excess = np.bincount(parent[parent >= 0], weights=x[rows][parent >= 0], minlength=n) - limit
        _reduce(data, x, rows, down, net, parent, excess, np.ones(len(rows)), data.stockout_cost[rows])

        # location capacity (locations of this echelon that are not already over capacity)
        loc = data.loc[rows]
        capped = np.isfinite(data.capacity[loc]) & ~data.over_capacity[loc]
        group = np.where(capped, loc, -1)
        total = np.bincount(loc, weights=net + x[rows], minlength=data.n_locations)
        excess = np.where(np.isfinite(data.capacity) & ~data.over_capacity, total - data.capacity, 0.0)
        _reduce(data, x, rows, down, net, group, excess, np.ones(len(rows)), data.stockout_cost[rows])

        if level == 0:
            roots = data.is_root[rows]
            group = np.where(roots, 0, -1)
            spend = float(np.dot(data.unit_cost[rows][roots], x[rows][roots]))
            excess = np.array([spend - data.budget])
            _reduce(
                data,
                x,
                rows,
                down,
                net,
                group,
                excess,
                data.unit_cost[rows],
                data.stockout_cost[rows] / data.unit_cost[rows],
            )

        kids = rows[has_parent[rows]]
        pull += np.bincount(data.parent[kids], weights=x[kids], minlength=n)

    bad = {name: rows for name, rows in hard_violations(data, x).items() if len(rows)}
    if bad:
        detail = "; ".join(f"{name}: {len(r)}" for name, r in bad.items())
        raise PlanRoundingError(
            f"rounding the LP relaxation to packs and MOQs broke hard constraints ({detail}); "
            "solve the exact MIP (relax_integrality=false, mip_max_rows=null)"
        )
    return x


def _up(data: PlanData, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    return round_up_to_pack(q, data.order_multiple[rows], data.min_qty[rows])


def _down(data: PlanData, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    return round_down_to_pack(q, data.order_multiple[rows], data.min_qty[rows])
