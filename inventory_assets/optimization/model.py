"""The procurement model as a Pyomo ConcreteModel, composed of small ``declare_*`` builders.

`build_model(data)` is the reference statement of the model documented in `docs/model.md`;
every component carries a ``doc=``.  Expressions are built as `LinearExpression` objects from
precomputed coefficient lists (no operator overloading in loops), and the model is handed to
HiGHS through Pyomo's standard-form compiler (`matrix.compile_pyomo`).  For very large LP
relaxations, `matrix.build_matrix` assembles the identical rows directly from numpy arrays.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from inventory_assets.optimization.data import PlanData
from inventory_assets.optimization.sets import ModelSets, build_sets


def _by_index(index: np.ndarray, values: np.ndarray) -> dict[int, float]:
    return dict(zip(index.tolist(), np.asarray(values, dtype=float).tolist(), strict=True))


def declare_sets(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Index sets: all rows, the rows of each constraint family, capacity locations."""
    m.ROWS = pyo.Set(
        initialize=range(data.n),
        ordered=True,
        doc="I: stocked (product, location) rows of abc_risk_features, sorted by key",
    )
    m.SHORTFALL_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.shortfall.tolist(),
        ordered=True,
        doc="S: rows with stockout_cost > 0 that can end below order_up_to",
    )
    m.WASTE_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.waste.tolist(),
        ordered=True,
        doc="W: perishable rows with waste_cost > 0 that can hold more than sells in the shelf life",
    )
    m.CRITICAL_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.critical.tolist(),
        ordered=True,
        doc="K: rows of a critical ABC class that can end below safety_stock",
    )
    m.TRANSFER_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.transfer.tolist(),
        ordered=True,
        doc="T: parent rows whose children could pull more than the parent has on hand",
    )
    m.CAPACITY_LOCATIONS = pyo.Set(
        initialize=sets.capacity.tolist(),
        ordered=True,
        doc="L: location codes with capacity_units the plan could exceed",
    )
    m.PURCHASE_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.purchase.tolist(),
        ordered=True,
        doc="B: root rows (no parent_location_id) that may buy from suppliers",
    )
    m.PACK_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.packs.tolist(),
        ordered=True,
        doc="rows that may receive (U_i > 0): integer pack count (MIP only)",
    )
    m.MOQ_ROWS = pyo.Set(
        within=m.PACK_ROWS,
        initialize=sets.moq.tolist(),
        ordered=True,
        doc="rows whose smallest order (MOQ in packs) exceeds one pack: order/no-order binary (MIP only)",
    )
    n_seg = 0 if sets.curves is None else sets.curves.n_segments
    m.COST_ROWS = pyo.Set(
        within=m.ROWS,
        initialize=sets.cost_rows.tolist(),
        ordered=True,
        doc="E: rows whose expected cost varies with their inbound (expected_cost objective, U_i > 0)",
    )
    m.SEGMENTS = pyo.Set(
        initialize=range(n_seg),
        ordered=True,
        doc="segments (i, k) of the expected-cost chords, flat; a row's segments adjacent, slopes increasing",
    )


def declare_parameters(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Parameters, each named after (and documented with) its source columns.

    Each is indexed by the set it is used on, not by every row (building a Param costs time per element).
    """
    rows = np.arange(data.n)

    def param(index_set, idx, values, doc):
        return pyo.Param(index_set, initialize=_by_index(idx, values[idx]), within=pyo.Reals, doc=doc)

    m.position_before = param(m.ROWS, rows, data.base, "b_i = on_hand + on_order (NULL on_order = 0), units")
    m.holding = param(
        m.ROWS, rows, data.hold, "c^h_i = unit_cost x holding_cost_rate / 365 x review days, $ per unit of position"
    )
    m.inbound_max = param(m.ROWS, rows, data.upper, "U_i: most row i may receive (see docs/model.md), units")
    m.order_up_to = param(m.SHORTFALL_ROWS, sets.shortfall, data.target, "t_i = order_up_to, units")
    m.shortfall_penalty = param(
        m.SHORTFALL_ROWS,
        sets.shortfall,
        data.shortfall_penalty,
        "c^s_i = stockout_cost x (1 + 0.001 x echelon), $ per unit below order_up_to",
    )
    m.safety_stock = param(m.CRITICAL_ROWS, sets.critical, data.safety, "ss_i = safety_stock, units")
    m.sellable = param(m.WASTE_ROWS, sets.waste, data.sellable, "e_i = forecast_demand_mean x shelf_life_days, units")
    m.waste_cost = param(
        m.WASTE_ROWS, sets.waste, data.waste_cost, "c^w_i = waste_cost, $ per unit beyond the shelf-life sales"
    )
    m.on_hand = param(m.TRANSFER_ROWS, sets.transfer, data.on_hand, "h_i = on_hand of the parent row, units")
    m.unit_cost = param(m.PURCHASE_ROWS, sets.purchase, data.unit_cost, "p_i = unit_cost, $ per unit")
    m.capacity = param(
        m.CAPACITY_LOCATIONS,
        sets.capacity,
        data.capacity,
        "cap_l = capacity_units of the location, units (all products)",
    )
    m.order_multiple = param(
        m.PACK_ROWS, sets.packs, data.order_multiple, "m_i = order_multiple (case pack; NULL = 1), units"
    )
    m.min_qty = param(
        m.MOQ_ROWS,
        sets.moq,
        data.min_qty,
        "q_i = max(m_i, m_i x ceil(min_order_qty / m_i)): smallest positive order, units",
    )
    m.budget = pyo.Param(
        initialize=data.budget, mutable=True, within=pyo.NonNegativeReals, doc="B = PlanParameters.budget, $"
    )
    if sets.curves is not None:
        segments = np.arange(sets.curves.n_segments)
        m.segment_slope = param(
            m.SEGMENTS, segments, sets.curves.seg_slope, "g_ik: slope of the chord of phi_i on segment k, $ per unit"
        )
        m.segment_row = pyo.Param(
            m.SEGMENTS,
            initialize=_by_index(segments, sets.curves.seg_row.astype(float)),
            within=pyo.NonNegativeIntegers,
            doc="the row i a segment belongs to",
        )


def declare_variables(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Decision x, shortfall s, waste w, and (MIP) pack count k and order binary y."""
    upper = data.upper
    lower = np.zeros(data.n) if sets.min_inbound is None else sets.min_inbound
    m.x = pyo.Var(
        m.ROWS,
        domain=pyo.NonNegativeReals,
        bounds=lambda _, i: (float(lower[i]), float(upper[i])),
        doc="x_i: units row i receives this cycle (bought if root, else transferred from parent)",
    )
    m.s = pyo.Var(
        m.SHORTFALL_ROWS, domain=pyo.NonNegativeReals, doc="s_i: units of position below order_up_to after the plan"
    )
    m.w = pyo.Var(
        m.WASTE_ROWS, domain=pyo.NonNegativeReals, doc="w_i: units of position beyond what sells within the shelf life"
    )
    packs_max = np.round(data.upper / data.order_multiple)
    m.k = pyo.Var(
        m.PACK_ROWS,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, i: (0, float(packs_max[i])),
        doc="k_i: whole packs received (x_i = m_i k_i), MIP only",
    )
    m.y = pyo.Var(m.MOQ_ROWS, domain=pyo.Binary, doc="y_i: 1 if row i receives anything (MOQ switch), MIP only")
    seg_len = np.zeros(0) if sets.curves is None else sets.curves.seg_len
    m.z = pyo.Var(
        m.SEGMENTS,
        domain=pyo.NonNegativeReals,
        bounds=lambda _, k: (0.0, float(seg_len[k])),
        doc="z_ik: units of x_i on segment k of the expected-cost chords (length x_ik - x_i,k-1)",
    )


def declare_position(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Position after the plan: P_i = b_i + x_i - sum of the children's x."""
    base = data.base.tolist()
    x = m.x

    def rule(_, i):
        kids = sets.children(i).tolist()
        return LinearExpression(
            constant=base[i], linear_coefs=[1.0] + [-1.0] * len(kids), linear_vars=[x[i]] + [x[c] for c in kids]
        )

    m.position = pyo.Expression(m.ROWS, rule=rule, doc="P_i = on_hand + on_order + x_i - sum_{c child of i} x_c, units")


def declare_shortfall(m: pyo.ConcreteModel) -> None:
    """s_i >= t_i - P_i: shortfall below the order-up-to level."""
    m.shortfall_def = pyo.Constraint(
        m.SHORTFALL_ROWS,
        rule=lambda m, i: m.s[i] + m.position[i] >= m.order_up_to[i],
        doc="shortfall: s_i + P_i >= order_up_to_i",
    )


def declare_waste(m: pyo.ConcreteModel) -> None:
    """w_i >= P_i - e_i: position beyond what sells within the shelf life is waste."""
    m.waste_def = pyo.Constraint(
        m.WASTE_ROWS,
        rule=lambda m, i: m.w[i] - m.position[i] >= -m.sellable[i],
        doc="waste: w_i >= P_i - forecast_demand_mean_i x shelf_life_days_i",
    )


def declare_critical_minimum(m: pyo.ConcreteModel) -> None:
    """P_i >= ss_i for critical rows (hard)."""
    m.critical_min = pyo.Constraint(
        m.CRITICAL_ROWS,
        rule=lambda m, i: m.position[i] >= m.safety_stock[i],
        doc="critical minimum: P_i >= safety_stock_i for abc_class in critical classes",
    )


def declare_transfer_limit(m: pyo.ConcreteModel, sets: ModelSets) -> None:
    """Transfers out of a parent cannot exceed its on-hand stock (on order is not there yet)."""
    x = m.x

    def rule(m, i):
        kids = sets.children(i).tolist()
        return (
            LinearExpression(constant=0.0, linear_coefs=[1.0] * len(kids), linear_vars=[x[c] for c in kids])
            <= m.on_hand[i]
        )

    m.transfer_limit = pyo.Constraint(
        m.TRANSFER_ROWS, rule=rule, doc="transfer limit: sum_{c child of i} x_c <= on_hand_i"
    )


def declare_capacity(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """The positions of all products at a location fit its capacity."""
    rows_at: dict[int, list[int]] = {int(loc): [] for loc in sets.capacity}
    for i in np.flatnonzero(np.isin(data.loc, sets.capacity)).tolist():
        rows_at[int(data.loc[i])].append(i)

    def rule(m, loc):
        return pyo.quicksum(m.position[i] for i in rows_at[loc]) <= m.capacity[loc]

    m.capacity_limit = pyo.Constraint(
        m.CAPACITY_LOCATIONS, rule=rule, doc="capacity: sum_{i at l} P_i <= capacity_units_l"
    )


def declare_budget(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Purchases from suppliers cost at most the budget."""
    rows = sets.purchase.tolist()
    spend = LinearExpression(
        constant=0.0, linear_coefs=data.unit_cost[sets.purchase].tolist(), linear_vars=[m.x[i] for i in rows]
    )
    m.spend = pyo.Expression(expr=spend, doc="spend = sum_{i in B} unit_cost_i x_i, $")
    m.budget_limit = pyo.Constraint(expr=m.spend <= m.budget, doc="budget: spend <= budget")


def declare_cost_link(m: pyo.ConcreteModel, sets: ModelSets) -> None:
    """x_i = sum of its segments (expected_cost objective; empty for target_gap)."""
    x, z = m.x, m.z
    rows = sets.cost_rows
    seg_row = sets.curves.seg_row if sets.curves is not None else np.zeros(0, np.int64)
    ptr = np.searchsorted(seg_row, rows, side="left")
    end = np.searchsorted(seg_row, rows, side="right")
    bounds = {int(i): (int(a), int(b)) for i, a, b in zip(rows.tolist(), ptr, end, strict=True)}

    def rule(_, i):
        a, b = bounds[i]
        return (
            LinearExpression(
                constant=0.0, linear_coefs=[1.0] + [-1.0] * (b - a), linear_vars=[x[i]] + [z[k] for k in range(a, b)]
            )
            == 0.0
        )

    m.cost_link = pyo.Constraint(m.COST_ROWS, rule=rule, doc="cost link: x_i = sum_k z_ik")


def declare_pack_moq(m: pyo.ConcreteModel) -> None:
    """Whole packs, and either nothing or at least the MOQ (MIP only; empty sets when relaxed)."""
    m.pack_def = pyo.Constraint(
        m.PACK_ROWS,
        rule=lambda m, i: m.x[i] - m.order_multiple[i] * m.k[i] == 0,
        doc="pack: x_i = order_multiple_i k_i, k_i integer >= 0",
    )
    m.moq_min = pyo.Constraint(
        m.MOQ_ROWS, rule=lambda m, i: m.x[i] - m.min_qty[i] * m.y[i] >= 0, doc="MOQ: x_i >= q_i y_i"
    )
    m.moq_max = pyo.Constraint(
        m.MOQ_ROWS, rule=lambda m, i: m.x[i] - m.inbound_max[i] * m.y[i] <= 0, doc="MOQ switch: x_i <= U_i y_i"
    )


def declare_objective(m: pyo.ConcreteModel, data: PlanData, sets: ModelSets) -> None:
    """Minimise holding + shortfall + waste cost."""
    has_parent = data.parent >= 0
    hold_parent = np.where(has_parent, data.hold[np.maximum(data.parent, 0)], 0.0)
    # sum_i h_i P_i = sum_i h_i b_i + sum_i (h_i - h_parent(i)) x_i  (each x_c leaves its parent's P)
    m.holding_cost = pyo.Expression(
        expr=LinearExpression(
            constant=float(np.dot(data.hold, data.base)),
            linear_coefs=(data.hold - hold_parent).tolist(),
            linear_vars=list(m.x.values()),
        ),
        doc="holding = sum_i holding_i P_i, $ over the review period",
    )
    m.shortfall_cost = pyo.Expression(
        expr=LinearExpression(
            constant=0.0, linear_coefs=data.shortfall_penalty[sets.shortfall].tolist(), linear_vars=list(m.s.values())
        ),
        doc="shortfall = sum_{i in S} c^s_i s_i, $",
    )
    m.waste_cost_total = pyo.Expression(
        expr=LinearExpression(
            constant=0.0, linear_coefs=data.waste_cost[sets.waste].tolist(), linear_vars=list(m.w.values())
        ),
        doc="waste = sum_{i in W} waste_cost_i w_i, $",
    )
    if sets.curves is not None:
        m.expected_cost = pyo.Expression(
            expr=LinearExpression(
                constant=float(sets.curves.value_at_zero.sum()),
                linear_coefs=sets.curves.seg_slope.tolist(),
                linear_vars=list(m.z.values()),
            ),
            doc="expected cost = sum_i phi_i(0) + sum_ik g_ik z_ik, $ (lost sales, leftover, expiry)",
        )
        priced = m.holding_cost + m.expected_cost
    else:
        priced = m.holding_cost + m.shortfall_cost + m.waste_cost_total
    m.total_cost = pyo.Objective(
        expr=priced,
        sense=pyo.minimize,
        doc="total cost = holding + shortfall + waste (target_gap) or holding + expected cost (expected_cost), $",
    )


def build_model(data: PlanData, sets: ModelSets | None = None) -> pyo.ConcreteModel:
    """Build the procurement ConcreteModel (MIP, or its LP relaxation when ``data.relax``)."""
    sets = build_sets(data) if sets is None else sets
    m = pyo.ConcreteModel(name="procurement_plan", doc="single-cycle multi-echelon procurement plan")
    declare_sets(m, data, sets)
    declare_parameters(m, data, sets)
    declare_variables(m, data, sets)
    declare_position(m, data, sets)
    declare_shortfall(m)
    declare_waste(m)
    declare_critical_minimum(m)
    declare_transfer_limit(m, sets)
    declare_capacity(m, data, sets)
    declare_budget(m, data, sets)
    declare_pack_moq(m)
    declare_cost_link(m, sets)
    declare_objective(m, data, sets)
    return m
