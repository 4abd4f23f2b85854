"""Typed data container of the procurement model, built from the `abc_risk_features` frame.

Everything the model needs is turned into aligned numpy arrays here, once and vectorised,
so that both model builders (the Pyomo model in `model.py` and the matrix builder in
`matrix.py`) and the extraction read the same numbers.

Rows ``i`` are the stocked (product, location) pairs of the features frame, sorted by
(`product_id`, `location_id`).  The network is the tree of `parent_location_id`; the parent
row of ``i`` is the row (same product, parent location).  See `docs/model.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from inventory_assets.analytics.risk import demand_quantile, method_codes
from inventory_assets.analytics.service import expected_shortage
from inventory_assets.contract.network import NetworkError, depths
from inventory_assets.contract.plan import QTY_TOL
from inventory_assets.contract.validation import fill_null
from inventory_assets.optimization.errors import PlanDataError
from inventory_assets.optimization.params import PlanParameters

REQUIRED_COLUMNS: tuple[str, ...] = (
    "product_id",
    "location_id",
    "parent_location_id",
    "capacity_units",
    "on_hand",
    "on_order",
    "unit_cost",
    "holding_cost_rate",
    "stockout_cost",
    "waste_cost",
    "shelf_life_days",
    "min_order_qty",
    "order_multiple",
    "forecast_demand_mean",
    "abc_class",
    "review_days",
    "safety_stock",
    "order_up_to",
    "demand_over_protection",
    "demand_std_over_protection",
    "safety_stock_method",
)
"""Columns of `abc_risk_features` (docs/frames.md) the model reads."""

_TEXT_COLUMNS = ("abc_class", "safety_stock_method")

NO_PARENT = -1
"""`PlanData.parent` value of a row without a parent row (a root, or an orphan)."""

_REL_EPS = 1e-9  # slack when dividing quantities by pack sizes (float noise)

ECHELON_TIE_BREAK = 1e-3
"""Shortfall penalty weight per echelon below the top: stockout_cost x (1 + 0.001 x echelon).

At equal stock-out cost a unit short at a store (closest to the customer) then costs slightly
more than a unit short at its DC, so scarce stock flows down instead of the solver choosing
arbitrarily between equally cheap plans."""


def min_positive_order(order_multiple: np.ndarray, min_order_qty: np.ndarray) -> np.ndarray:
    """Smallest positive feasible order: the MOQ rounded up to whole packs, at least one pack."""
    packs = np.maximum(1.0, np.ceil(min_order_qty / order_multiple - _REL_EPS))
    return packs * order_multiple


def round_up_to_pack(q: np.ndarray, order_multiple: np.ndarray, min_qty: np.ndarray) -> np.ndarray:
    """Smallest feasible order quantity (0, or whole packs >= the MOQ) that is >= ``q``."""
    q = np.asarray(q, dtype=float)
    up = np.ceil(q / order_multiple - _REL_EPS) * order_multiple
    up = np.maximum(up, min_qty)
    return np.where(q <= QTY_TOL, 0.0, up)


def round_down_to_pack(q: np.ndarray, order_multiple: np.ndarray, min_qty: np.ndarray) -> np.ndarray:
    """Largest feasible order quantity (0, or whole packs >= the MOQ) that is <= ``q``."""
    q = np.asarray(q, dtype=float)
    down = np.floor(q / order_multiple + _REL_EPS) * order_multiple
    return np.where(down < min_qty * (1 - _REL_EPS), 0.0, down)


@dataclass(frozen=True, eq=False)
class PlanData:
    """Aligned arrays of one planning instance (length ``n`` = rows unless noted).

    Quantities are units, money is currency units, costs are per unit over the review period.
    """

    frame: pd.DataFrame
    """The features, sorted by (product_id, location_id), fresh RangeIndex (rows of the plan)."""
    budget: float
    """Budget of the cycle (run config)."""
    objective: str
    """``expected_cost`` or ``target_gap`` (`PlanParameters.objective`)."""
    relax: bool
    """True: LP relaxation + rounding; False: exact MIP."""
    critical_classes: tuple[str, ...]
    product_id: np.ndarray
    location_id: np.ndarray
    parent: np.ndarray
    """Row index of the parent row (same product at `parent_location_id`), `NO_PARENT` if none."""
    is_root: np.ndarray
    """Location has no parent: the row buys from suppliers (spends budget)."""
    is_orphan: np.ndarray
    """Location has a parent that does not stock the product: the row can receive nothing."""
    level: np.ndarray
    """Echelon of the row's location in the network (0 = no parent); a parent row is one level up."""
    on_hand: np.ndarray
    on_order: np.ndarray
    base: np.ndarray
    """on_hand + on_order: the position before the plan."""
    target: np.ndarray
    """`order_up_to`."""
    safety: np.ndarray
    """`safety_stock`."""
    critical: np.ndarray
    """`abc_class` in the critical classes: position after >= safety stock is hard."""
    unit_cost: np.ndarray
    hold: np.ndarray
    """Holding cost per unit of position over the review period: unit_cost x rate / 365 x days."""
    stockout_cost: np.ndarray
    """`stockout_cost` as given, $ per unit."""
    shortfall_penalty: np.ndarray
    """Objective weight of a unit short: stockout_cost x (1 + `ECHELON_TIE_BREAK` x level)."""
    waste_cost: np.ndarray
    perishable: np.ndarray
    """`shelf_life_days` is set."""
    sellable: np.ndarray
    """forecast_demand_mean x shelf_life_days (inf when not perishable): what sells before expiry."""
    order_multiple: np.ndarray
    min_order_qty: np.ndarray
    min_qty: np.ndarray
    """Smallest positive feasible order: max(one pack, MOQ rounded up to packs)."""
    loc: np.ndarray
    """Location code of the row (index into the per-location arrays)."""
    location_ids: np.ndarray
    """Per location code: the location id."""
    capacity: np.ndarray
    """Per location: `capacity_units` (inf = unlimited)."""
    base_at_location: np.ndarray
    """Per location: sum of the rows' positions before the plan."""
    over_capacity: np.ndarray
    """Per location: today's position already exceeds the capacity, so inbound is zero."""
    inbound_blocked: np.ndarray
    """Row can receive nothing (orphan, or its location is over capacity)."""
    max_pull: np.ndarray
    """D_i = min(on_hand_i, sum of children's U): the most the children can pull from i."""
    upper: np.ndarray
    """U_i: most row i may receive (rounded up to a feasible pack quantity); 0 when blocked."""
    reach: np.ndarray
    """U_i before the budget's cap (what the row could use with money no limit): the expected-cost curves
    are built over it, so that they do not change with the budget."""
    demand_method: np.ndarray
    """`safety_stock_method` as `analytics.risk.method_codes`: the distribution of demand over the protection
    interval (codes, since the cost curves evaluate each row at many quantities)."""
    demand_mean: np.ndarray
    """`demand_over_protection`: mean demand over the protection interval (an upper echelon's is pooled)."""
    demand_std: np.ndarray
    """`demand_std_over_protection`."""
    shelf_mean: np.ndarray
    """Perishables: mean demand over the shelf life, forecast_demand_mean x shelf_life_days (0 otherwise)."""
    shelf_std: np.ndarray
    """Perishables: its standard deviation, demand_std_over_protection x sqrt(shelf life / protection days)."""
    has_children: np.ndarray
    """Some row of the same product at a child location is replenished from this row."""
    critical_exempt: np.ndarray
    """Critical rows the plan cannot bring to safety stock (`diagnose.exempt_unreachable_critical`)."""
    exempt_cause: np.ndarray
    """Per row: '' or why a critical row is exempt (``no_source``, ``parent_stock``, ``capacity``)."""
    threads: int
    """`PlanParameters.threads`: the threads that price rows (`expected_cost.evaluate_rows`; 0: one per CPU)."""

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.base)

    @property
    def n_locations(self) -> int:
        """Number of location codes."""
        return len(self.location_ids)

    @property
    def has_parent(self) -> np.ndarray:
        """Row receives transfers from a stocked parent row."""
        return self.parent != NO_PARENT

    def pulls(self, x: np.ndarray) -> np.ndarray:
        """What each row's children pull from it (sum of their inbound)."""
        child = self.has_parent
        return np.bincount(self.parent[child], weights=x[child], minlength=self.n)

    def position(self, x: np.ndarray) -> np.ndarray:
        """Position after the plan: on hand + on order + x - pulls."""
        return self.base + x - self.pulls(x)

    @cached_property
    def demand_at_zero(self) -> np.ndarray:
        """``L_i(0) = E[max(D_i, 0)]`` per row: the mean of the demand over the protection interval as the
        expected-cost objective's loss counts it (`expected_cost`); a row's own number, priced once here
        because every evaluation of the row at any quantity needs it."""
        return self._loss_at_zero(self.demand_mean, self.demand_std)

    @cached_property
    def shelf_at_zero(self) -> np.ndarray:
        """The same over the shelf life (``E[max(S_i, 0)]``; 0 for a row that is not perishable)."""
        return np.where(self.perishable, self._loss_at_zero(self.shelf_mean, self.shelf_std), 0.0)

    def _loss_at_zero(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return expected_shortage(self.demand_method, mean, std, 0.0, at_most_mean=False, threads=self.threads)

    def round_up(self, q: np.ndarray) -> np.ndarray:
        """Row-wise `round_up_to_pack`."""
        return round_up_to_pack(q, self.order_multiple, self.min_qty)

    def round_down(self, q: np.ndarray) -> np.ndarray:
        """Row-wise `round_down_to_pack`."""
        return round_down_to_pack(q, self.order_multiple, self.min_qty)


def _keys(frame: pd.DataFrame, rows: np.ndarray, column: str, limit: int = 10) -> str:
    sub = frame.loc[rows[:limit], ["product_id", "location_id"]]
    text = ", ".join(f"({p}, {loc})" for p, loc in zip(sub["product_id"], sub["location_id"], strict=True))
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"column {column!r}, {len(rows)} row(s): {text}{more}"


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise PlanDataError(f"features column {column!r} is not numeric: {exc}") from exc


def _check(frame: pd.DataFrame, bad: np.ndarray, column: str, rule: str) -> None:
    rows = np.flatnonzero(bad)
    if len(rows):
        raise PlanDataError(f"features violate '{rule}': {_keys(frame, rows, column)}")


def _distributions(
    frame: pd.DataFrame, num: dict[str, np.ndarray], perishable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Demand over the protection interval (method, mean, sd) and, for perishables, over the shelf life
    (mean, sd): the distributions the ``expected_cost`` objective prices (docs/model.md)."""
    method = method_codes(frame["safety_stock_method"].astype(object).to_numpy())
    d_mean = num["demand_over_protection"]
    d_std = num["demand_std_over_protection"]
    for values, column in ((d_mean, "demand_over_protection"), (d_std, "demand_std_over_protection")):
        _check(frame, ~(np.isfinite(values) & (values >= 0)), column, f"{column} finite and >= 0")
    daily = np.nan_to_num(num["forecast_demand_mean"])
    shelf = np.nan_to_num(num["shelf_life_days"])
    with np.errstate(divide="ignore", invalid="ignore"):
        protection_days = np.where(daily > 0, d_mean / np.where(daily > 0, daily, 1.0), 0.0)
        ratio = np.where(protection_days > 0, shelf / np.where(protection_days > 0, protection_days, 1.0), 0.0)
    shelf_mean = np.where(perishable, daily * shelf, 0.0)
    shelf_std = np.where(perishable, d_std * np.sqrt(ratio), 0.0)
    return method, d_mean, d_std, shelf_mean, shelf_std


def _highest_useful_position(
    objective: str,
    target: np.ndarray,
    critical_safety: np.ndarray,
    num: dict[str, np.ndarray],
    hold: np.ndarray,
    method: np.ndarray,
    threads: int,
) -> np.ndarray:
    """The position U_i is sized to reach: the target (or critical safety stock) and, under
    ``expected_cost``, the newsvendor level (demand quantile at c^s / (c^s + c^h))."""
    floor = np.maximum(target, critical_safety)
    if objective != "expected_cost":
        return floor
    stockout = num["stockout_cost"]
    with np.errstate(divide="ignore", invalid="ignore"):
        fractile = np.where(stockout > 0, stockout / (stockout + hold), 0.0)
    level = demand_quantile(
        method, num["demand_over_protection"], num["demand_std_over_protection"], fractile, threads=threads
    )
    return np.maximum(floor, level)


def build_plan_data(features: pd.DataFrame, params: PlanParameters) -> PlanData:
    """Validate the `abc_risk_features` frame and turn it into a `PlanData`.

    Raises:
        PlanDataError: empty frame, missing columns, duplicate keys, bad numbers,
            inconsistent capacities, or a cycle in the location network.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in features.columns]
    if missing:
        raise PlanDataError(f"features frame lacks column(s) {missing}")
    if len(features) == 0:
        raise PlanDataError("features frame is empty: refusing to plan nothing")

    # --- keys: factorize ids (sorted codes), order rows by (product, location) ---------------
    prod_codes, _ = pd.factorize(features["product_id"], sort=True)
    parent_raw = features["parent_location_id"]
    parent_set = parent_raw.notna().to_numpy()
    all_locs = pd.concat(
        [features["location_id"].astype(object), parent_raw[parent_set].astype(object)], ignore_index=True
    )
    if features["product_id"].isna().any() or features["location_id"].isna().any():
        raise PlanDataError("features have a missing product_id or location_id")
    loc_all_codes, location_ids = pd.factorize(all_locs, sort=True)
    n = len(features)
    n_loc = len(location_ids)
    loc_codes = loc_all_codes[:n].astype(np.int64)
    key = prod_codes.astype(np.int64) * n_loc + loc_codes
    order = np.argsort(key, kind="stable")
    if not np.all(order == np.arange(n)):
        features = features.take(order)
        key = key[order]
        loc_codes = loc_codes[order]
        prod_codes = prod_codes[order]
        parent_set = parent_set[order]
    frame = features.reset_index(drop=True)
    dup = np.flatnonzero(np.diff(key) == 0)
    if len(dup):
        raise PlanDataError(f"duplicate (product_id, location_id) keys: {_keys(frame, dup + 1, 'location_id')}")

    # parent location code per row (recomputed on the sorted frame)
    parent_loc = np.full(n, -1, dtype=np.int64)
    if parent_set.any():
        parent_loc[parent_set] = location_ids.get_indexer(frame["parent_location_id"][parent_set].astype(object))
    parent_key = prod_codes.astype(np.int64) * n_loc + parent_loc
    pos = np.searchsorted(key, parent_key)
    pos_clipped = np.minimum(pos, n - 1)
    found = parent_set & (key[pos_clipped] == parent_key)
    parent = np.where(found, pos_clipped, NO_PARENT).astype(np.int64)
    is_root = ~parent_set
    is_orphan = parent_set & ~found

    # --- location consistency: one parent per location, acyclic tree -------------------------
    loc_parent = pd.DataFrame({"loc": loc_codes, "parent": parent_loc}).drop_duplicates()
    clash = loc_parent["loc"].duplicated(keep=False).to_numpy()
    if clash.any():
        bad_locs = sorted({str(location_ids[c]) for c in loc_parent["loc"][clash]})
        raise PlanDataError(f"locations with more than one parent_location_id: {bad_locs[:10]}")
    self_parent = np.flatnonzero(parent_loc == loc_codes)
    if len(self_parent):
        raise PlanDataError(f"a location is its own parent: {_keys(frame, self_parent, 'parent_location_id')}")
    # level of each location: 0 without a parent, parent's level + 1 otherwise (a location seen only
    # as a parent, stocking nothing here, counts as level 0)
    loc_parent_code = np.full(n_loc, -1, dtype=np.int64)
    loc_parent_code[loc_codes] = parent_loc
    try:
        loc_level = depths(loc_parent_code)
    except NetworkError:
        raise PlanDataError("the location network has a cycle (parent_location_id)") from None
    level = loc_level[loc_codes]

    # --- numbers --------------------------------------------------------------------------
    num = {c: _numeric(frame, c) for c in REQUIRED_COLUMNS[3:] if c not in _TEXT_COLUMNS}
    on_hand = num["on_hand"]
    on_order = fill_null(num["on_order"], "on_order")
    min_order_qty = fill_null(num["min_order_qty"], "min_order_qty")
    order_multiple = fill_null(num["order_multiple"], "order_multiple")
    shelf = num["shelf_life_days"]
    perishable = ~np.isnan(shelf)
    if params.review_period_days is None:
        review = num["review_days"]
        _check(frame, ~(np.isfinite(review) & (review > 0)), "review_days", "review_days > 0")
    else:
        review = np.full(n, float(params.review_period_days))

    def finite_ge0(values: np.ndarray, column: str) -> None:
        _check(frame, ~(np.isfinite(values) & (values >= 0)), column, f"{column} finite and >= 0")

    finite_ge0(on_hand, "on_hand")
    finite_ge0(on_order, "on_order")
    _check(frame, ~(np.isfinite(num["unit_cost"]) & (num["unit_cost"] > 0)), "unit_cost", "unit_cost > 0")
    for column in ("holding_cost_rate", "stockout_cost", "waste_cost", "safety_stock", "order_up_to"):
        finite_ge0(num[column], column)
    finite_ge0(min_order_qty, "min_order_qty")
    _check(frame, ~(np.isfinite(order_multiple) & (order_multiple > 0)), "order_multiple", "order_multiple > 0")
    _check(frame, perishable & ~(np.isfinite(shelf) & (shelf > 0)), "shelf_life_days", "shelf_life_days > 0")
    demand = num["forecast_demand_mean"]
    _check(
        frame,
        perishable & ~(np.isfinite(demand) & (demand >= 0)),
        "forecast_demand_mean",
        "forecast_demand_mean finite and >= 0 for perishables",
    )
    cap_row = num["capacity_units"]
    _check(frame, ~(np.isnan(cap_row) | ((cap_row >= 0) & np.isfinite(cap_row))), "capacity_units", "capacity >= 0")

    unit_cost = num["unit_cost"]
    hold = unit_cost * num["holding_cost_rate"] / 365.0 * review
    sellable = np.where(perishable, np.nan_to_num(demand) * np.nan_to_num(shelf), np.inf)
    abc = frame["abc_class"].astype(object).to_numpy()
    critical = np.isin(abc, np.array(params.critical_classes, dtype=object))
    base = on_hand + on_order
    target = num["order_up_to"]
    safety = num["safety_stock"]
    min_qty = min_positive_order(order_multiple, min_order_qty)

    # --- per location: capacity and today's position ---------------------------------------
    cap_series = pd.Series(cap_row).groupby(loc_codes)
    cap_min = cap_series.min().reindex(range(n_loc))
    cap_max = cap_series.max().reindex(range(n_loc))
    cap_cnt = cap_series.count().reindex(range(n_loc), fill_value=0)
    rows_per_loc = np.bincount(loc_codes, minlength=n_loc)
    counted = cap_cnt.to_numpy()
    differs = (cap_min.fillna(-1.0) != cap_max.fillna(-1.0)).to_numpy()
    inconsistent = differs | ((counted > 0) & (counted < rows_per_loc))  # some rows NaN, some not
    if inconsistent.any():
        bad_locs = [str(location_ids[i]) for i in np.flatnonzero(inconsistent)[:10]]
        raise PlanDataError(f"capacity_units differs between rows of the same location: {bad_locs}")
    capacity = cap_min.to_numpy(dtype=float, na_value=np.inf)
    base_at_location = np.bincount(loc_codes, weights=base, minlength=n_loc)
    over_capacity = base_at_location > capacity
    inbound_blocked = is_orphan | over_capacity[loc_codes]

    method, d_mean, d_std, shelf_mean, shelf_std = _distributions(frame, num, perishable)

    has_children = np.zeros(n, dtype=bool)
    has_children[parent[parent != NO_PARENT]] = True

    # --- U_i and D_i, bottom-up over the echelons --------------------------------------------
    upper = np.zeros(n)
    reach = np.zeros(n)
    max_pull = np.zeros(n)
    child_upper_sum = np.zeros(n)
    objective = params.objective
    floor_target = _highest_useful_position(
        objective, target, np.where(critical, safety, 0.0), num, hold, method, params.threads
    )
    budget_packs = round_down_to_pack(params.budget / unit_cost, order_multiple, min_qty)
    parent_on_hand = np.where(parent != NO_PARENT, on_hand[np.maximum(parent, 0)], 0.0)
    parent_packs = round_down_to_pack(parent_on_hand, order_multiple, min_qty)
    for d in range(int(level.max(initial=0)), -1, -1):
        rows = np.flatnonzero(level == d)
        max_pull[rows] = np.minimum(on_hand[rows], child_upper_sum[rows])
        need = np.maximum(floor_target[rows] + max_pull[rows] - base[rows], 0.0)
        u = round_up_to_pack(need, order_multiple[rows], min_qty[rows])
        u = np.where(parent[rows] != NO_PARENT, np.minimum(u, parent_packs[rows]), u)
        u = np.where(inbound_blocked[rows], 0.0, u)
        reach[rows] = u
        u = np.where(is_root[rows], np.minimum(u, budget_packs[rows]), u)
        upper[rows] = u
        has_p = parent[rows] != NO_PARENT
        child_upper_sum += np.bincount(parent[rows][has_p], weights=u[has_p], minlength=n)

    return PlanData(
        frame=frame,
        budget=float(params.budget),
        objective=objective,
        relax=params.relaxes(len(frame)),
        critical_classes=params.critical_classes,
        product_id=frame["product_id"].astype(object).to_numpy(),
        location_id=frame["location_id"].astype(object).to_numpy(),
        parent=parent,
        is_root=is_root,
        is_orphan=is_orphan,
        level=level,
        on_hand=on_hand,
        on_order=on_order,
        base=base,
        target=target,
        safety=safety,
        critical=critical,
        unit_cost=unit_cost,
        hold=hold,
        stockout_cost=num["stockout_cost"],
        shortfall_penalty=num["stockout_cost"] * (1.0 + ECHELON_TIE_BREAK * level),
        waste_cost=num["waste_cost"],
        perishable=perishable,
        sellable=sellable,
        order_multiple=order_multiple,
        min_order_qty=min_order_qty,
        min_qty=min_qty,
        loc=loc_codes,
        location_ids=np.asarray(location_ids, dtype=object),
        capacity=capacity,
        base_at_location=base_at_location,
        over_capacity=over_capacity,
        inbound_blocked=inbound_blocked,
        max_pull=max_pull,
        upper=upper,
        reach=reach,
        demand_method=method,
        demand_mean=d_mean,
        demand_std=d_std,
        shelf_mean=shelf_mean,
        shelf_std=shelf_std,
        has_children=has_children,
        critical_exempt=np.zeros(n, dtype=bool),
        exempt_cause=np.full(n, "", dtype=object),
        threads=params.threads,
    )
