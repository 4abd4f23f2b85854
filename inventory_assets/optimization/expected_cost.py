"""The per-row expected cost of the ``expected_cost`` objective, and its piecewise-linear form.

Each row ``i`` is priced by what its own inbound ``x_i`` buys under the demand distribution the
features fit (``safety_stock_method`` over the protection interval; docs/model.md, "Objective"):

    phi_i(x) = c^s_i L_i(Y_i)  +  [i supplies no one] c^h_i (L_i(Y_i) - mu_i)  +  [perishable] c^w_i W_i(Y_i)

with ``Y_i = b_i + x_i`` the row's position before this cycle's transfers to its children plus its
inbound, ``L_i(y) = E[(D_i - y)+]`` the expected lost sales (``analytics.service.expected_shortage``, a
normal's negative part counted as no demand), ``mu_i = L_i(0)`` the mean demand over the protection
interval and ``W_i(y) = E[(y - S_i)+]`` the expected units left unsold when the shelf life ends (``S_i``
= demand over the shelf life, same family). For a store ``D_i`` is its own demand; with the linear
holding term ``c^h_i P_i`` of every row, a store pays holding on its expected leftover ``E[(y - D)+]``.
For a location that supplies others (a DC) ``D_i`` is the pooled demand of everything below it over
its own, longer, protection interval: its stock is worth what it can still deliver to its stores, and
a transfer to a child leaves ``Y_i`` unchanged, so transfers are decided by the stores' values alone
and a unit never stays at a DC while a store it supplies would sell it at the same cost.

``phi_i`` is convex in ``x``. `cost_curves` samples it at breakpoints ``0 = x_0 < ... < x_K = U_i``
that are feasible order quantities (0, the smallest order, whole packs) up to the row's reach (U_i without
the budget's cap, so that the chords are the same at every budget; the model keeps the part up to U_i):
every one of them when a row
has at most `MAX_SEGMENTS` + 1, else the quantiles of its demand (`QUANTILE_Z`), its newsvendor level
(the quantile at ``c^s / (c^s + c^h)``, rounded down and up to packs) and its order-up-to level, each
rounded to packs.
Between breakpoints the model uses the chord, which is exact at the breakpoints and above ``phi``
between them; `CostCurves.max_error` is the largest chord error at the feasible quantity nearest a
segment's midpoint (0 when every row has all its feasible quantities as breakpoints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from inventory_assets.analytics.risk import demand_quantile
from inventory_assets.analytics.service import expected_shortage
from inventory_assets.optimization.data import PlanData
from inventory_assets.parallel import in_pieces, joined

MAX_SEGMENTS = 16
"""A row with at most this many segments between its feasible order quantities gets all of them (the
model is then exact at every feasible quantity); a larger one gets breakpoints at its demand quantiles."""

QUANTILE_Z: tuple[float, ...] = tuple(round(-2.25 + 0.3833 * k, 4) for k in range(16))
"""Standard-normal scores -2.25 ... 3.5 whose probabilities Phi(z) give the demand quantiles (over the
protection interval and, for perishables, over the shelf life) that place the breakpoints of a row with
many feasible quantities: segments about 0.38 standard deviations wide where the cost bends."""


@dataclass(frozen=True, eq=False)
class RowCost:
    """The parts of ``phi_i`` at given quantities (aligned arrays)."""

    lost_units: np.ndarray
    """``L_i(Y_i)``: expected lost sales over the protection interval (echelon for a supplying row)."""
    waste_units: np.ndarray
    """``W_i(Y_i)``: expected units that expire (perishables; 0 otherwise)."""
    leftover_units: np.ndarray
    """``E[(Y_i - D_i)+]`` for a store (expected stock left at the end of the interval); 0 for a supplier."""
    value: np.ndarray
    """``phi_i``, $."""


def evaluate_rows(data: PlanData, rows: np.ndarray, x: np.ndarray) -> RowCost:
    """``phi`` and its parts for rows ``rows`` (may repeat) at inbound ``x`` (aligned); in pieces by
    ``data.threads`` threads (`parallel.in_pieces`; each value is computed the same either way)."""
    rows = np.asarray(rows, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    # each row's L(0) over the protection interval and the shelf life, priced once per instance
    at_zero = (data.demand_at_zero, data.shelf_at_zero)
    parts = in_pieces(lambda piece: _evaluate_rows(data, rows[piece], x[piece], *at_zero), len(rows), data.threads)
    result: RowCost = joined(parts)
    return result


def _evaluate_rows(
    data: PlanData, rows: np.ndarray, x: np.ndarray, demand_at_zero: np.ndarray, shelf_at_zero: np.ndarray
) -> RowCost:
    store = ~data.has_children[rows]
    y = data.base[rows] + x
    method = data.demand_method[rows]
    std = data.demand_std[rows]
    # the mean of the demand as the loss counts it, E[max(D, 0)] = L(0) (the normal's mean plus its
    # negative part; the mean itself for the counts), so that E[(y - D)+] = y - mean + L(y) holds
    mean = demand_at_zero[rows]
    lost = expected_shortage(method, data.demand_mean[rows], std, y, at_most_mean=False)
    waste = np.zeros(len(rows))
    perishable = data.perishable[rows]
    if perishable.any():
        p = np.flatnonzero(perishable)
        s_std = data.shelf_std[rows[p]]
        s_mean = shelf_at_zero[rows[p]]
        short = expected_shortage(method[p], data.shelf_mean[rows[p]], s_std, y[p], at_most_mean=False)
        waste[p] = np.maximum(np.maximum(y[p], 0.0) - s_mean + short, 0.0)
    leftover = np.where(store, np.maximum(np.maximum(y, 0.0) - mean + lost, 0.0), 0.0)
    hold = data.hold[rows]
    value = (
        data.stockout_cost[rows] * lost
        + np.where(store, hold * (lost - mean), 0.0)
        + np.where(perishable, data.waste_cost[rows] * waste, 0.0)
    )
    return RowCost(lost_units=lost, waste_units=waste, leftover_units=leftover, value=value)


@dataclass(frozen=True, eq=False)
class CostCurves:
    """``phi_i`` as chords between breakpoints, for the rows that can receive (``U_i > 0``).

    Segment ``k`` (all rows' segments in one flat array, a row's segments adjacent and in order) belongs
    to row ``seg_row[k]``, covers ``seg_len[k]`` units of ``x`` and costs ``seg_slope[k]`` per unit; the
    slopes of a row increase. ``phi_i(x) ~ value_at_zero[i] + the cheapest segments filled up to x``.
    """

    value_at_zero: np.ndarray
    """``phi_i(0)`` per row (every row)."""
    seg_row: np.ndarray
    seg_len: np.ndarray
    seg_slope: np.ndarray
    max_error: float
    """Largest chord error at the feasible quantity nearest a segment's midpoint, $ (0: every row is exact
    at every feasible quantity)."""

    @property
    def n_segments(self) -> int:
        return len(self.seg_row)

    def value(self, x: np.ndarray) -> float:
        """``sum_i phi_i(x_i)`` as the model prices it (the chords), $."""
        return float(self.value_at_zero.sum() + np.dot(self.fill(x), self.seg_slope))

    def fill(self, x: np.ndarray) -> np.ndarray:
        """Segment values that represent inbound ``x`` (per row): the cheapest segments first."""
        start = segment_starts(self.seg_row, self.seg_len)
        return np.clip(np.asarray(x, dtype=float)[self.seg_row] - start, 0.0, self.seg_len)


def segment_starts(owner: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Where each segment starts within its row: the lengths of the row's earlier segments (segments of a
    row adjacent and in order)."""
    if not len(owner):
        return np.zeros(0)
    before = np.cumsum(length) - length
    first = np.r_[True, owner[1:] != owner[:-1]]
    return before - np.maximum.accumulate(np.where(first, before, 0.0))


def _breakpoints(data: PlanData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted breakpoints per row: (owner row per point, x per point), 0 and U_i included."""
    m = data.order_multiple[rows]
    q = data.min_qty[rows]
    u = data.reach[rows]
    n_feasible = np.floor((u - q) / m + 1e-9) + 1  # q, q + m, ..., U
    dense = n_feasible + 1 <= MAX_SEGMENTS + 1
    owners: list[np.ndarray] = []
    points: list[np.ndarray] = []

    # rows with few feasible quantities: all of them
    d = np.flatnonzero(dense)
    counts = n_feasible[d].astype(np.int64)
    own = np.repeat(d, counts)
    step = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    owners += [d, own]
    points += [np.zeros(len(d)), q[own] + step * m[own]]

    # rows with many: 0, q, U and the demand quantiles (protection interval, shelf life) rounded to packs
    s = np.flatnonzero(~dense)
    if len(s):
        r = rows[s]
        ybase = data.base[r]
        with np.errstate(divide="ignore", invalid="ignore"):
            cost_s = data.stockout_cost[r]
            fractile = np.where(cost_s > 0, cost_s / (cost_s + data.hold[r]), 0.0)
        method = data.demand_method[r]
        newsvendor = demand_quantile(method, data.demand_mean[r], data.demand_std[r], fractile, threads=data.threads)
        newsvendor -= ybase
        mm1 = m[s]
        cands = [
            np.zeros(len(s)),
            q[s],
            u[s],
            np.floor(newsvendor / mm1) * mm1,
            np.ceil(newsvendor / mm1) * mm1,
            data.target[r] - ybase,
        ]
        levels = stats.norm.cdf(QUANTILE_Z)
        cands += list(_quantiles(method, data.demand_mean[r], data.demand_std[r], levels, data.threads) - ybase)
        perishable = np.flatnonzero(data.perishable[r])
        if len(perishable):  # over the shelf life: its quantiles for a perishable row, 0 for the others
            p = r[perishable]
            shelf = np.zeros((len(levels), len(s)))
            shelf[:, perishable] = (
                _quantiles(method[perishable], data.shelf_mean[p], data.shelf_std[p], levels, data.threads)
                - ybase[perishable]
            )
            cands += list(shelf)
        grid = np.column_stack(cands)
        mm = m[s][:, None]
        qq = q[s][:, None]
        uu = u[s][:, None]
        near = np.clip(np.round(grid / mm) * mm, 0.0, uu)
        near = np.where((near > 0) & (near < qq), np.where(grid < qq / 2, 0.0, qq), near)
        near = np.sort(near, axis=1)
        keep = np.c_[np.ones(len(s), bool), np.diff(near, axis=1) > 1e-9]
        owners.append(np.repeat(s, keep.sum(axis=1)))
        points.append(near[keep])
    owner = np.concatenate(owners)
    x = np.concatenate(points)
    order = np.lexsort((x, owner))
    return owner[order], x[order]


def _quantiles(method: np.ndarray, mean: np.ndarray, std: np.ndarray, levels: np.ndarray, threads: int) -> np.ndarray:
    """Each row's demand quantile at each of ``levels``, shape (levels, rows): one `demand_quantile` call
    over the rows repeated per level, in pieces by ``threads`` threads."""
    k, n = len(levels), len(method)
    tiled = demand_quantile(
        np.tile(method, k), np.tile(mean, k), np.tile(std, k), np.repeat(levels, n), threads=threads
    )
    return tiled.reshape(k, n)


def cost_curves(data: PlanData) -> CostCurves:
    """The chords of every row that can receive (see the module docstring)."""
    n = data.n
    zero = evaluate_rows(data, np.arange(n), np.zeros(n)).value
    rows = np.flatnonzero(data.upper > 0)
    if not len(rows):
        empty = np.zeros(0)
        return CostCurves(zero, np.zeros(0, np.int64), empty, empty, 0.0)
    owner, x = _breakpoints(data, rows)
    row = rows[owner]
    f = np.empty(len(x))
    at_zero = x == 0.0  # every row's first breakpoint: its value at 0 is priced above
    f[at_zero] = zero[row[at_zero]]
    f[~at_zero] = evaluate_rows(data, row[~at_zero], x[~at_zero]).value
    same = row[1:] == row[:-1]
    length = np.diff(x)[same]
    seg_row = row[1:][same]
    slope = (np.diff(f)[same]) / length
    # the chords of a convex function have increasing slopes; round-off can break that by 1e-12
    first = np.r_[True, seg_row[1:] != seg_row[:-1]]
    group = np.cumsum(first) - 1
    slope = _running_max(slope, group)
    # the error that matters: at the feasible quantity nearest a segment's midpoint, if one lies inside
    left, right = x[:-1][same], x[1:][same]
    pack = data.order_multiple[seg_row]
    mid = np.round((left + right) / 2.0 / pack) * pack
    inside = (mid > left + 1e-9) & (mid < right - 1e-9) & (mid >= data.min_qty[seg_row] - 1e-9)
    chord = f[:-1][same] + slope * (mid - left)
    error = np.zeros(len(mid))
    error[inside] = chord[inside] - evaluate_rows(data, seg_row[inside], mid[inside]).value
    # the chords span the reach (U_i before the budget's cap) so that they do not change with the budget;
    # the model keeps the part below U_i (the last segment cut short keeps its slope)
    length = np.clip(data.upper[seg_row] - left, 0.0, length)
    used = length > 1e-9
    seg_row, length, slope, error = seg_row[used], length[used], slope[used], error[used]
    return CostCurves(
        value_at_zero=zero,
        seg_row=seg_row,
        seg_len=length,
        seg_slope=slope,
        max_error=float(max(np.max(error, initial=0.0), 0.0)),
    )


def _running_max(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative maximum of ``values`` within consecutive groups."""
    return pd.Series(values).groupby(group).cummax().to_numpy(dtype=float)


__all__ = [
    "MAX_SEGMENTS",
    "QUANTILE_Z",
    "CostCurves",
    "RowCost",
    "cost_curves",
    "evaluate_rows",
    "segment_starts",
]
