"""Reason codes: why each row got the quantity it got.

Evaluated on the final plan, first match wins (the order below is the precedence).  "One
more step" is the next feasible increment of the row: its smallest order (MOQ in whole
packs) when it orders nothing, else one pack.  "Short" means the position after the plan
is below the order-up-to level.

0. ``critical_unreachable``: a critical row no plan can bring to its safety stock (its parent
   location does not stock the product, its parent has too little on hand, or its location
   cannot hold it: `diagnose.exempt_unreachable_critical`); planned like any other row.
1. ``critical_minimum``: critical row, below safety stock before its order, ordered, still
   short, and within one step of its safety stock: the hard minimum set the quantity.
2. ``limited_by_parent_stock``: short, receives from a parent, and the parent's remaining
   on hand is less than one more step (or the parent location does not stock the product).
3. ``limited_by_budget``: short, buys from suppliers, and the unspent budget cannot pay
   one more step.
4. ``limited_by_capacity``: short, and the location's free capacity is less than one more
   step (or the location is already over capacity, so inbound is zero).
5. ``limited_by_shelf_life``: short, perishable, and one more step would put the position
   beyond what sells within the shelf life (it would be wasted).
6. ``pack_moq_rounding``: whole packs / the MOQ changed the quantity: the need (what brings
   the row to its order-up-to level, or its safety stock if critical and higher; in whole
   units) is not a feasible order, and the plan took a neighbouring feasible quantity (the
   need rounded up to packs and the MOQ, or down, possibly to 0).
7. ``below_target``: the row needed stock and the plan orders what the costs justify.
8. ``nothing_needed``: the position (after the children's pulls) is already at or above
   the order-up-to level (and the safety stock), and nothing is ordered.
"""

from __future__ import annotations

import numpy as np

from inventory_assets.contract.spec import REASON_CODES
from inventory_assets.optimization.data import NO_PARENT, QTY_TOL, PlanData
from inventory_assets.optimization.evaluate import PlanEvaluation

__all__ = ["REASON_CODES", "reason_codes"]


def reason_codes(data: PlanData, ev: PlanEvaluation) -> np.ndarray:
    """One reason code per row (object array of str)."""
    x = ev.x
    tol = QTY_TOL + 1e-9 * np.abs(data.target)
    net = data.base - ev.pulls
    floor = np.maximum(data.target, np.where(data.critical, data.safety, 0.0))
    need = np.maximum(floor - net, 0.0)
    short = ev.shortfall_units > tol
    ordered = x > QTY_TOL
    step = np.where(ordered, data.order_multiple, data.min_qty)

    has_parent = data.parent != NO_PARENT
    parent = np.maximum(data.parent, 0)
    parent_left = np.where(has_parent, data.on_hand[parent] - ev.pulls[parent], 0.0)
    parent_limited = (has_parent & (parent_left < step - QTY_TOL)) | data.is_orphan

    budget_left = data.budget - ev.spend
    budget_limited = data.is_root & (budget_left < data.unit_cost * step - 1e-9 * max(1.0, data.budget))

    loc_total = np.bincount(data.loc, weights=ev.position, minlength=data.n_locations)
    free = data.capacity - loc_total
    capacity_limited = data.over_capacity[data.loc] | (free[data.loc] < step - QTY_TOL)

    shelf_limited = data.perishable & (data.waste_cost > 0) & (ev.position + step > data.sellable + QTY_TOL)

    critical_min = (
        data.critical & ordered & (net < data.safety - QTY_TOL) & short & (ev.position < data.safety + step - QTY_TOL)
    )
    whole = np.ceil(need - QTY_TOL)  # the need in whole units
    textbook = data.round_up(need)  # the need rounded up to packs and the MOQ
    rounding = (
        (textbook - whole > QTY_TOL)  # packs / MOQ change the quantity at all
        & (np.abs(x - whole) > QTY_TOL)
        & (x <= textbook + QTY_TOL)
        & (x >= data.round_down(need) - QTY_TOL)
    )
    below = (need > QTY_TOL) | ordered

    conditions = [
        data.critical_exempt,
        critical_min,
        short & parent_limited & ~data.is_root,
        short & budget_limited,
        short & capacity_limited,
        short & shelf_limited,
        rounding,
        below,
    ]
    codes = np.select(conditions, list(REASON_CODES[:-1]), default=REASON_CODES[-1])
    return codes.astype(object)
