"""The model as numpy arrays (``row_lower <= A x <= row_upper``, bounds, integrality).

Two ways produce a `MatrixLP`, and the solver (`solve.py`) only ever sees a `MatrixLP`:

* `compile_pyomo(model, data)`: Pyomo's `LinearStandardFormCompiler` (mixed form) applied
  to the `build_model` ConcreteModel: the reference path.
* `build_matrix(data, sets)`: the same rows and columns assembled directly with vectorised
  numpy (the fast path for large instances; a per-element Python loop is never run).

Both carry, for every column and row, a *family* code and an *owner* (plan row, or location
code for capacity rows) so that solutions and infeasible subsets map back to products.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from inventory_assets.optimization.data import NO_PARENT, PlanData
from inventory_assets.optimization.expected_cost import segment_starts
from inventory_assets.optimization.sets import ModelSets, build_sets, expand_children

INF = np.inf

COL_FAMILIES: tuple[str, ...] = (
    "inbound",
    "shortfall",
    "waste",
    "packs",
    "order_placed",
    "inbound_segment",
    "partial_sum",
    "cost_segment",
)
"""Column families: x, s, w, k, y, the segments of the target-gap segment form, the partial sums of
split dense rows, and the expected-cost segments z (index = code)."""
ROW_FAMILIES: tuple[str, ...] = (
    "shortfall",
    "waste",
    "critical_minimum",
    "transfer_limit",
    "capacity",
    "budget",
    "pack",
    "moq_min",
    "moq_max",
    "partial_sum",
    "cost_link",
)
"""Row families (index = code); the names of the Pyomo constraint components (``partial_sum``:
a chunk of a split dense row, see `split_dense_rows`)."""
PYOMO_VAR_TO_FAMILY = {"x": 0, "s": 1, "w": 2, "k": 3, "y": 4, "z": 7}
PYOMO_CON_TO_FAMILY = {
    "shortfall_def": 0,
    "waste_def": 1,
    "critical_min": 2,
    "transfer_limit": 3,
    "capacity_limit": 4,
    "budget_limit": 5,
    "pack_def": 6,
    "moq_min": 7,
    "moq_max": 8,
    "cost_link": 10,
}


@dataclass(eq=False)
class MatrixLP:
    """A (mixed-integer) linear program ``min c x + offset, row_lower <= A x <= row_upper``."""

    c: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    """uint8 per column: 0 continuous, 1 integer (HiGHS `HighsVarType`)."""
    A: sp.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_family: np.ndarray
    col_owner: np.ndarray
    row_family: np.ndarray
    row_owner: np.ndarray
    x_col: np.ndarray
    """Per plan row: the column of x_i, -1 if x_i is not a column (0, or segments)."""
    budget_row: int
    """Row index of the budget constraint, -1 if absent."""
    build_seconds: float = 0.0
    source: str = "matrix"
    x_offset: np.ndarray | None = None
    """Segment form: x = x_offset + x_map @ columns (None: x is read from `x_col`)."""
    x_map: sp.csr_array | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def nnz(self) -> int:
        return int(self.A.nnz)

    @property
    def n_integer(self) -> int:
        return int(np.count_nonzero(self.integrality))

    def inbound(self, col_value: np.ndarray) -> np.ndarray:
        """x per plan row from a full column vector."""
        if self.x_map is not None:
            return self.x_offset + self.x_map @ col_value
        x = np.zeros(len(self.x_col))
        present = self.x_col >= 0
        x[present] = col_value[self.x_col[present]]
        return x


class _Triplets:
    """COO accumulator: rows are appended block by block."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.family: list[np.ndarray] = []
        self.owner: list[np.ndarray] = []
        self.n_rows = 0

    def add_entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), np.shape(rows)))

    def new_rows(
        self, family: int, owner: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float
    ) -> np.ndarray:
        """Append ``len(owner)`` rows of one family (bounds: one per row, or one for all)."""
        k = len(owner)
        ids = np.arange(self.n_rows, self.n_rows + k)
        self.n_rows += k
        self.family.append(np.full(k, family, dtype=np.int8))
        self.owner.append(np.asarray(owner, dtype=np.int64))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (k,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (k,)))
        return ids


def _position_terms(
    trip: _Triplets, sets: ModelSets, rows: np.ndarray, owners: np.ndarray, coef: float, x_col: np.ndarray
) -> None:
    """Add ``coef * (x_i - sum_children x_c)`` of owner i to each row."""
    trip.add_entries(rows, x_col[owners], coef)
    which, kids = expand_children(sets, owners)
    trip.add_entries(rows[which], x_col[kids], -coef)


def build_matrix(data: PlanData, sets: ModelSets | None = None) -> MatrixLP:
    """Assemble the model directly as sparse arrays (vectorised; the large-instance path)."""
    t0 = time.perf_counter()
    sets = build_sets(data) if sets is None else sets
    n = data.n
    has_parent = data.parent != NO_PARENT

    # ---- columns: x (all rows), s, w, k, y ------------------------------------------------
    x_col = np.arange(n)
    s_col = n + np.arange(len(sets.shortfall))
    w_col = n + len(sets.shortfall) + np.arange(len(sets.waste))
    start = n + len(sets.shortfall) + len(sets.waste)
    k_col = start + np.arange(len(sets.packs))
    y_col = start + len(sets.packs) + np.arange(len(sets.moq))
    curves = sets.curves
    n_seg = 0 if curves is None else curves.n_segments
    z_col = start + len(sets.packs) + len(sets.moq) + np.arange(n_seg)
    n_cols = start + len(sets.packs) + len(sets.moq) + n_seg

    c = np.zeros(n_cols)
    hold_parent = np.where(has_parent, data.hold[np.maximum(data.parent, 0)], 0.0)
    c[:n] = data.hold - hold_parent
    c[s_col] = data.shortfall_penalty[sets.shortfall]
    c[w_col] = data.waste_cost[sets.waste]
    offset = float(np.dot(data.hold, data.base))
    if curves is not None:
        c[z_col] = curves.seg_slope
        offset += float(curves.value_at_zero.sum())

    col_lower = np.zeros(n_cols)
    if sets.min_inbound is not None:
        col_lower[:n] = sets.min_inbound
    col_upper = np.full(n_cols, INF)
    col_upper[:n] = data.upper
    col_upper[k_col] = np.round(data.upper[sets.packs] / data.order_multiple[sets.packs])
    col_upper[y_col] = 1.0
    if curves is not None:
        col_upper[z_col] = curves.seg_len
    integrality = np.zeros(n_cols, dtype=np.uint8)
    integrality[k_col] = 1
    integrality[y_col] = 1
    col_family = np.concatenate(
        [
            np.full(n, 0, np.int8),
            np.full(len(s_col), 1, np.int8),
            np.full(len(w_col), 2, np.int8),
            np.full(len(k_col), 3, np.int8),
            np.full(len(y_col), 4, np.int8),
            np.full(n_seg, 7, np.int8),
        ]
    )
    seg_row = np.zeros(0, np.int64) if curves is None else curves.seg_row
    col_owner = np.concatenate([np.arange(n), sets.shortfall, sets.waste, sets.packs, sets.moq, seg_row]).astype(
        np.int64
    )

    # ---- rows --------------------------------------------------------------------------------
    trip = _Triplets()
    own = sets.shortfall  # s_i + P_i >= target_i
    r = trip.new_rows(0, own, data.target[own] - data.base[own], INF)
    trip.add_entries(r, s_col, 1.0)
    _position_terms(trip, sets, r, own, 1.0, x_col)

    own = sets.waste  # w_i - P_i >= -sellable_i
    r = trip.new_rows(1, own, data.base[own] - data.sellable[own], INF)
    trip.add_entries(r, w_col, 1.0)
    _position_terms(trip, sets, r, own, -1.0, x_col)

    own = sets.critical  # P_i >= SS_i
    r = trip.new_rows(2, own, data.safety[own] - data.base[own], INF)
    _position_terms(trip, sets, r, own, 1.0, x_col)

    own = sets.transfer  # sum_c x_c <= on_hand_i
    r = trip.new_rows(3, own, -INF, data.on_hand[own])
    which, kids = expand_children(sets, own)
    trip.add_entries(r[which], x_col[kids], 1.0)

    locs = sets.capacity  # sum_{i at l} P_i <= cap_l
    r = trip.new_rows(4, locs, -INF, data.capacity[locs] - data.base_at_location[locs])
    row_of_loc = np.full(data.n_locations, -1, dtype=np.int64)
    row_of_loc[locs] = r
    at = np.flatnonzero(row_of_loc[data.loc] >= 0)
    trip.add_entries(row_of_loc[data.loc[at]], x_col[at], 1.0)
    kids = np.flatnonzero(has_parent)
    kids = kids[row_of_loc[data.loc[data.parent[kids]]] >= 0]
    trip.add_entries(row_of_loc[data.loc[data.parent[kids]]], x_col[kids], -1.0)

    r = trip.new_rows(5, np.array([-1]), -INF, data.budget)  # sum_B unit_cost_i x_i <= budget
    budget_row = int(r[0])
    trip.add_entries(np.full(len(sets.purchase), budget_row), x_col[sets.purchase], data.unit_cost[sets.purchase])

    own = sets.packs  # x_i - m_i k_i = 0
    r = trip.new_rows(6, own, 0.0, 0.0)
    trip.add_entries(r, x_col[own], 1.0)
    trip.add_entries(r, k_col, -data.order_multiple[own])

    own = sets.moq  # x_i - q_i y_i >= 0 ; x_i - U_i y_i <= 0
    r = trip.new_rows(7, own, 0.0, INF)
    trip.add_entries(r, x_col[own], 1.0)
    trip.add_entries(r, y_col, -data.min_qty[own])
    r = trip.new_rows(8, own, -INF, 0.0)
    trip.add_entries(r, x_col[own], 1.0)
    trip.add_entries(r, y_col, -data.upper[own])

    own = sets.cost_rows  # x_i - sum_k z_ik = 0
    r = trip.new_rows(10, own, 0.0, 0.0)
    trip.add_entries(r, x_col[own], 1.0)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[own] = r
    trip.add_entries(row_of[seg_row], z_col, -1.0)

    rows = np.concatenate(trip.rows)
    cols = np.concatenate(trip.cols)
    vals = np.concatenate(trip.vals)
    A = sp.csr_array((vals, (rows, cols)), shape=(trip.n_rows, n_cols))
    A.sum_duplicates()
    col_segment = np.full(n_cols, -1, dtype=np.int64)
    col_segment[z_col] = np.arange(n_seg)
    return MatrixLP(
        c=c,
        offset=offset,
        col_lower=col_lower,
        col_upper=col_upper,
        integrality=integrality,
        A=A,
        row_lower=np.concatenate(trip.lower),
        row_upper=np.concatenate(trip.upper),
        col_family=col_family,
        col_owner=col_owner,
        row_family=np.concatenate(trip.family),
        row_owner=np.concatenate(trip.owner),
        x_col=x_col,
        budget_row=budget_row,
        build_seconds=time.perf_counter() - t0,
        source="matrix",
        extra={"col_segment": col_segment},
    )


def compile_pyomo(model, data: PlanData) -> MatrixLP:
    """Compile a `build_model` ConcreteModel with Pyomo's `LinearStandardFormCompiler`.

    Uses the mixed form (each row keeps its sense), then reads bounds and integrality from
    the Pyomo variables and maps every column/row back to its family and owner.
    """
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    t0 = time.perf_counter()
    info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    n_cols = len(info.columns)
    col_family = np.empty(n_cols, dtype=np.int8)
    col_owner = np.empty(n_cols, dtype=np.int64)
    col_lower = np.empty(n_cols)
    col_upper = np.empty(n_cols)
    integrality = np.zeros(n_cols, dtype=np.uint8)
    x_col = np.full(data.n, -1, dtype=np.int64)
    col_segment = np.full(n_cols, -1, dtype=np.int64)
    for j, var in enumerate(info.columns):
        fam = PYOMO_VAR_TO_FAMILY[var.parent_component().local_name]
        col_family[j] = fam
        col_owner[j] = model.segment_row[var.index()] if fam == 7 else var.index()
        if fam == 7:
            col_segment[j] = var.index()
        lb, ub = var.bounds
        col_lower[j] = -INF if lb is None else lb
        col_upper[j] = INF if ub is None else ub
        if var.is_integer():
            integrality[j] = 1
        if fam == 0:
            x_col[var.index()] = j
    n_rows = len(info.rows)
    rhs = np.asarray(info.rhs, dtype=float)
    row_lower = np.full(n_rows, -INF)
    row_upper = np.full(n_rows, INF)
    row_family = np.empty(n_rows, dtype=np.int8)
    row_owner = np.full(n_rows, -1, dtype=np.int64)
    budget_row = -1
    for r, (con, sense) in enumerate(info.rows):
        fam = PYOMO_CON_TO_FAMILY[con.parent_component().local_name]
        row_family[r] = fam
        idx = con.index()
        if idx is not None:
            row_owner[r] = idx
        if fam == 5:
            budget_row = r
        if sense == 0:
            row_lower[r] = row_upper[r] = rhs[r]
        elif sense == 1:
            row_upper[r] = rhs[r]
        else:
            row_lower[r] = rhs[r]
    c = np.asarray(info.c.todense()).ravel() if n_cols else np.zeros(0)
    return MatrixLP(
        c=c,
        offset=float(info.c_offset[0]),
        col_lower=col_lower,
        col_upper=col_upper,
        integrality=integrality,
        A=sp.csr_array(info.A),
        row_lower=row_lower,
        row_upper=row_upper,
        col_family=col_family,
        col_owner=col_owner,
        row_family=row_family,
        row_owner=row_owner,
        x_col=x_col,
        budget_row=budget_row,
        build_seconds=time.perf_counter() - t0,
        source="pyomo",
        extra={"col_segment": col_segment},
    )


def to_segment_form(lp: MatrixLP, data: PlanData, sets: ModelSets) -> MatrixLP:
    """Rewrite an LP (no integers) so that rows without children carry no rows of their own.

    For a row i without children, P_i = b_i + x_i, and its own cost (holding, shortfall below
    the target, waste beyond the shelf life) is a convex piecewise-linear function of x_i with
    kinks at ``t_i - b_i`` and ``e_i - b_i``; its critical minimum is a lower bound
    ``lo_i = max(0, ss_i - b_i)``.  So ``x_i = lo_i + sum_k z_ik`` with one bounded column per
    linear piece (cost = the slope on the piece; the LP fills cheaper pieces first because
    the slopes increase), and its shortfall, waste and critical rows disappear.  The
    coupling rows (parent stock, the parent's position rows, capacity, budget) see
    ``sum_k z_ik`` with the same coefficient as x_i, bounds shifted by ``lo_i``.
    The optimum is the same LP optimum (tested); only the LP relaxation uses it.
    """
    if lp.n_integer:
        raise ValueError("the segment form is for the LP relaxation only")
    t0 = time.perf_counter()
    n = data.n
    n_children = np.diff(sets.child_ptr)
    lo_all = np.where(data.critical, np.maximum(data.safety - data.base, 0.0), 0.0)
    leaf = (n_children == 0) & (lp.x_col >= 0) & (lo_all <= data.upper)
    leaves = np.flatnonzero(leaf)
    lo = lo_all[leaves]
    up = data.upper[leaves]

    # pieces: sorted breakpoints lo <= k1 <= k2 <= U (kinks outside (lo, U) collapse onto the ends)
    in_s = np.zeros(n, dtype=bool)
    in_s[sets.shortfall] = True
    in_w = np.zeros(n, dtype=bool)
    in_w[sets.waste] = True
    base = data.base[leaves]
    k_target = np.where(in_s[leaves], data.target[leaves] - base, lo)
    k_sell = np.where(in_w[leaves], data.sellable[leaves] - base, lo)
    pts = np.sort(np.column_stack([lo, np.clip(k_target, lo, up), np.clip(k_sell, lo, up), up]), axis=1)
    length = np.diff(pts, axis=1)  # (n_leaf, 3)
    mid = base[:, None] + (pts[:, :-1] + pts[:, 1:]) / 2.0
    cx = lp.c[lp.x_col[leaves]]
    pen = np.where(in_s[leaves], data.shortfall_penalty[leaves], 0.0)
    wcost = np.where(in_w[leaves], data.waste_cost[leaves], 0.0)
    slope = (
        cx[:, None]
        - pen[:, None] * (mid < data.target[leaves, None])
        + wcost[:, None] * (mid > data.sellable[leaves, None])
    )
    p_lo = base + lo
    const = float(
        np.sum(
            cx * lo
            + pen * np.maximum(data.target[leaves] - p_lo, 0.0)
            + wcost * np.maximum(p_lo - data.sellable[leaves], 0.0)
        )
    )
    keep_piece = length > 0
    seg_leaf, seg_k = np.nonzero(keep_piece)  # row-major: pieces of a leaf are adjacent
    seg_owner = leaves[seg_leaf]
    seg_len = length[seg_leaf, seg_k]
    seg_cost = slope[seg_leaf, seg_k]

    # rows owned by leaves (their shortfall, waste, critical rows) go; columns s, w of leaves and
    # x of leaves go; segment columns copy the x column of their leaf
    own_rows = np.isin(lp.row_family, (0, 1, 2)) & (lp.row_owner >= 0)
    drop_row = own_rows & leaf[np.maximum(lp.row_owner, 0)]
    keep_rows = np.flatnonzero(~drop_row)
    drop_col = np.zeros(lp.n_cols, dtype=bool)
    drop_col[lp.x_col[leaves]] = True
    drop_col |= np.isin(lp.col_family, (1, 2)) & leaf[lp.col_owner]
    keep_cols = np.flatnonzero(~drop_col)

    A = lp.A.tocsc()[:, np.r_[keep_cols, lp.x_col[seg_owner]]].tocsr()[keep_rows]
    shift = lp.A[keep_rows][:, lp.x_col[leaves]] @ lo
    n_keep = len(keep_cols)
    new_index = np.full(lp.n_cols, -1, dtype=np.int64)
    new_index[keep_cols] = np.arange(n_keep)
    x_col = np.where(lp.x_col >= 0, new_index[np.maximum(lp.x_col, 0)], -1)
    x_col[leaves] = -1
    n_cols = n_keep + len(seg_owner)
    map_rows = np.r_[np.flatnonzero(x_col >= 0), seg_owner]
    map_cols = np.r_[x_col[x_col >= 0], n_keep + np.arange(len(seg_owner))]
    x_map = sp.csr_array((np.ones(len(map_rows)), (map_rows, map_cols)), shape=(n, n_cols))
    x_offset = np.zeros(n)
    x_offset[leaves] = lo
    row_index = np.full(lp.n_rows, -1, dtype=np.int64)
    row_index[keep_rows] = np.arange(len(keep_rows))
    return MatrixLP(
        c=np.r_[lp.c[keep_cols], seg_cost],
        offset=lp.offset + const,
        col_lower=np.r_[lp.col_lower[keep_cols], np.zeros(len(seg_owner))],
        col_upper=np.r_[lp.col_upper[keep_cols], seg_len],
        integrality=np.zeros(n_cols, dtype=np.uint8),
        A=sp.csr_array(A),
        row_lower=lp.row_lower[keep_rows] - shift,
        row_upper=lp.row_upper[keep_rows] - shift,
        col_family=np.r_[lp.col_family[keep_cols], np.full(len(seg_owner), 5, np.int8)],
        col_owner=np.r_[lp.col_owner[keep_cols], seg_owner],
        row_family=lp.row_family[keep_rows],
        row_owner=lp.row_owner[keep_rows],
        x_col=x_col,
        budget_row=int(row_index[lp.budget_row]) if lp.budget_row >= 0 else -1,
        build_seconds=lp.build_seconds + time.perf_counter() - t0,
        source=lp.source + "+segments",
        x_offset=x_offset,
        x_map=x_map,
    )


def _with(values: np.ndarray, index: np.ndarray, new: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[index] = new
    return out


def eliminate_links(lp: MatrixLP) -> MatrixLP:
    """Substitute ``x_i = sum_k z_ik`` (the ``cost_link`` rows) into every other row.

    Each segment column z_ik takes the coefficients x_i had in the other rows (and x_i's cost on
    top of its slope); the x_i column and its link row go.  Same optimum, n fewer rows and
    columns: the form the LP relaxation of the ``expected_cost`` objective is solved in at scale.
    """
    link = lp.row_family == ROW_FAMILIES.index("cost_link")
    if not link.any():
        return lp
    t0 = time.perf_counter()
    linked = lp.row_owner[link]  # plan rows whose x is a sum of segments
    seg = np.flatnonzero(lp.col_family == COL_FAMILIES.index("cost_segment"))
    seg = seg[np.argsort(lp.extra["col_segment"][seg], kind="stable")]  # each row's segments in order
    drop_col = np.zeros(lp.n_cols, dtype=bool)
    drop_col[lp.x_col[linked]] = True
    keep_cols = np.flatnonzero(~drop_col)
    source = np.arange(lp.n_cols)
    source[seg] = lp.x_col[lp.col_owner[seg]]  # a segment column carries its x's coefficients
    keep_rows = np.flatnonzero(~link)
    A = lp.A.tocsc()[:, source[keep_cols]].tocsr()[keep_rows]
    c = lp.c[keep_cols].copy()
    new_index = np.full(lp.n_cols, -1, dtype=np.int64)
    new_index[keep_cols] = np.arange(len(keep_cols))
    c[new_index[seg]] += lp.c[lp.x_col[lp.col_owner[seg]]]
    # x_i >= its lower bound: the first segments (the cheapest, slopes increase) are filled up to it
    owner = lp.col_owner[seg]
    length = lp.col_upper[seg]
    seg_lower = np.clip(lp.col_lower[lp.x_col[owner]] - segment_starts(owner, length), 0.0, length)
    n = len(lp.x_col)
    x_col = np.where(lp.x_col >= 0, new_index[np.maximum(lp.x_col, 0)], -1)
    x_col[linked] = -1
    direct = np.flatnonzero(x_col >= 0)
    map_rows = np.r_[direct, lp.col_owner[seg]]
    map_cols = np.r_[x_col[direct], new_index[seg]]
    x_map = sp.csr_array((np.ones(len(map_rows)), (map_rows, map_cols)), shape=(n, len(keep_cols)))
    row_index = np.full(lp.n_rows, -1, dtype=np.int64)
    row_index[keep_rows] = np.arange(len(keep_rows))
    return MatrixLP(
        c=c,
        offset=lp.offset,
        col_lower=_with(lp.col_lower, seg, seg_lower)[keep_cols],
        col_upper=lp.col_upper[keep_cols],
        integrality=lp.integrality[keep_cols],
        A=sp.csr_array(A),
        row_lower=lp.row_lower[keep_rows],
        row_upper=lp.row_upper[keep_rows],
        col_family=lp.col_family[keep_cols],
        col_owner=lp.col_owner[keep_cols],
        row_family=lp.row_family[keep_rows],
        row_owner=lp.row_owner[keep_rows],
        x_col=x_col,
        budget_row=int(row_index[lp.budget_row]) if lp.budget_row >= 0 else -1,
        build_seconds=lp.build_seconds + time.perf_counter() - t0,
        source=lp.source + "+links",
        x_offset=np.zeros(n),
        x_map=x_map,
    )


DENSE_ROW_CHUNK = 1000
"""`split_dense_rows` cuts rows with more nonzeros than this into chunks of this size."""


def split_dense_rows(lp: MatrixLP, max_nnz: int = DENSE_ROW_CHUNK) -> MatrixLP:
    """Replace each row with more than ``max_nnz`` nonzeros by partial sums.

    A dense row ``L <= a x <= U`` (the budget, a capacity over a whole store) becomes
    ``a_g x - y_g = 0`` for chunks g of ``max_nnz`` entries (new rows, appended) and
    ``L <= sum_g y_g <= U`` (in place, so its index and its dual are unchanged), with free
    columns y_g.  Same optimum; dual simplex handles the short rows much faster
    (docs/benchmarks.md).
    """
    A = lp.A.tocsr()
    nnz_row = np.diff(A.indptr)
    dense = nnz_row > max_nnz
    if not dense.any():
        return lp
    rows = np.repeat(np.arange(lp.n_rows), nnz_row)
    in_dense = dense[rows]
    pos = np.arange(A.nnz) - A.indptr[rows]
    n_chunks = np.where(dense, -(-nnz_row // max_nnz), 0)
    first_chunk = np.concatenate(([0], np.cumsum(n_chunks)[:-1]))
    chunk = first_chunk[rows] + pos // max_nnz  # global chunk id of each dense entry
    total = int(n_chunks.sum())
    chunk_row = np.repeat(np.arange(lp.n_rows), n_chunks)  # the dense row of each chunk
    new_rows = np.where(in_dense, lp.n_rows + chunk, rows)
    y_col = lp.n_cols + np.arange(total)
    r = np.concatenate([new_rows, lp.n_rows + np.arange(total), chunk_row])
    c = np.concatenate([A.indices, y_col, y_col])
    v = np.concatenate([A.data, -np.ones(total), np.ones(total)])
    n_rows, n_cols = lp.n_rows + total, lp.n_cols + total
    x_map = None
    if lp.x_map is not None:
        x_map = sp.csr_array((lp.x_map.data, lp.x_map.indices, lp.x_map.indptr), shape=(lp.x_map.shape[0], n_cols))
    return MatrixLP(
        c=np.r_[lp.c, np.zeros(total)],
        offset=lp.offset,
        col_lower=np.r_[lp.col_lower, np.full(total, -INF)],
        col_upper=np.r_[lp.col_upper, np.full(total, INF)],
        integrality=np.r_[lp.integrality, np.zeros(total, dtype=np.uint8)],
        A=sp.csr_array((v, (r, c)), shape=(n_rows, n_cols)),
        row_lower=np.r_[lp.row_lower, np.zeros(total)],
        row_upper=np.r_[lp.row_upper, np.zeros(total)],
        col_family=np.r_[lp.col_family, np.full(total, 6, np.int8)],
        col_owner=np.r_[lp.col_owner, np.full(total, -1, np.int64)],
        row_family=np.r_[lp.row_family, np.full(total, 9, np.int8)],
        row_owner=np.r_[lp.row_owner, lp.row_owner[chunk_row]],
        x_col=lp.x_col,
        budget_row=lp.budget_row,
        build_seconds=lp.build_seconds,
        source=lp.source,
        x_offset=lp.x_offset,
        x_map=x_map,
    )
