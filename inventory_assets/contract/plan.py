"""The `procurement_plan` frame: its Pandera schema and the business rules it must satisfy.

* `ProcurementPlanSchema`: one row per stocked (product, location), every column described;
  types, ranges and row-level consistency (order value = quantity x unit cost for purchases).
* `plan_violations(plan, params)`: a pure function returning every row that breaks a hard
  rule of the plan (quantities >= 0, whole packs and MOQs, spend <= budget, transfers <=
  the parent's on hand, critical items at or above safety stock, capacity, position
  balance).  The Dagster wiring turns each `VIOLATION_CHECKS` entry into a blocking asset
  check; an empty result means the plan is sound.

Neither imports Dagster.  Column meanings are documented in docs/model.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.reasons import REASON_CODES

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

_QTY_TOL = 1e-6
_REL_TOL = 1e-9


class ProcurementPlanSchema(pa.DataFrameModel):
    """The recommended inbound of one cycle per (product, location), with its explanation."""

    product_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Product.")
    location_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Receiving location.")
    source_location_id: Series[str] = pa.Field(
        nullable=True,
        description="Where the units come from: null = bought from the supplier (spends budget); "
        "else transferred from this parent location (free, limited by its on-hand stock).",
    )
    echelon: Series[int] = pa.Field(ge=0, description="Level of the location in the network (0 = top).")
    abc_class: Series[str] = pa.Field(description="ABC class of the product (from abc_risk_features).")
    is_critical: Series[bool] = pa.Field(
        description="ABC class is one of the run's critical classes: position after >= safety stock is hard."
    )
    is_perishable: Series[bool] = pa.Field(description="The product has a shelf life (waste is penalised).")
    order_qty: Series[float] = pa.Field(
        ge=0, description="Units to receive this cycle: whole order multiples, 0 or >= min_order_qty."
    )
    order_value: Series[float] = pa.Field(
        ge=0, description="order_qty x unit_cost for purchases; 0 for transfers (currency units)."
    )
    unit_cost: Series[float] = pa.Field(gt=0, description="Purchase price per unit.")
    order_multiple: Series[float] = pa.Field(gt=0, description="Case pack: order_qty is a whole number of these.")
    min_order_qty: Series[float] = pa.Field(ge=0, description="Minimum order quantity when ordering at all.")
    on_hand: Series[float] = pa.Field(ge=0, description="Units on hand before the plan.")
    on_order: Series[float] = pa.Field(ge=0, description="Units on open orders before the plan (NULL read as 0).")
    transfers_out: Series[float] = pa.Field(
        ge=0, description="Units this location's children pull from it in this plan (<= on_hand)."
    )
    capacity_units: Series[float] = pa.Field(
        ge=0, nullable=True, description="Capacity of the location (all products), NaN = unlimited."
    )
    position_before: Series[float] = pa.Field(ge=0, description="on_hand + on_order before the plan.")
    position_after: Series[float] = pa.Field(
        ge=0, description="position_before + order_qty - transfers_out: the position the plan leaves."
    )
    order_up_to: Series[float] = pa.Field(ge=0, description="Target position (order-up-to level) from the features.")
    safety_stock: Series[float] = pa.Field(ge=0, description="Safety stock from the features.")
    stockout_risk_before: Series[float] = pa.Field(
        in_range={"min_value": 0.0, "max_value": 1.0},
        description="P(demand over the protection period > position_before).",
    )
    stockout_risk_after: Series[float] = pa.Field(
        in_range={"min_value": 0.0, "max_value": 1.0},
        description="P(demand over the protection period > position_after).",
    )
    expected_shortfall_after: Series[float] = pa.Field(
        ge=0, description="Units below order_up_to after the plan: max(0, order_up_to - position_after)."
    )
    expected_waste_after: Series[float] = pa.Field(
        ge=0,
        description="Perishables: units beyond what sells within the shelf life, "
        "max(0, position_after - echelon_demand_mean x shelf_life_days); 0 otherwise.",
    )
    holding_cost: Series[float] = pa.Field(
        ge=0, description="unit_cost x holding_cost_rate / 365 x review days x position_after."
    )
    shortfall_cost: Series[float] = pa.Field(ge=0, description="stockout_cost x expected_shortfall_after.")
    waste_cost: Series[float] = pa.Field(ge=0, description="waste_cost x expected_waste_after.")
    reason_code: Series[str] = pa.Field(
        isin=list(REASON_CODES), description="Why the row got its quantity (docs/model.md, 'Reason codes')."
    )

    class Config:
        coerce = True
        strict = False  # the writer adds run_id / planned_at
        unique = ["product_id", "location_id"]

    @pa.dataframe_check(description="Every number is finite (capacity_units may be NaN = unlimited).")
    @classmethod
    def numbers_finite(cls, df: pd.DataFrame) -> pd.Series:
        numbers = df.select_dtypes("number").drop(columns=["capacity_units"], errors="ignore")
        return pd.Series(np.isfinite(numbers.to_numpy(dtype=float)).all(axis=1), index=df.index)

    @pa.dataframe_check(description="order_value = order_qty x unit_cost for purchases, 0 for transfers.")
    @classmethod
    def order_value_consistent(cls, df: pd.DataFrame) -> pd.Series:
        purchase = df["source_location_id"].isna()
        expected = np.where(purchase, df["order_qty"] * df["unit_cost"], 0.0)
        return pd.Series(np.isclose(df["order_value"], expected, rtol=1e-9, atol=1e-6), index=df.index)


def _rows(check: str, frame: pd.DataFrame, value, limit, detail: str) -> pd.DataFrame:
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


def plan_violations(plan: pd.DataFrame, params: PlanParameters) -> pd.DataFrame:
    """Every breach of a hard rule of the plan, one row each (empty frame: the plan is sound).

    Columns: ``check`` (one of `VIOLATION_CHECKS`), ``product_id``, ``location_id`` (None for
    plan-wide rules), ``value`` (what the plan has), ``limit`` (what the rule allows), ``detail``.
    Reads only the plan's own columns and the run parameters (budget, critical classes).
    """
    qty = plan["order_qty"].to_numpy(dtype=float)
    mult = plan["order_multiple"].to_numpy(dtype=float)
    moq = plan["min_order_qty"].to_numpy(dtype=float)
    found: list[pd.DataFrame] = []

    bad = ~np.isfinite(qty) | (qty < -_QTY_TOL)
    found.append(_rows("order_qty_non_negative", plan[bad], qty[bad], 0.0, "order_qty must be a number >= 0"))

    ordered = np.isfinite(qty) & (qty > _QTY_TOL)
    with np.errstate(divide="ignore", invalid="ignore"):
        packs = qty / mult
    bad = ordered & ~(np.abs(packs - np.round(packs)) <= 1e-6)
    found.append(
        _rows("pack_multiple", plan[bad], qty[bad], mult[bad], "order_qty is not a whole number of order_multiple")
    )

    bad = ordered & (qty < moq - (_QTY_TOL + _REL_TOL * moq))
    found.append(_rows("min_order_qty", plan[bad], qty[bad], moq[bad], "0 < order_qty < min_order_qty"))

    purchase = plan["source_location_id"].isna().to_numpy()
    spend = float(np.nansum(qty[purchase] * plan["unit_cost"].to_numpy(dtype=float)[purchase]))
    if spend > params.budget + 1e-6 * max(1.0, params.budget):
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
    transfers = plan.loc[~purchase & ordered, ["product_id", "source_location_id", "order_qty"]]
    pulled = transfers.groupby(["product_id", "source_location_id"], as_index=False, sort=False)["order_qty"].sum()
    pulled = pulled.rename(columns={"source_location_id": "location_id", "order_qty": "pulled"})
    stock = plan[["product_id", "location_id", "on_hand"]]
    joined = pulled.merge(stock, on=["product_id", "location_id"], how="left")
    on_hand = joined["on_hand"].fillna(0.0).to_numpy(dtype=float)
    bad = joined["pulled"].to_numpy(dtype=float) > on_hand + _QTY_TOL + _REL_TOL * on_hand
    found.append(
        _rows(
            "parent_stock",
            joined[bad],
            joined["pulled"][bad],
            on_hand[bad],
            "children pull more than the parent location has on hand (or it does not stock the product)",
        )
    )

    critical = plan["abc_class"].astype(object).isin(list(params.critical_classes)).to_numpy()
    after = plan["position_after"].to_numpy(dtype=float)
    safety = plan["safety_stock"].to_numpy(dtype=float)
    bad = critical & ~(after >= safety - (_QTY_TOL + _REL_TOL * safety))
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
    over_today = cap["before"] > cap["capacity"]
    bad_over = over_today & (cap["inbound"] > _QTY_TOL)
    bad_fit = ~over_today & (cap["after"] > cap["capacity"] + _QTY_TOL + _REL_TOL * cap["capacity"])
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
    scale = _QTY_TOL + _REL_TOL * np.abs(before)
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
