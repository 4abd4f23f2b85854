"""Turn a solved plan back into the `procurement_plan` frame and its run summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from inventory_assets.analytics.risk import exceedance_probability
from inventory_assets.contract.spec import PROCUREMENT_PLAN
from inventory_assets.optimization.data import PlanData
from inventory_assets.optimization.evaluate import PlanEvaluation
from inventory_assets.optimization.reasons import REASON_CODES, reason_codes

PLAN_COLUMNS: tuple[str, ...] = tuple(PROCUREMENT_PLAN.column_names)
"""Columns of the plan frame, in order (``contract.spec.PROCUREMENT_PLAN``; docs/model.md)."""

TOP_ORDERS = 10


def _stockout_risk(data: PlanData, position: np.ndarray) -> np.ndarray:
    """`stockout_risk` of the plan's rows at ``position``: their distributions as `PlanData` holds them
    (the features' method as codes, demand over the protection interval), by the plan's threads."""
    return exceedance_probability(data.demand_method, data.demand_mean, data.demand_std, position, threads=data.threads)


def extract_plan(data: PlanData, ev: PlanEvaluation) -> pd.DataFrame:
    """The plan frame: one row per (product, location), sorted by key, fresh RangeIndex."""
    frame = data.frame
    x = ev.x
    purchase = data.is_root
    source = frame["parent_location_id"].astype("str").where(~purchase, None)
    plan = pd.DataFrame(
        {
            "product_id": frame["product_id"].astype("str"),
            "location_id": frame["location_id"].astype("str"),
            "source_location_id": source,
            "echelon": data.level.astype(np.int64),
            "abc_class": frame["abc_class"].astype("str"),
            "is_critical": data.critical,
            "is_perishable": data.perishable,
            "order_qty": x,
            "order_value": np.where(purchase, x * data.unit_cost, 0.0),
            "unit_cost": data.unit_cost,
            "order_multiple": data.order_multiple,
            "min_order_qty": data.min_order_qty,
            "on_hand": data.on_hand,
            "on_order": data.on_order,
            "transfers_out": ev.pulls,
            "capacity_units": data.capacity[data.loc],
            "position_before": data.base,
            "position_after": ev.position,
            "order_up_to": data.target,
            "safety_stock": data.safety,
            "stockout_risk_before": _stockout_risk(data, data.base),
            "stockout_risk_after": _stockout_risk(data, ev.position),
            "expected_shortfall_after": ev.lost_units,
            "expected_waste_after": ev.expiring_units,
            "holding_cost": ev.holding,
            "shortfall_cost": ev.lost_cost,
            "waste_cost": ev.expiry_cost,
            "reason_code": pd.Series(reason_codes(data, ev), dtype="str"),
        }
    )
    plan["capacity_units"] = plan["capacity_units"].replace(np.inf, np.nan)
    return plan


@dataclass(frozen=True)
class PlanSummary:
    """Run figures of one plan (numbers, so the UI can plot them across runs)."""

    status: str
    """``optimal`` or ``feasible_<limit>`` (accepted at a time/iteration limit)."""
    is_optimal: bool
    engine: str
    """``pyomo`` (Pyomo model + standard-form compiler) or ``matrix`` (direct numpy)."""
    solver: str
    """HiGHS method: ``mip``, ``simplex`` or ``ipm``."""
    relaxed: bool
    """True: LP relaxation rounded to packs/MOQs (`relax_integrality`)."""
    objective_name: str
    """``expected_cost`` or ``target_gap``: what the plan minimised."""
    objective: float
    """The minimised objective at the returned plan, evaluated exactly, $."""
    expected_cost: float
    """Expected holding + lost sales + expiry of the returned plan (= holding_cost + shortfall_cost +
    waste_cost), whichever objective was minimised, $."""
    holding_cost: float
    shortfall_cost: float
    """Expected lost sales x stockout_cost, every row (a supplying row: its echelon's), $."""
    waste_cost: float
    expected_lost_units: float
    """Expected lost sales of the customer-facing rows (locations that supply no other), units."""
    expected_fill_rate: float
    """1 - expected lost / expected demand of the customer-facing rows."""
    critical_unreachable: int
    """Critical rows no plan can bring to safety stock (reason ``critical_unreachable``)."""
    pwl_max_error: float
    """Largest chord error of the piecewise-linear expected cost at a segment midpoint, $ (0 for target_gap)."""
    solver_objective: float
    """HiGHS's objective (for a relaxed run: the LP bound before rounding)."""
    rounding_gap: float
    """(objective - LP bound) / |objective| for relaxed runs, 0 otherwise."""
    mip_gap: float
    """HiGHS's relative MIP gap (0 for an optimal LP; nan if unknown)."""
    spend: float
    budget: float
    budget_shadow_price: float
    """Cost saved per extra $ of budget (>= 0); MIP: LP with order/no-order decisions fixed."""
    n_rows: int
    n_variables: int
    n_constraints: int
    n_integer: int
    n_nonzeros: int
    build_seconds: float
    solve_seconds: float
    """HiGHS time, including (MIP) the warm-start LP and the shadow-price LP."""
    extract_seconds: float
    n_orders: int
    n_purchases: int
    n_transfers: int
    units_ordered: float
    mip_start_objective: float = float("nan")
    """Cost of the rounded LP plan handed to HiGHS as the MIP's first incumbent (nan: none)."""
    reason_counts: dict[str, int] = field(default_factory=dict)
    top_orders: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    @property
    def total_seconds(self) -> float:
        return self.build_seconds + self.solve_seconds + self.extract_seconds

    def to_dict(self) -> dict:
        """Plain dict: numbers and strings, ``reason_counts`` flattened to ``reason_<code>``,
        ``top_orders`` as markdown under ``top_orders_markdown``."""
        out = {k: v for k, v in asdict(self).items() if k not in ("reason_counts", "top_orders")}
        out["total_seconds"] = self.total_seconds
        for code in REASON_CODES:
            out[f"reason_{code}"] = int(self.reason_counts.get(code, 0))
        out["top_orders_markdown"] = self.top_orders.to_markdown(index=False) if len(self.top_orders) else ""
        return out


def top_orders(plan: pd.DataFrame, k: int = TOP_ORDERS) -> pd.DataFrame:
    """The k largest orders by value (purchases) then quantity (transfers)."""
    orders = plan[plan["order_qty"] > 0]
    cols = ["product_id", "location_id", "source_location_id", "order_qty", "order_value", "reason_code"]
    top = orders.sort_values(["order_value", "order_qty"], ascending=False).head(k)[cols].reset_index(drop=True)
    top["source_location_id"] = (
        top["source_location_id"].astype(object).where(top["source_location_id"].notna(), "supplier")
    )
    return top


def summarize(
    data: PlanData,
    ev: PlanEvaluation,
    plan: pd.DataFrame,
    **figures,
) -> PlanSummary:
    """Build the `PlanSummary` from the evaluated plan and the solve figures."""
    counts = Counter(plan["reason_code"].tolist())
    ordered = ev.x > 0
    facing = ~data.has_children
    demand = float(data.demand_mean[facing].sum())
    lost = float(ev.lost_units[facing].sum())
    return PlanSummary(
        objective_name=data.objective,
        objective=ev.objective,
        expected_cost=ev.expected_cost,
        holding_cost=float(ev.holding.sum()),
        shortfall_cost=float(ev.lost_cost.sum()),
        waste_cost=float(ev.expiry_cost.sum()),
        expected_lost_units=lost,
        expected_fill_rate=1.0 - lost / demand if demand > 0 else 1.0,
        critical_unreachable=int(data.critical_exempt.sum()),
        spend=ev.spend,
        budget=data.budget,
        n_rows=data.n,
        n_orders=int(ordered.sum()),
        n_purchases=int((ordered & data.is_root).sum()),
        n_transfers=int((ordered & ~data.is_root).sum()),
        units_ordered=float(ev.x.sum()),
        reason_counts={code: int(counts.get(code, 0)) for code in REASON_CODES},
        top_orders=top_orders(plan),
        **figures,
    )
