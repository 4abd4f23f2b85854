"""The `procurement_plan` frame: its Pandera schema and the hard rules it must satisfy.

* `ProcurementPlanSchema`: generated from ``spec.PROCUREMENT_PLAN``; one row per stocked (product,
  location), every column described; types, ranges and row-level consistency (order value = quantity x
  unit cost for purchases).
* The hard rules, each stated once as a vectorised predicate (`negative_quantity`, `off_pack`,
  `below_min_order`, `over_budget`, `over_stock`, `below_safety_stock`, `over_capacity`): the optimizer's
  check of its own solution (``optimization.evaluate.hard_violations``) and `plan_violations` both use them.
* `plan_violations(plan, params)`: a pure function returning every row of the plan frame that breaks a
  hard rule (quantities >= 0, whole packs and MOQs, spend <= budget, transfers <= the parent's on hand,
  critical items at or above safety stock, capacity, position balance). The Dagster wiring turns each
  `VIOLATION_CHECKS` entry into a blocking asset check; an empty result means the plan is sound.

Neither imports Dagster. Column meanings are documented in docs/model.md.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa

from inventory_assets.contract import spec

__all__ = [
    "ProcurementPlanSchema",
    "VIOLATION_CHECKS",
    "VIOLATION_COLUMNS",
    "QTY_TOL",
    "REL_TOL",
    "PlanRules",
    "tolerance",
    "ordered",
    "negative_quantity",
    "off_pack",
    "below_min_order",
    "over_budget",
    "over_stock",
    "below_safety_stock",
    "over_capacity",
    "plan_violations",
]

ProcurementPlanSchema: pa.DataFrameSchema = spec.PROCUREMENT_PLAN.to_pandera()

VIOLATION_CHECKS: tuple[str, ...] = (
    "order_qty_non_negative",
    "pack_multiple",
    "min_order_qty",
    "budget",
    "parent_stock",
    "critical_safety_stock",
    "capacity",
    "position_balance",
)
"""Names of the hard rules `plan_violations` checks (one blocking asset check each)."""

VIOLATION_COLUMNS: tuple[str, ...] = ("check", "product_id", "location_id", "value", "limit", "detail")

QTY_TOL = 1e-6
"""Quantities at or below this many units are treated as zero (solver noise)."""
REL_TOL = 1e-9
"""Relative slack of a limit (float noise)."""
PACK_TOL = 1e-6
"""Slack of "a whole number of packs"."""


class PlanRules(Protocol):
    """The run parameters the hard rules read (``optimization.params.PlanParameters`` has them)."""

    @property
    def budget(self) -> float: ...

    @property
    def critical_classes(self) -> tuple[str, ...]: ...


# --- the hard rules, each once --------------------------------------------------------------------------


def tolerance(scale: np.ndarray | float) -> np.ndarray | float:
    """The slack allowed on a limit of size ``scale``."""
    return QTY_TOL + REL_TOL * np.abs(scale)


def ordered(qty: np.ndarray) -> np.ndarray:
    """Rows that order something (a finite quantity above the noise)."""
    return np.isfinite(qty) & (qty > QTY_TOL)


def negative_quantity(qty: np.ndarray) -> np.ndarray:
    """An order quantity that is not a number >= 0."""
    return ~np.isfinite(qty) | (qty < -QTY_TOL)


def off_pack(qty: np.ndarray, order_multiple: np.ndarray) -> np.ndarray:
    """An order that is not a whole number of packs."""
    with np.errstate(divide="ignore", invalid="ignore"):
        packs = qty / order_multiple
    return ordered(qty) & ~(np.abs(packs - np.round(packs)) <= PACK_TOL)


def below_min_order(qty: np.ndarray, min_order_qty: np.ndarray) -> np.ndarray:
    """An order above zero and below the minimum order quantity."""
    return ordered(qty) & (qty < min_order_qty - tolerance(min_order_qty))


def over_budget(spend: float, budget: float) -> bool:
    """Purchases cost more than the budget."""
    return bool(spend > budget + 1e-6 * max(1.0, budget))


def over_stock(pulled: np.ndarray, on_hand: np.ndarray) -> np.ndarray:
    """Children pull more from a parent than it has on hand."""
    return pulled > on_hand + tolerance(on_hand)


def below_safety_stock(critical: np.ndarray, position_after: np.ndarray, safety_stock: np.ndarray) -> np.ndarray:
    """A critical item ends below its safety stock."""
    return critical & ~(position_after >= safety_stock - tolerance(safety_stock))


def over_capacity(
    over_today: np.ndarray, inbound: np.ndarray, position_after: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Per location: one already over capacity receives stock, or the positions after exceed the capacity."""
    return np.where(over_today, inbound > QTY_TOL, position_after > capacity + tolerance(capacity))


# --- the plan frame's breaches ----------------------------------------------------------------------------


def _rows(check: str, frame: pd.DataFrame, value: object, limit: object, detail: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "check": check,
            "product_id": frame["product_id"].astype(object).to_numpy() if "product_id" in frame else None,
            "location_id": frame["location_id"].astype(object).to_numpy() if "location_id" in frame else None,
            "value": np.asarray(value, dtype=float),
            "limit": np.asarray(limit, dtype=float),
            "detail": detail,
        }
    )


def plan_violations(plan: pd.DataFrame, params: PlanRules) -> pd.DataFrame:
    """Every breach of a hard rule of the plan, one row each (empty frame: the plan is sound).

    Columns: ``check`` (one of `VIOLATION_CHECKS`), ``product_id``, ``location_id`` (None for
    plan-wide rules), ``value`` (what the plan has), ``limit`` (what the rule allows), ``detail``.
    Reads only the plan's own columns and the run parameters (budget, critical classes).
    """
    qty = plan["order_qty"].to_numpy(dtype=float)
    mult = plan["order_multiple"].to_numpy(dtype=float)
    moq = plan["min_order_qty"].to_numpy(dtype=float)
    found: list[pd.DataFrame] = []

    bad = negative_quantity(qty)
    found.append(_rows("order_qty_non_negative", plan[bad], qty[bad], 0.0, "order_qty must be a number >= 0"))

    bad = off_pack(qty, mult)
    found.append(
        _rows("pack_multiple", plan[bad], qty[bad], mult[bad], "order_qty is not a whole number of order_multiple")
    )

    bad = below_min_order(qty, moq)
    found.append(_rows("min_order_qty", plan[bad], qty[bad], moq[bad], "0 < order_qty < min_order_qty"))

    purchase = plan["source_location_id"].isna().to_numpy()
    spend = float(np.nansum(qty[purchase] * plan["unit_cost"].to_numpy(dtype=float)[purchase]))
    if over_budget(spend, params.budget):
        found.append(
            pd.DataFrame(
                {
                    "check": ["budget"],
                    "product_id": [None],
                    "location_id": [None],
                    "value": [spend],
                    "limit": [params.budget],
                    "detail": ["purchase value exceeds the budget"],
                }
            )
        )

    # transfers out of each parent row vs its on hand
    transfers = plan.loc[~purchase & ordered(qty), ["product_id", "source_location_id", "order_qty"]]
    pulled = transfers.groupby(["product_id", "source_location_id"], as_index=False, sort=False)["order_qty"].sum()
    pulled = pulled.rename(columns={"source_location_id": "location_id", "order_qty": "pulled"})
    stock = plan[["product_id", "location_id", "on_hand"]]
    joined = pulled.merge(stock, on=["product_id", "location_id"], how="left")
    on_hand = joined["on_hand"].fillna(0.0).to_numpy(dtype=float)
    bad = over_stock(joined["pulled"].to_numpy(dtype=float), on_hand)
    found.append(
        _rows(
            "parent_stock",
            joined[bad],
            joined["pulled"][bad],
            on_hand[bad],
            "children pull more than the parent location has on hand (or it does not stock the product)",
        )
    )

    # a critical row the plan could not reach (nothing to transfer, capacity full) is reported with
    # reason ``critical_unreachable`` instead of making the whole plan infeasible (docs/model.md)
    reachable = plan["reason_code"].astype(object).to_numpy() != "critical_unreachable"
    critical = plan["abc_class"].astype(object).isin(list(params.critical_classes)).to_numpy() & reachable
    after = plan["position_after"].to_numpy(dtype=float)
    safety = plan["safety_stock"].to_numpy(dtype=float)
    bad = below_safety_stock(critical, after, safety)
    found.append(
        _rows("critical_safety_stock", plan[bad], after[bad], safety[bad], "critical item ends below its safety stock")
    )

    cap = plan.groupby("location_id", sort=True).agg(
        capacity=("capacity_units", "max"),
        before=("position_before", "sum"),
        after=("position_after", "sum"),
        inbound=("order_qty", "sum"),
    )
    cap = cap[cap["capacity"].notna()]
    over_today = (cap["before"] > cap["capacity"]).to_numpy()
    breach = over_capacity(
        over_today,
        cap["inbound"].to_numpy(dtype=float),
        cap["after"].to_numpy(dtype=float),
        cap["capacity"].to_numpy(dtype=float),
    )
    bad_over = breach & over_today
    bad_fit = breach & ~over_today
    for mask, what, detail in (
        (bad_over, "inbound", "location already over capacity receives stock"),
        (bad_fit, "after", "positions after the plan exceed the location capacity"),
    ):
        sub = cap[mask].reset_index()
        found.append(
            pd.DataFrame(
                {
                    "check": "capacity",
                    "product_id": None,
                    "location_id": sub["location_id"],
                    "value": sub[what].astype(float),
                    "limit": sub["capacity"].astype(float),
                    "detail": detail,
                }
            )
        )

    # position balance: after = before + qty - transfers_out, transfers_out = children's pulls
    pulled_by = pulled.set_index(["product_id", "location_id"])["pulled"]
    key = pd.MultiIndex.from_frame(plan[["product_id", "location_id"]])
    children_pull = pulled_by.reindex(key).fillna(0.0).to_numpy(dtype=float)
    before = plan["position_before"].to_numpy(dtype=float)
    out = plan["transfers_out"].to_numpy(dtype=float)
    expected = before + qty - children_pull
    scale = QTY_TOL + REL_TOL * np.abs(before)
    bad = (np.abs(after - expected) > scale * 10) | (np.abs(out - children_pull) > scale * 10)
    found.append(
        _rows(
            "position_balance",
            plan[bad],
            after[bad],
            expected[bad],
            "position_after != position_before + order_qty - children's transfers",
        )
    )

    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in ("check", "product_id", "location_id", "detail") else float)
                for c in VIOLATION_COLUMNS
            }
        )
    return pd.concat(found, ignore_index=True)[list(VIOLATION_COLUMNS)]
