"""Index sets of the model, shared by the Pyomo builder and the matrix builder.

Both builders read these arrays, so the Pyomo model and the direct numpy model have the same
rows and columns.  Constraints that can never bind (given the bounds ``0 <= x_i <= U_i``)
are left out of the model; `docs/model.md` lists the rule for each set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inventory_assets.optimization.data import NO_PARENT, PlanData
from inventory_assets.optimization.expected_cost import CostCurves, cost_curves

_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class ModelSets:
    """Row indices (into `PlanData` rows) or location codes of each model set."""

    child_ptr: np.ndarray
    """CSR pointer: children of row i are ``child_idx[child_ptr[i]:child_ptr[i+1]]``."""
    child_idx: np.ndarray
    shortfall: np.ndarray
    """S: rows with a stock-out cost whose position can end below the target."""
    waste: np.ndarray
    """W: perishable rows with a waste cost whose position can exceed what sells in the shelf life."""
    critical: np.ndarray
    """K: critical rows whose position can end below the safety stock."""
    transfer: np.ndarray
    """T: parent rows whose children could pull more than the parent has on hand."""
    capacity: np.ndarray
    """Location codes with a capacity that the plan could exceed."""
    purchase: np.ndarray
    """B: root rows that may buy (U_i > 0): the terms of the budget row."""
    packs: np.ndarray
    """Rows with U_i > 0: integer pack count k_i (MIP only)."""
    moq: np.ndarray
    """Rows whose smallest order exceeds one pack: binary y_i (MIP only)."""
    curves: CostCurves | None = None
    """``expected_cost`` objective: the chords of each row's expected cost (None for ``target_gap``)."""
    min_inbound: np.ndarray | None = None
    """``expected_cost``: the least x_i of a critical row that supplies no other, its safety-stock gap
    rounded up to a feasible order (a bound every plan meets; it tightens the LP relaxation)."""

    @property
    def cost_rows(self) -> np.ndarray:
        """Rows with expected-cost segments (each gets a link row x_i = sum of its segments)."""
        if self.curves is None:
            return np.empty(0, dtype=np.int64)
        rows = self.curves.seg_row
        return rows[np.r_[True, rows[1:] != rows[:-1]]] if len(rows) else rows

    def children(self, i: int) -> np.ndarray:
        """Children rows of row i."""
        return self.child_idx[self.child_ptr[i] : self.child_ptr[i + 1]]


def expand_children(sets: ModelSets, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each owner row, its children: returns (position in ``owners``, child row), vectorised."""
    starts = sets.child_ptr[owners]
    counts = sets.child_ptr[owners + 1] - starts
    total = int(counts.sum())
    which = np.repeat(np.arange(len(owners)), counts)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return which, sets.child_idx[offsets + np.arange(total)]


def build_sets(data: PlanData, curves: CostCurves | None = None) -> ModelSets:
    """Compute every index set of the model from the data (``curves``: the chords of the same data, when
    computed already)."""
    n = data.n
    has_parent = data.parent != NO_PARENT
    children = np.flatnonzero(has_parent)
    order = np.argsort(data.parent[children], kind="stable")
    child_idx = children[order]
    counts = np.bincount(data.parent[children], minlength=n)
    child_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    low = data.base - data.max_pull  # lowest reachable position
    high = data.base + data.upper  # highest reachable position
    min_inbound = None
    if data.objective == "expected_cost":  # priced by the expected-cost chords instead of s and w
        curves = cost_curves(data) if curves is None else curves
        gap = np.where(data.critical & ~data.has_children, np.maximum(data.safety - data.base, 0.0), 0.0)
        least = data.round_up(gap)
        min_inbound = np.where(least <= data.reach + _EPS, least, 0.0)
        shortfall = waste = np.empty(0, dtype=np.int64)
    else:
        shortfall = np.flatnonzero((data.stockout_cost > 0) & (data.target > low + _EPS))
        waste = np.flatnonzero(data.perishable & (data.waste_cost > 0) & (high > data.sellable + _EPS))
    critical = np.flatnonzero(data.critical & (data.safety > low + _EPS))
    child_upper = np.bincount(data.parent[children], weights=data.upper[children], minlength=n)
    transfer = np.flatnonzero((counts > 0) & (child_upper > data.on_hand + _EPS))
    loc_high = data.base_at_location + np.bincount(data.loc, weights=data.upper, minlength=data.n_locations)
    capacity = np.flatnonzero(np.isfinite(data.capacity) & ~data.over_capacity & (loc_high > data.capacity + _EPS))
    purchase = np.flatnonzero(data.is_root & (data.upper > 0))
    if data.relax:
        packs = np.empty(0, dtype=np.int64)
        moq = np.empty(0, dtype=np.int64)
    else:
        packs = np.flatnonzero(data.upper > 0)
        moq = packs[data.min_qty[packs] > data.order_multiple[packs] * (1 + _EPS)]
    return ModelSets(
        child_ptr=child_ptr,
        child_idx=child_idx,
        shortfall=shortfall,
        waste=waste,
        critical=critical,
        transfer=transfer,
        capacity=capacity,
        purchase=purchase,
        packs=packs,
        moq=moq,
        curves=curves,
        min_inbound=min_inbound,
    )
