"""Pandera schemas of the source frames, one ``DataFrameModel`` per table, every field described.

They validate what the sources return and coerce it to the types of ``docs/frames.md`` (dates as strings
become dates, NUMERIC/DECIMAL values become floats, nullable integers keep their NULLs as NaN). The
schemas are pure pandera and are run lazily by ``inventory_assets.contract.validation`` so that one report lists
every failure. The explicit checks that compare rows or columns (an empty table, a receipt received
before it was ordered, a location network with a cycle, ...) live beside them in ``validation.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing import Series


@extensions.register_check_method(statistics=["enabled"], check_type="vectorized")
def finite(series: pd.Series, *, enabled: bool = True) -> pd.Series:
    """Every value is a finite number: no +/-inf (NaN passes here; nullability is checked on its own)."""
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    return pd.Series(~np.isinf(values) | (not enabled), index=series.index)


@extensions.register_check_method(statistics=["enabled"], check_type="vectorized")
def whole_number(series: pd.Series, *, enabled: bool = True) -> pd.Series:
    """Every value is a whole number (NaN passes)."""
    values = series.astype("float64")
    return values.isna() | (np.floor(values) == values) | (not enabled)


class _Source(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = "filter"  # extra columns of a user's query are dropped, not an error


class SalesSchema(_Source):
    """Daily demand per (day, product, location), aggregated from `sales` inside the database."""

    sale_date: Series[pa.DateTime] = pa.Field(description="Day of the sales (midnight).")
    product_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Product sold.")
    location_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Selling location.")
    quantity: Series[float] = pa.Field(
        ge=0, finite=True, description="Units sold that day (sum of the day's sale lines)."
    )
    sale_lines: Series[int] = pa.Field(ge=1, description="Number of sale lines summed into `quantity`.")
    min_line_quantity: Series[float] = pa.Field(
        ge=0, finite=True, description="Smallest single line quantity of the day (a negative line fails)."
    )
    null_quantity_lines: Series[int] = pa.Field(
        eq=0, description="Sale lines of the day whose quantity is NULL (must be none)."
    )
    # No uniqueness check on (sale_date, product_id, location_id): the frame is the GROUP BY of exactly
    # that key in the database (queries.sales_statement), so it cannot repeat, and checking 9 million
    # rows again took 5 s at the large preset.


class InventorySchema(_Source):
    """Stock per stocked (product, location) on the snapshot day."""

    product_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Stocked product.")
    location_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Stocking location.")
    on_hand: Series[float] = pa.Field(ge=0, finite=True, description="Units on hand (>= 0).")
    on_order: Series[float] = pa.Field(
        ge=0, nullable=True, finite=True, description="Units on open orders due within the lead time; NULL = 0."
    )
    as_of: Series[pa.DateTime] = pa.Field(description="Snapshot day.")

    class Config:
        unique = ["product_id", "location_id"]


class CostsSchema(_Source):
    """Costs and ordering rules per product."""

    product_id: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True, description="Product.")
    unit_cost: Series[float] = pa.Field(gt=0, finite=True, description="Purchase price per unit (> 0).")
    holding_cost_rate: Series[float] = pa.Field(
        ge=0, finite=True, description="Annual holding cost as a fraction of unit cost (>= 0)."
    )
    stockout_cost: Series[float] = pa.Field(
        ge=0, finite=True, description="Penalty per unit of demand not covered (>= 0)."
    )
    waste_cost: Series[float] = pa.Field(ge=0, finite=True, description="Loss per unit that expires (>= 0).")
    shelf_life_days: Series[float] = pa.Field(
        gt=0, nullable=True, finite=True, whole_number=True, description="Days a unit keeps; NULL = not perishable."
    )
    min_order_qty: Series[float] = pa.Field(
        ge=0, nullable=True, finite=True, description="Minimum order quantity; NULL = 0."
    )
    order_multiple: Series[float] = pa.Field(
        gt=0, nullable=True, finite=True, description="Case pack: orders are whole multiples; NULL = 1."
    )


class LocationsSchema(_Source):
    """The location network: DCs buy from suppliers, children are replenished by their parent."""

    location_id: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True, description="Location.")
    name: Series[str] = pa.Field(nullable=True, description="Display name.")
    echelon: Series[int] = pa.Field(ge=0, description="0 for the top level; a child's = its parent's + 1.")
    parent_location_id: Series[str] = pa.Field(
        nullable=True, description="Replenishing location; NULL = buys from external suppliers."
    )
    capacity_units: Series[float] = pa.Field(
        ge=0, nullable=True, finite=True, description="Most units held after replenishment; NULL = unlimited."
    )


class ReceiptsSchema(_Source):
    """Purchase and transfer receipts, the source of lead-time statistics."""

    product_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Received product.")
    location_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="Receiving location.")
    ordered_at: Series[pa.DateTime] = pa.Field(description="Day the order was placed.")
    received_at: Series[pa.DateTime] = pa.Field(
        description="Day it was received (>= ordered_at; checked in validation.py)."
    )
    quantity: Series[float] = pa.Field(gt=0, finite=True, description="Units received (> 0).")


SOURCE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "sales": SalesSchema,
    "inventory": InventorySchema,
    "costs": CostsSchema,
    "locations": LocationsSchema,
    "receipts": ReceiptsSchema,
}
