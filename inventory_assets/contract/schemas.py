"""Pandera schemas of the source frames, generated from ``inventory_assets.contract.spec``.

They validate what the sources return and coerce it to the types of ``docs/frames.md`` (dates as strings
become dates, NUMERIC/DECIMAL values become floats, nullable integers keep their NULLs as NaN). The
schemas are pure pandera and are run lazily by ``inventory_assets.contract.validation`` so that one report
lists every failure. The explicit checks that compare rows or columns (an empty table, a receipt received
before it was ordered, a location network with a cycle, ...) live beside them in ``validation.py``.
"""

from __future__ import annotations

import pandera.pandas as pa

from inventory_assets.contract import spec
from inventory_assets.contract.classes import finite, whole_number

__all__ = [
    "SalesSchema",
    "InventorySchema",
    "CostsSchema",
    "LocationsSchema",
    "ReceiptsSchema",
    "SOURCE_SCHEMAS",
    "finite",
    "whole_number",
]

SalesSchema: pa.DataFrameSchema = spec.SALES.to_pandera()
InventorySchema: pa.DataFrameSchema = spec.INVENTORY.to_pandera()
CostsSchema: pa.DataFrameSchema = spec.COSTS.to_pandera()
LocationsSchema: pa.DataFrameSchema = spec.LOCATIONS.to_pandera()
ReceiptsSchema: pa.DataFrameSchema = spec.RECEIPTS.to_pandera()

SOURCE_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "sales": SalesSchema,
    "inventory": InventorySchema,
    "costs": CostsSchema,
    "locations": LocationsSchema,
    "receipts": ReceiptsSchema,
}
