"""Cross-table checks of the sources: ids that must exist in another table.

Unknown products or locations in ``inventory`` are an error (blocking); in ``sales`` and ``receipts`` a
warning with their count, and those rows are left out downstream.
"""

import dagster as dg
import pandas as pd

from inventory_assets.contract.sales import SalesFrame
from inventory_assets.contract.validation import ValidationResult, unknown_references
from inventory_assets.defs import constants
from inventory_assets.defs.metadata import validation_check_result

_REFERENCE_INS = {"costs": dg.AssetIn("costs"), "locations": dg.AssetIn("locations")}


def _references(table: str, frame: pd.DataFrame, costs: pd.DataFrame, locations: pd.DataFrame) -> ValidationResult:
    known_products = costs["product_id"] if "product_id" in costs else pd.Series(dtype=str)
    known_locations = locations["location_id"] if "location_id" in locations else pd.Series(dtype=str)
    failures = pd.concat(
        [
            unknown_references(table, frame, "product_id", known_products, check="unknown_product"),
            unknown_references(table, frame, "location_id", known_locations, check="unknown_location"),
        ],
        ignore_index=True,
    )
    return ValidationResult(table=table, frame=frame, failures=failures)


@dg.asset_check(
    asset="inventory",
    additional_ins=_REFERENCE_INS,
    blocking=True,
    name=constants.INVENTORY_REFERENCES_CHECK,
    description="Every inventory row names a product in `costs` and a location in `locations` (error).",
)
def inventory_references_known(
    inventory: pd.DataFrame, costs: pd.DataFrame, locations: pd.DataFrame
) -> dg.AssetCheckResult:
    """Inventory rows whose product or location is unknown fail the check, each one listed."""
    return validation_check_result(
        _references("inventory", inventory, costs, locations), check_name=constants.INVENTORY_REFERENCES_CHECK
    )


@dg.asset_check(
    asset="sales",
    additional_ins=_REFERENCE_INS,
    name=constants.SALES_REFERENCES_CHECK,
    description="Sales for unknown products or locations (a warning; those rows are excluded downstream).",
)
def sales_references_known(sales: SalesFrame, costs: pd.DataFrame, locations: pd.DataFrame) -> dg.AssetCheckResult:
    """Counts the daily sales rows that name an unknown product or location."""
    return validation_check_result(
        _references("sales", sales.frame, costs, locations),
        check_name=constants.SALES_REFERENCES_CHECK,
        severity=dg.AssetCheckSeverity.WARN,
    )


@dg.asset_check(
    asset="receipts",
    additional_ins=_REFERENCE_INS,
    name=constants.RECEIPTS_REFERENCES_CHECK,
    description="Receipts for unknown products or locations (a warning; they are not used for lead times).",
)
def receipts_references_known(
    receipts: pd.DataFrame, costs: pd.DataFrame, locations: pd.DataFrame
) -> dg.AssetCheckResult:
    """Counts the receipts that name an unknown product or location."""
    return validation_check_result(
        _references("receipts", receipts, costs, locations),
        check_name=constants.RECEIPTS_REFERENCES_CHECK,
        severity=dg.AssetCheckSeverity.WARN,
    )


SOURCE_CHECKS = [inventory_references_known, sales_references_known, receipts_references_known]
