"""Planning assets: the procurement plan (a multi-echelon Pyomo model solved by HiGHS) and its write-back.

Thin wiring around ``inventory_assets.optimization`` (model, guarded solve, extraction, reasons) and
``inventory_assets.io.plan_store`` (atomic, idempotent write to the plan database). Both refuse to run when
the latest evaluation of an upstream blocking check failed, also in a run that selects only them.
"""

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from inventory_assets.contract.plan import ProcurementPlanSchema, plan_violations
from inventory_assets.contract.validation import FAILURE_COLUMNS, ValidationResult, validate_frame
from inventory_assets.defs import constants, gates
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.features.assets import FEATURE_ASSETS
from inventory_assets.defs.metadata import frame_metadata, validation_check_result
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.defs.sources.assets import SOURCE_ASSETS
from inventory_assets.defs.sources.checks import SOURCE_CHECKS
from inventory_assets.io import db, plan_store
from inventory_assets.optimization.errors import PlanError
from inventory_assets.optimization.params import FIELD_DOCS, PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets.reporting.markdown import markdown_table

PLAN_CHECK = "procurement_plan_valid"
PLAN_SUMMARY = "plan_summary"
PLAN_WRITE_POOL = "plan_db_writes"
KEY = ["product_id", "location_id"]
AssetEvents = Iterator[dg.Output | dg.AssetCheckResult]

if TYPE_CHECKING:  # a class made at run time: type checkers see its base
    PlanConfig = ParametersConfig
else:
    PlanConfig = config_class(
        "PlanConfig", PlanParameters, FIELD_DOCS, doc="Run-time knobs of the procurement plan (docs/model.md)."
    )


UPSTREAM_BLOCKING_CHECKS = gates.blocking_check_keys([*SOURCE_ASSETS, *SOURCE_CHECKS, *FEATURE_ASSETS])


def _violations_result(plan: pd.DataFrame, params: PlanParameters) -> ValidationResult:
    """Schema failures and hard-rule breaches of the plan as one validation report."""
    result = validate_frame("procurement_plan", plan, ProcurementPlanSchema, KEY)
    breaches = plan_violations(result.frame, params)
    if breaches.empty:
        return result
    rows = pd.DataFrame(
        {
            "table": "procurement_plan",
            "column": breaches["check"].map(lambda c: "order_qty" if c != "capacity" else "position_after"),
            "check": breaches["check"],
            "failure_case": [
                f"{d} (value {v:.6g}, limit {lim:.6g})"
                for d, v, lim in zip(breaches["detail"], breaches["value"], breaches["limit"], strict=True)
            ],
            "row": None,
            "key": [
                f"{p} / {loc}" if p is not None else str(loc)
                for p, loc in zip(breaches["product_id"], breaches["location_id"], strict=True)
            ],
        }
    )[FAILURE_COLUMNS]
    failures = pd.concat([result.failures, rows], ignore_index=True) if not result.failures.empty else rows
    return ValidationResult(table="procurement_plan", frame=result.frame, failures=failures)


def _plan_metadata(summary: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {}
    for name, value in summary.items():
        if name == "top_orders_markdown":
            continue
        if isinstance(value, bool):
            metadata[name] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            metadata[name] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            metadata[name] = dg.MetadataValue.float(value)
        else:
            metadata[name] = dg.MetadataValue.text(str(value))
    return metadata


@dg.multi_asset(
    outs={
        "procurement_plan": dg.AssetOut(
            group_name=constants.PLANNING_GROUP,
            kinds={"pyomo", "highs", "pandas"},
            description="What each stocked (product, location) receives this cycle: bought from the supplier "
            "at the top of the network (spending budget) or transferred from its parent, every row explained "
            "(positions before and after, target, risk before and after, expected shortfall and waste, a "
            "reason code).",
        ),
        PLAN_SUMMARY: dg.AssetOut(
            group_name=constants.PLANNING_GROUP,
            kinds={"python"},
            description="The figures of the plan's solve (status, budget, spend, objective and its parts, "
            "the budget's shadow price, solver statistics, counts per reason code): what published_plan "
            "writes to procurement_plan_runs.",
        ),
    },
    can_subset=True,
    check_specs=[
        dg.AssetCheckSpec(
            name=PLAN_CHECK,
            asset="procurement_plan",
            blocking=True,
            description="Order quantities >= 0, whole packs and >= MOQ, spend <= budget, transfers <= parent "
            "on-hand, critical items at or above safety stock, capacities kept (schema + hard rules).",
        )
    ],
)
def procurement_plan(
    context: dg.AssetExecutionContext, config: PlanConfig, abc_risk_features: pd.DataFrame
) -> AssetEvents:
    """What each stocked (product, location) receives this cycle: bought from the supplier at the top of
    the network (spending budget) or transferred from its parent. Minimises holding cost, perishable
    waste and stock-out cost under the budget, critical safety stocks, parent stock, capacity, case packs
    and minimum order quantities. Each row explains itself: positions before and after, target, risk
    before and after, expected shortfall and waste, and a reason code."""
    gates.require_passed_checks(context, UPSTREAM_BLOCKING_CHECKS, "plan")
    params = config.parameters()
    try:
        result = plan_procurement(abc_risk_features, params)
    except PlanError as error:  # infeasible, unsolvable or bad data: permanent, never retried
        raise dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from None
    summary = result.summary.to_dict()
    report = _violations_result(result.plan, params)
    metadata = frame_metadata(report.frame, ProcurementPlanSchema)
    metadata.update(_plan_metadata(summary))
    metadata["top_orders"] = dg.MetadataValue.md(markdown_table(result.summary.top_orders, 20))
    metadata["reason_counts"] = dg.MetadataValue.json(result.summary.reason_counts)
    context.log.info(
        f"plan {summary['status']}: spend {summary['spend']:,.2f} of budget {summary['budget']:,.2f}, "
        f"objective {summary['objective']:,.2f}, {summary['n_orders']} orders"
    )
    selected = context.op_execution_context.selected_output_names
    if "procurement_plan" in selected:
        yield dg.Output(report.frame, output_name="procurement_plan", metadata=metadata)
        yield validation_check_result(report, check_name=PLAN_CHECK)
    if PLAN_SUMMARY in selected:
        # The run that made the plan travels with its figures (published_plan may run in a later run).
        figures = {k: v for k, v in summary.items() if k != "top_orders_markdown"}
        figures["plan_run_id"] = context.run.run_id
        yield dg.Output(figures, output_name=PLAN_SUMMARY, metadata=_plan_metadata(figures))


WRITE_BLOCKING_CHECKS = [*UPSTREAM_BLOCKING_CHECKS, dg.AssetCheckKey(dg.AssetKey("procurement_plan"), PLAN_CHECK)]


@dg.asset(
    group_name=constants.PLANNING_GROUP,
    kinds={"sql", "pandas"},
    pool=PLAN_WRITE_POOL,
    retry_policy=constants.DATABASE_RETRY_POLICY,
    code_version="1",
)
def published_plan(
    context: dg.AssetExecutionContext,
    plan_db: SqlDatabase,
    procurement_plan: pd.DataFrame,
    plan_summary: dict[str, Any],
) -> dg.MaterializeResult:
    """The plan written back to the plan database: this run's rows appended to the `procurement_plan`
    history and its figures to `procurement_plan_runs`, in one transaction (all or nothing, one copy per
    run). The current plan is the newest committed run's (view `current_procurement_plan`). Writes run
    one at a time (concurrency pool `plan_db_writes`, limit 1) and never publish a plan whose checks, or
    whose upstream blocking checks, failed."""
    gates.require_passed_checks(context, WRITE_BLOCKING_CHECKS, "publish the plan")
    figures = dict(plan_summary)
    # A run's plan is stamped with the run's start, so a run that started earlier but commits later never
    # replaces a fresher plan as the current one.
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else None
    planned_at = datetime.fromtimestamp(started, tz=timezone.utc) if started else None
    context.log.info(f"writing {len(procurement_plan):,} plan rows to {plan_db.masked_url}")
    try:
        written = plan_store.write_plan(
            plan_db.engine,
            context.run.run_id,
            procurement_plan,
            figures,
            planned_at=planned_at,
            progress=lambda rows: context.log.debug(f"{rows:,} rows written"),
            retry_attempts=plan_db.retry_attempts,
        )
    except db.DatabaseError as error:
        raise dg.Failure(description=str(error), allow_retries=error.transient) from None
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written.rows),
            "database": dg.MetadataValue.text(plan_db.masked_url),
            "table": dg.MetadataValue.text(plan_store.PLAN_TABLE),
            "current_view": dg.MetadataValue.text(plan_store.CURRENT_VIEW),
            "planned_at": dg.MetadataValue.text(written.planned_at.isoformat()),
            "write_seconds": dg.MetadataValue.float(written.seconds),
            "write_attempts": dg.MetadataValue.int(written.attempts),
            "spend": dg.MetadataValue.float(float(procurement_plan["order_value"].sum())),
        }
    )


PLANNING_ASSETS = [procurement_plan, published_plan]
