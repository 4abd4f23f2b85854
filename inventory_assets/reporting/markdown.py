"""Markdown tables, number formats and order lists for metadata and reports (pure pandas; shared by the
core, the Dagster shell and the terminal summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREVIEW_ROWS = 10
TOP_ORDERS = 10

ORDER_COLUMNS = (
    "product_id",
    "location_id",
    "source",
    "order_qty",
    "packs",
    "unit_cost",
    "value",
    "risk_before",
    "risk_after",
    "reason_code",
)
"""Columns of :func:`largest_orders` (``value``: order value for purchases, quantity x unit cost for
transfers, which spend no budget)."""


def money(value: float) -> str:
    """``$12,345`` (whole dollars, thousands separators; ``-$5`` below zero)."""
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    return f"-${-value:,.0f}" if value < -0.5 else f"${value:,.0f}"


def units(value: float) -> str:
    """``12,345`` units (one decimal below 10, none above)."""
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    return f"{value:,.1f}" if abs(value) < 10 else f"{value:,.0f}"


def percent(share: float) -> str:
    """``93.4 %`` for 0.934."""
    share = float(share)
    return f"{100 * share:.1f} %" if np.isfinite(share) else "n/a"


def largest_orders(plan: pd.DataFrame, kind: str, k: int = TOP_ORDERS) -> pd.DataFrame:
    """The ``k`` largest purchases (``kind="purchase"``: rows bought from the supplier, by order value)
    or transfers (``kind="transfer"``: rows moved from a parent location, by quantity x unit cost) of a
    plan frame (the ``procurement_plan`` columns), with :data:`ORDER_COLUMNS`."""
    if kind not in ("purchase", "transfer"):
        raise ValueError(f"kind must be 'purchase' or 'transfer', not {kind!r}")
    source = plan["source_location_id"]
    is_transfer = source.notna() & (source.astype(str) != "")
    rows = plan[(plan["order_qty"] > 0) & (is_transfer if kind == "transfer" else ~is_transfer)]
    qty = rows["order_qty"].astype(float)
    multiple = rows["order_multiple"].astype(float).where(rows["order_multiple"].astype(float) > 0, 1.0)
    value = rows["order_value"].astype(float) if kind == "purchase" else qty * rows["unit_cost"].astype(float)
    frame = pd.DataFrame(
        {
            "product_id": rows["product_id"].astype(str),
            "location_id": rows["location_id"].astype(str),
            "source": rows["source_location_id"].astype(str) if kind == "transfer" else "supplier",
            "order_qty": qty,
            "packs": qty / multiple,
            "unit_cost": rows["unit_cost"].astype(float),
            "value": value,
            "risk_before": rows["stockout_risk_before"].astype(float),
            "risk_after": rows["stockout_risk_after"].astype(float),
            "reason_code": rows["reason_code"].astype(str),
        },
        columns=list(ORDER_COLUMNS),
    )
    frame = frame.sort_values(["value", "order_qty", "product_id", "location_id"], ascending=[False, False, True, True])
    # rounded for people: cents, and risks to a tenth of a percent
    return (
        frame.head(k)
        .round({"packs": 2, "unit_cost": 2, "value": 2, "risk_before": 3, "risk_after": 3})
        .reset_index(drop=True)
    )


def markdown_table(frame: pd.DataFrame, rows: int = PREVIEW_ROWS, floatfmt: str = ".4g") -> str:
    """A markdown table of the first ``rows`` rows (no extra dependency: pandas' own renderer is not used)."""
    if frame.empty:
        return "_(no rows)_"
    head = frame.head(rows)
    columns = [str(c) for c in head.columns]

    def cell(value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, (float, np.floating)):
            return format(value, floatfmt)
        if isinstance(value, pd.Timestamp):
            return str(value.date()) if value == value.normalize() else str(value)
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)]
    if len(frame) > rows:
        lines.append(f"\n_{rows} of {len(frame):,} rows shown_")
    return "\n".join(lines)


def pareto_markdown(pareto: pd.DataFrame, a_cutoff: float, b_cutoff: float, width: int = 40) -> str:
    """The Pareto curve (``analytics.features.pareto_table``) as a markdown table with a text bar per point,
    and the ABC cut-offs."""
    bars = ["█" * int(round(width * v / 100.0)) for v in pareto["cumulative_value_pct"]]
    shown = pd.DataFrame(
        {
            "top % of products": [f"{p:g} %" for p in pareto["top_products_pct"]],
            "products": pareto["products"],
            "cumulative % of value": [f"{v:.1f} %" for v in pareto["cumulative_value_pct"]],
            "class": pareto["class_of_last"],
            "": bars,
        }
    )
    head = (
        f"Pareto of annual consumption value (A up to {a_cutoff:.0%}, B up to {b_cutoff:.0%} of cumulative value)\n\n"
    )
    return head + markdown_table(shown, rows=len(shown), floatfmt=",.2f")
