"""Infeasibility diagnosis a planner can act on.

1. `check_critical_feasibility` (before any solve, analytic and vectorised): the least each
   row must receive so that every critical row ends at its safety stock, rounded up to packs
   and MOQs, pulled up the tree from the stores to the suppliers.  If that minimum costs more
   than the budget, needs more stock than a parent has on hand, or does not fit a location,
   the plan is infeasible, and the message says by how much.  When these checks pass, that
   minimum plan itself satisfies every hard constraint, so the model is feasible.
2. `diagnose_with_iis` (after HiGHS reports infeasible anyway): HiGHS's irreducible
   infeasible subset of the LP relaxation, mapped back to constraint families and products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import highspy
import numpy as np

from inventory_assets.optimization.data import NO_PARENT, QTY_TOL, PlanData, round_up_to_pack
from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.matrix import COL_FAMILIES, ROW_FAMILIES, MatrixLP

_MAX_IDS = 20
_PACK_FAMILIES = (COL_FAMILIES.index("packs"), COL_FAMILIES.index("order_placed"))
"""Column families of the whole-pack counts k and the order/no-order binaries y (MIP only)."""


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _ids(values: Sequence[str] | np.ndarray) -> list[str]:
    return sorted({str(v) for v in values})


def _list(ids: list[str]) -> str:
    more = f" and {len(ids) - _MAX_IDS} more" if len(ids) > _MAX_IDS else ""
    return ", ".join(ids[:_MAX_IDS]) + more


def critical_minimum_inbound(data: PlanData) -> tuple[np.ndarray, np.ndarray]:
    """Least feasible inbound per row that puts every critical row at its safety stock.

    Returns ``(inbound, pulls)``: the minimum x (whole packs, >= MOQ when positive) and what
    the children pull from each row under it.  Computed from the deepest echelon up.
    """
    n = data.n
    inbound = np.zeros(n)
    pulls = np.zeros(n)
    has_parent = data.parent != NO_PARENT
    for level in range(int(data.level.max(initial=0)), -1, -1):
        rows = np.flatnonzero(data.level == level)
        gap = data.safety[rows] - (data.base[rows] - pulls[rows])
        need = np.where(data.critical[rows], np.maximum(gap, 0.0), 0.0)
        inbound[rows] = round_rows(data, rows, need)
        kids = rows[has_parent[rows]]
        pulls += np.bincount(data.parent[kids], weights=inbound[kids], minlength=n)
    return inbound, pulls


def round_rows(data: PlanData, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Round ``q`` (aligned with ``rows``) up to each row's pack and MOQ."""
    return round_up_to_pack(q, data.order_multiple[rows], data.min_qty[rows])


EXEMPT_CAUSES: dict[str, str] = {
    "no_source": "its parent location does not stock the product, so nothing can be transferred",
    "parent_stock": "its parent has too little on hand for the critical locations it supplies",
    "capacity": "the critical minimum does not fit its location's capacity (or the location is over it)",
}
"""Why a critical row can be left below its safety stock (reason code ``critical_unreachable``)."""


def exempt_unreachable_critical(data: PlanData) -> PlanData:
    """Take the critical rows that no plan can bring to safety stock out of the critical minimum.

    From the least inbound that puts every critical row at its safety stock
    (`critical_minimum_inbound`): a critical row that needs inbound but cannot receive (its
    parent location does not stock the product, its location is over capacity), whose parent
    has less on hand than the critical children need, or whose location cannot hold the
    critical minimum, is exempted with its cause (`EXEMPT_CAUSES`); repeated until none is left
    (an exemption lowers what the others pull). The money check stays: the budget is the
    planner's to raise (`check_critical_feasibility`). Every other row is planned as usual.
    """
    critical = data.critical.copy()
    exempt = data.critical_exempt.copy()
    cause = data.exempt_cause.copy()
    for _ in range(int(data.level.max(initial=0)) + 2 * data.n_locations + 1):
        current = replace(data, critical=critical)
        inbound, pulls = critical_minimum_inbound(current)
        needs = critical & (inbound > 0)
        found = np.zeros(data.n, dtype=bool)
        no_source = needs & data.is_orphan
        full = needs & data.over_capacity[data.loc] & ~data.is_orphan
        transfer = needs & (data.parent != NO_PARENT)
        short_parent = _overflow(transfer, data.parent, inbound, data.on_hand)
        free = np.maximum(data.capacity, data.base_at_location) - data.base_at_location
        own_pulls = np.bincount(data.loc, weights=pulls, minlength=data.n_locations)
        no_room = _overflow(needs & ~data.over_capacity[data.loc], data.loc, inbound, free + own_pulls)
        for mask, name in ((no_source, "no_source"), (full | no_room, "capacity"), (short_parent, "parent_stock")):
            new = mask & ~found
            cause[new] = name
            found |= new
        if not found.any():
            break
        critical &= ~found
        exempt |= found
    return replace(data, critical=critical, critical_exempt=exempt, exempt_cause=cause)


def _overflow(rows: np.ndarray, group: np.ndarray, need: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Rows (mask) that do not fit their group's ``limit`` when the group's rows are served in
    increasing ``need`` (ties: row order); ``limit`` is indexed by group."""
    idx = np.flatnonzero(rows)
    out = np.zeros(len(rows), dtype=bool)
    if not len(idx):
        return out
    idx = idx[np.lexsort((idx, need[idx], group[idx]))]
    g = group[idx]
    cum = np.cumsum(need[idx])
    first = np.r_[True, g[1:] != g[:-1]]
    before = np.maximum.accumulate(np.where(first, cum - need[idx], 0.0))
    out[idx] = cum - before > limit[g] + QTY_TOL
    return out


def check_critical_feasibility(data: PlanData) -> None:
    """Raise `PlanInfeasibleError` if the critical safety stocks cannot all be reached.

    Checked: money (supplier purchases vs the budget), parent stock (what critical children
    must pull vs the parent's on hand), replenishment (a critical row that cannot receive
    at all), and capacity (the critical minimum does not fit the location).
    """
    inbound, pulls = critical_minimum_inbound(data)
    problems: list[tuple[str, str, list[str], float | None]] = []

    money_needed = float(np.dot(data.unit_cost[data.is_root], inbound[data.is_root]))
    if money_needed > data.budget * (1 + 1e-9) + 1e-9:
        rows = np.flatnonzero(data.is_root & (inbound > 0))
        top = rows[np.argsort(-(data.unit_cost[rows] * inbound[rows]), kind="stable")]
        products = _ids(data.product_id[top])
        problems.append(
            (
                "budget",
                f"critical safety stock needs {_money(money_needed)}, budget is {_money(data.budget)} "
                f"(short by {_money(money_needed - data.budget)}); raise the budget or narrow the "
                f"critical classes {list(data.critical_classes)}; products: {_list(products)}",
                products,
                money_needed,
            )
        )

    short_parent = np.flatnonzero(pulls > data.on_hand + QTY_TOL)
    if len(short_parent):
        detail = [
            f"{data.product_id[i]} at {data.location_id[i]} needs {pulls[i]:g} units for "
            f"critical child locations but has {data.on_hand[i]:g} on hand"
            for i in short_parent[:_MAX_IDS]
        ]
        products = _ids(data.product_id[short_parent])
        problems.append(
            ("transfer_limit", "critical safety stock cannot be transferred: " + "; ".join(detail), products, None)
        )

    blocked = np.flatnonzero((inbound > 0) & data.inbound_blocked)
    orphans = blocked[data.is_orphan[blocked]]
    if len(orphans):
        detail = [f"{data.product_id[i]} at {data.location_id[i]}" for i in orphans[:_MAX_IDS]]
        problems.append(
            (
                "replenishment",
                "critical items below safety stock whose parent location does not "
                "stock them, so they cannot receive anything: " + ", ".join(detail),
                _ids(data.product_id[orphans]),
                None,
            )
        )

    loc_total = data.base_at_location + np.bincount(data.loc, weights=inbound - pulls, minlength=data.n_locations)
    over = np.isfinite(data.capacity) & (loc_total > np.maximum(data.capacity, data.base_at_location) + QTY_TOL)
    over_blocked = blocked[~data.is_orphan[blocked]]
    if over.any() or len(over_blocked):
        locs = sorted(set(np.flatnonzero(over).tolist()) | set(data.loc[over_blocked].tolist()))
        rows = np.flatnonzero(np.isin(data.loc, locs) & (inbound > 0))
        detail = [
            f"{data.location_ids[loc]} (capacity {data.capacity[loc]:g}, critical minimum "
            f"{max(loc_total[loc], data.base_at_location[loc]):g})"
            for loc in locs[:_MAX_IDS]
        ]
        problems.append(
            (
                "capacity",
                "critical safety stock does not fit location capacity: " + "; ".join(detail),
                _ids(data.product_id[rows]),
                None,
            )
        )

    if problems:
        family, _, products, needed = problems[0]
        message = "no feasible procurement plan: " + " | ".join(p[1] for p in problems)
        raise PlanInfeasibleError(
            message,
            family=family,
            product_ids=products,
            money_needed=needed if family == "budget" else None,
            money_available=data.budget if family == "budget" else None,
        )


def diagnose_with_iis(lp: MatrixLP, data: PlanData) -> PlanInfeasibleError:
    """Compute HiGHS's irreducible infeasible subset of the LP relaxation and name its parts.

    Returns (does not raise) the error to raise.  When the relaxation is feasible (only whole
    packs / MOQs make the MIP infeasible) the IIS is empty and the message says so.
    """
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp))
    A = lp.A.tocsc()
    h.passModel(
        lp.n_cols,
        lp.n_rows,
        lp.nnz,
        1,
        1,
        lp.offset,
        lp.c,
        lp.col_lower,
        lp.col_upper,
        lp.row_lower,
        lp.row_upper,
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(float),
        np.zeros(lp.n_cols, dtype=np.int32),
    )
    h.run()
    status, iis = h.getIis()
    rows = np.asarray(list(iis.row_index_), dtype=np.int64)
    cols = np.asarray(list(iis.col_index_), dtype=np.int64)

    if status != highspy.HighsStatus.kOk or (len(rows) == 0 and len(cols) == 0):
        # only k and y columns name a product here: segment columns and partial sums (owner -1)
        # are not about packs or MOQs
        pack_products = _ids(data.product_id[lp.col_owner[np.isin(lp.col_family, _PACK_FAMILIES)]])
        return PlanInfeasibleError(
            "no feasible procurement plan: whole packs and minimum order quantities cannot be combined "
            "with the budget, parent stock, capacity and critical safety stocks (the fractional "
            "relaxation is feasible); try relax_integrality or review packs/MOQs of: " + _list(pack_products),
            family="pack",
            product_ids=pack_products,
        )
    families: list[str] = []
    named: list[str] = []
    locations: list[str] = []
    for r in rows:
        fam = ROW_FAMILIES[lp.row_family[r]]
        if fam not in families:
            families.append(fam)
        owner = lp.row_owner[r]
        if fam == "capacity":
            locations.append(str(data.location_ids[owner]))
        elif fam == "partial_sum":
            # a chunk of a split dense row carries that row's owner (a location code for a
            # capacity row); the dense row itself is in the IIS too and names its owner
            continue
        elif owner >= 0:
            named.append(str(data.product_id[owner]))
    for j in cols:
        fam = f"{COL_FAMILIES[lp.col_family[j]]}_bounds"
        if fam not in families:
            families.append(fam)
        # the bounds of every variable of an IIS row take part (x >= 0 included), so the
        # rows name the products; a bound names its product only when no row is involved
        if not len(rows) and lp.col_owner[j] >= 0:
            named.append(str(data.product_id[lp.col_owner[j]]))
    products = _ids(named)
    where = f"; locations: {_list(_ids(locations))}" if locations else ""
    return PlanInfeasibleError(
        f"no feasible procurement plan: HiGHS's irreducible infeasible subset has {len(rows)} constraint(s) "
        f"and {len(cols)} bound(s) from {', '.join(families)}; products: {_list(products) or '-'}{where}",
        family="+".join(families),
        product_ids=products,
    )
