"""Cross-table checks of the sources: ids that must exist in another table, and the sales' plausibility.

Unknown products or locations in ``inventory`` are an error (blocking); in ``receipts`` a warning with their
count, and those rows are left out downstream. ``sales_plausible`` is the sales' plausibility gate
(``contract.plausibility``): unknown sales rows are a warning while their units stay within
``max_unknown_sales_share``, an error above it, and so is a window that ends far from the inventory snapshot.
"""

from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from inventory_assets.contract import plausibility
from inventory_assets.contract.sales import SalesFrame
from inventory_assets.contract.validation import ValidationResult, reference_failures
from inventory_assets.defs import constants
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.metadata import validation_check_result

if TYPE_CHECKING:  # a class made at run time: type checkers see its base
    PlausibilityConfig = ParametersConfig
else:
    PlausibilityConfig = config_class(  # defaults from INVENTORY_PLAUSIBILITY_<KNOB> when set (docs/operations.md)
        "PlausibilityConfig",
        plausibility.PlausibilityParameters,
        doc="The plausibility gates' limits (docs/data-contract.md, Plausibility gates).",
        env_prefix="INVENTORY_PLAUSIBILITY_",
    )

_REFERENCE_INS = {"costs": dg.AssetIn("costs"), "locations": dg.AssetIn("locations")}


def _references(table: str, frame: pd.DataFrame, costs: pd.DataFrame, locations: pd.DataFrame) -> ValidationResult:
    return ValidationResult(table=table, frame=frame, failures=reference_failures(table, frame, costs, locations))


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
    additional_ins={**_REFERENCE_INS, "inventory": dg.AssetIn("inventory")},
    blocking=True,
    name=constants.SALES_REFERENCES_CHECK,
    description="Plausibility gate of the sales (docs/data-contract.md): the window ends near the inventory snapshot "
    "and at most max_unknown_sales_share of the units name an unknown product or location (errors); unknown "
    "rows within that share are a warning and are left out downstream.",
)
def sales_plausible(
    config: PlausibilityConfig, sales: SalesFrame, costs: pd.DataFrame, locations: pd.DataFrame, inventory: pd.DataFrame
) -> dg.AssetCheckResult:
    """Errors for a window far from the inventory snapshot or too large a share of unknown sale units;
    otherwise a warning listing the daily sales rows that name an unknown product or location."""
    params = config.parameters()
    references = _references("sales", sales.frame, costs, locations)
    problems, share = plausibility.unknown_share_problems(sales.frame, references.failures, params)
    snapshot = plausibility.snapshot_day(inventory)
    if sales.window is not None:
        problems = plausibility.window_problems(sales.window.end, snapshot, params) + problems
    result = validation_check_result(
        references,
        check_name=constants.SALES_REFERENCES_CHECK,
        severity=dg.AssetCheckSeverity.ERROR if problems else dg.AssetCheckSeverity.WARN,
    )
    metadata = dict(result.metadata)
    metadata["unknown_units_share"] = dg.MetadataValue.float(share)
    metadata["inventory_snapshot"] = dg.MetadataValue.text(str(snapshot))
    metadata["window_end"] = dg.MetadataValue.text(str(sales.window.end if sales.window else None))
    if problems:
        metadata["problems"] = dg.MetadataValue.json(problems)
    return dg.AssetCheckResult(
        check_name=constants.SALES_REFERENCES_CHECK,
        passed=references.passed and not problems,
        severity=result.severity,
        metadata=metadata,
        description="; ".join(problems) if problems else result.description,
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


SOURCE_CHECKS = [inventory_references_known, sales_plausible, receipts_references_known]
