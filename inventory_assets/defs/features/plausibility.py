"""The plausibility gate against the plan in use: the features' targets against the current plan's.

A blocking check on ``abc_risk_features`` (``contract.plausibility.target_ratio_problems``): when the total
order-up-to level collapses or explodes against the plan in the plan database, the run fails before the plan
and the current plan stays. The gates on the sales themselves are ``sales_plausible`` and
``merged_dataset_usable``.
"""

import dagster as dg
import pandas as pd

from inventory_assets.contract import plausibility
from inventory_assets.defs import constants, retries
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.defs.sources.checks import PlausibilityConfig
from inventory_assets.io import db, plan_store


@dg.asset_check(
    asset="abc_risk_features",
    blocking=True,
    name=constants.TARGETS_PLAUSIBLE_CHECK,
    description="Plausibility gate (docs/data-contract.md): the total order-up-to level within "
    "[min_target_ratio, max_target_ratio] x the current plan's (passes when no plan is in use).",
)
def targets_plausible_against_current_plan(
    context: dg.AssetCheckExecutionContext,
    config: PlausibilityConfig,
    plan_db: SqlDatabase,
    abc_risk_features: pd.DataFrame,
) -> dg.AssetCheckResult:
    """Fails when demand collapsed or exploded against the plan in use, naming both totals and the ratio."""
    params = config.parameters()
    new_total = float(abc_risk_features["order_up_to"].sum())
    try:
        in_use = plan_store.current_target_total(plan_db.engine, retry_attempts=plan_db.retry_attempts)
    except db.DatabaseError as error:
        raise retries.database_error(context, plan_db, error) from None
    current_rows, current = in_use if in_use is not None else (0, None)
    changed = in_use is not None and plausibility.assortment_changed(len(abc_risk_features), current_rows, params)
    problems, ratio = ([], None) if changed else plausibility.target_ratio_problems(new_total, current, params)
    metadata = {
        "order_up_to_total": dg.MetadataValue.float(new_total),
        "current_plan_order_up_to_total": dg.MetadataValue.float(current) if current is not None else None,
        "ratio": dg.MetadataValue.float(ratio) if ratio is not None else None,
        "min_target_ratio": dg.MetadataValue.float(params.min_target_ratio),
        "max_target_ratio": dg.MetadataValue.float(params.max_target_ratio),
    }
    if current is None:
        description = "no plan in use yet: nothing to compare against"
    elif changed:
        description = (
            f"the assortment changed ({len(abc_risk_features):,} stocked pairs against the current plan's "
            f"{current_rows:,}): totals not compared"
        )
    elif problems:
        description = "; ".join(problems)
    else:
        description = f"total order-up-to level {ratio:.2f} x the current plan's"
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={k: v for k, v in metadata.items() if v is not None},
        description=description,
    )


PLAUSIBILITY_CHECKS = [targets_plausible_against_current_plan]
