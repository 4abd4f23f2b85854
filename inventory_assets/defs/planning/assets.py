"""Planning assets: the procurement plan (a multi-echelon Pyomo model solved by HiGHS) and its write-back.

Thin wiring around ``inventory_assets.optimization`` (model, guarded solve, extraction, reasons) and
``inventory_assets.io.plan_store`` (atomic, idempotent write to the plan database). Both refuse to run when
the latest evaluation of an upstream blocking check failed, also in a run that selects only them.
"""

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

import inventory_assets.analytics
import inventory_assets.contract
import inventory_assets.io
import inventory_assets.optimization
from inventory_assets.analytics import service
from inventory_assets.contract.plan import ProcurementPlanSchema, plan_violations
from inventory_assets.contract.validation import FAILURE_COLUMNS, ValidationResult, validate_frame
from inventory_assets.defs import constants, freshness, gates, retries, versions
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.features.assets import FEATURE_ASSETS
from inventory_assets.defs.features.plausibility import PLAUSIBILITY_CHECKS
from inventory_assets.defs.metadata import frame_metadata, frame_table, png_markdown, validation_check_result
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.defs.sources.assets import SOURCE_ASSETS
from inventory_assets.defs.sources.checks import SOURCE_CHECKS
from inventory_assets.io import db, plan_export, plan_store
from inventory_assets.optimization.errors import PlanError
from inventory_assets.optimization.extract import PlanSummary
from inventory_assets.optimization.params import FIELD_DOCS, PlanParameters
from inventory_assets.optimization.plan import plan_procurement
from inventory_assets.reporting.charts import risk_by_class_png
from inventory_assets.reporting.markdown import TOP_ORDERS, largest_orders, markdown_table, money, percent, units

PLAN_CHECK = "procurement_plan_valid"
PLAN_SUMMARY = "plan_summary"
KEY = ["product_id", "location_id"]
AssetEvents = Iterator[dg.Output | dg.AssetCheckResult]

if TYPE_CHECKING:  # a class made at run time: type checkers see its base
    PlanConfig = ParametersConfig
else:
    PlanConfig = config_class(  # defaults from INVENTORY_PLAN_<KNOB> when set (docs/operations.md)
        "PlanConfig",
        PlanParameters,
        FIELD_DOCS,
        doc="Run-time knobs of the procurement plan (docs/model.md).",
        env_prefix="INVENTORY_PLAN_",
    )


PLAN_VERSION = versions.code_version(
    __name__, inventory_assets.optimization, inventory_assets.analytics, inventory_assets.contract
)
UPSTREAM_BLOCKING_CHECKS = gates.blocking_check_keys(
    [*SOURCE_ASSETS, *SOURCE_CHECKS, *FEATURE_ASSETS, *PLAUSIBILITY_CHECKS]
)


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


SOLVER_FIGURES = (
    "is_optimal",
    "engine",
    "solver",
    "relaxed",
    "solver_objective",
    "rounding_gap",
    "mip_gap",
    "mip_start_objective",
    "pwl_max_error",
    "n_rows",
    "n_variables",
    "n_constraints",
    "n_integer",
    "n_nonzeros",
    "build_seconds",
    "solve_seconds",
    "extract_seconds",
    "total_seconds",
)
"""The solve's internals, grouped in one ``solver`` entry of the plan's metadata."""

PLAN_NUMBERS = (
    "spend",
    "budget",
    "budget_shadow_price",
    "objective",
    "expected_cost",
    "holding_cost",
    "shortfall_cost",
    "waste_cost",
    "n_orders",
    "n_purchases",
    "n_transfers",
    "units_ordered",
)
"""The plan's figures kept as numbers, so the UI plots them across runs."""

ORDER_DESCRIPTIONS = {
    "source": "supplier (a purchase) or the parent location the stock comes from (a transfer)",
    "order_qty": "units",
    "packs": "order_qty / order_multiple",
    "value": "purchases: order value ($, spends budget); transfers: quantity x unit cost (no budget)",
    "risk_before": "stock-out risk over the protection interval before the plan",
    "risk_after": "stock-out risk after the plan",
    "reason_code": "why this quantity (docs/model.md)",
}


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _aligned_features(plan: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The features' rows in the plan's row order (missing rows: no demand)."""
    keyed = features.assign(**{k: features[k].astype(str) for k in KEY}).set_index(KEY)
    aligned = keyed.reindex(pd.MultiIndex.from_frame(plan[KEY].astype(str))).reset_index()
    return aligned.fillna(
        {
            "safety_stock_method": "none",
            "demand_over_protection": 0.0,
            "demand_std_over_protection": 0.0,
            "unit_cost": 0.0,
            "expected_waste_units": 0.0,
            "expected_waste_value": 0.0,
        }
    )


def shadow_price_words(price: float, spend: float, budget: float) -> str:
    """The budget's shadow price for a planner: what one more $1,000 of budget would save."""
    if not math.isfinite(price):
        return "unknown (the solver reported no dual for the budget)"
    if price <= 1e-9:
        return f"the budget does not bind ({money(spend)} of {money(budget)} spent): more budget would save nothing"
    return (
        f"one more $1,000 of budget would lower the plan's cost (expected lost sales, leftover stock and expiry "
        f"under the expected_cost objective) by about {money(1000 * price)}; each extra dollar saves ${price:,.2f}"
    )


def unreachable_words(plan: pd.DataFrame) -> str:
    """The critical rows the plan could not bring to safety stock, for a planner (docs/model.md)."""
    rows = plan[plan["reason_code"] == "critical_unreachable"]
    if rows.empty:
        return "every critical row reaches its safety stock"
    sample = ", ".join(
        f"{p} at {loc}" for p, loc in zip(rows["product_id"][:10], rows["location_id"][:10], strict=True)
    )
    more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
    return (
        f"{len(rows):,} critical rows cannot reach their safety stock (their parent does not stock the product or "
        f"has too little on hand, or their location is full) and were planned without it: {sample}{more}"
    )


def _plan_metadata(
    summary: PlanSummary, plan: pd.DataFrame, features: pd.DataFrame, threads: int = 1
) -> dict[str, dg.MetadataValue]:
    """The plan page for a planner: spend, service, risk and money first; lists and a chart; then the
    figures as numbers and the solver's internals in one entry (the service figures by ``threads``)."""
    aligned = _aligned_features(plan, features)
    served = service.service_figures(aligned, plan["position_before"], plan["position_after"], threads=threads)
    risk = service.at_risk_by_class(plan["abc_class"], plan["stockout_risk_before"], plan["stockout_risk_after"])
    total = risk.iloc[-1]
    by_class = ", ".join(f"{r.abc_class} {int(r.before):,} -> {int(r.after):,}" for r in risk.iloc[:-1].itertuples())
    waste_units = float(plan["expected_waste_after"].sum())
    waste_value = float(plan["waste_cost"].sum())
    share = summary.spend / summary.budget if summary.budget > 0 else float("nan")
    purchases = largest_orders(plan, "purchase", TOP_ORDERS)
    transfers = largest_orders(plan, "transfer", TOP_ORDERS)
    figures = summary.to_dict()
    metadata: dict[str, dg.MetadataValue] = {
        "spend_against_budget": dg.MetadataValue.text(
            f"{money(summary.spend)} of {money(summary.budget)} ({percent(share)}) on {summary.n_purchases:,} "
            f"purchases; {summary.n_transfers:,} transfers move stock within the network"
        ),
        "expected_fill_rate": dg.MetadataValue.text(
            f"{percent(served.fill_rate_after)} of expected demand served from stock after the plan "
            f"({percent(served.fill_rate_before)} before), over the protection interval of the "
            f"{served.rows:,} customer-facing rows"
        ),
        "rows_at_risk": dg.MetadataValue.text(
            f"{int(total.before):,} rows with stock-out risk above 50 % before the plan, {int(total.after):,} after "
            f"(by ABC class: {by_class})"
        ),
        "expected_lost_sales": dg.MetadataValue.text(
            f"{units(served.lost_units_after)} units ({money(served.lost_value_after)} at cost) after the plan; "
            f"{units(served.lost_units_before)} units ({money(served.lost_value_before)}) before"
        ),
        "expected_waste": dg.MetadataValue.text(
            f"{units(waste_units)} units of perishables ({money(waste_value)}) expected to expire after the plan; "
            f"{units(float(aligned['expected_waste_units'].sum()))} units "
            f"({money(float(aligned['expected_waste_value'].sum()))}) before"
        ),
        "more_budget": dg.MetadataValue.text(
            shadow_price_words(summary.budget_shadow_price, summary.spend, summary.budget)
        ),
        "risk_by_class_chart": png_markdown(risk_by_class_png(risk.iloc[:-1]), "rows at stock-out risk by ABC class"),
        "risk_by_class": frame_table(risk),
        "top_purchases": frame_table(purchases, ORDER_DESCRIPTIONS),
        "top_transfers": frame_table(transfers, ORDER_DESCRIPTIONS),
        "status": dg.MetadataValue.text(summary.status),
        "objective_name": dg.MetadataValue.text(summary.objective_name),
        "critical_unreachable": dg.MetadataValue.text(unreachable_words(plan)),
    }
    for name in PLAN_NUMBERS:
        value = figures[name]
        metadata[name] = dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(value)
    metadata.update(
        {
            "expected_fill_rate_after": dg.MetadataValue.float(served.fill_rate_after),
            "expected_fill_rate_before": dg.MetadataValue.float(served.fill_rate_before),
            "expected_lost_units_after": dg.MetadataValue.float(served.lost_units_after),
            "expected_lost_value_after": dg.MetadataValue.float(served.lost_value_after),
            "expected_waste_units_after": dg.MetadataValue.float(waste_units),
            "rows_at_risk_before": dg.MetadataValue.int(int(total.before)),
            "rows_at_risk_after": dg.MetadataValue.int(int(total.after)),
            "reason_counts": dg.MetadataValue.json(summary.reason_counts),
            "top_orders": dg.MetadataValue.md(markdown_table(summary.top_orders, TOP_ORDERS * 2, floatfmt=",.2f")),
            "solver": dg.MetadataValue.json({k: _json_number(figures[k]) for k in SOLVER_FIGURES}),
        }
    )
    return metadata


def _figures_metadata(summary: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    """Every figure of ``plan_summary`` as its own number or text (the asset's own page)."""
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
            code_version=PLAN_VERSION,
            owners=versions.OWNERS,
            tags=versions.tags("decision"),
            kinds={"pyomo", "highs", "pandas"},
            description="What each stocked (product, location) receives this cycle: bought from the supplier "
            "at the top of the network (spending budget) or transferred from its parent, every row explained "
            "(positions before and after, target, risk before and after, expected shortfall and waste, a "
            "reason code).",
        ),
        PLAN_SUMMARY: dg.AssetOut(
            group_name=constants.PLANNING_GROUP,
            code_version=PLAN_VERSION,
            owners=versions.OWNERS,
            tags=versions.tags("decision"),
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
    context.log.info(
        f"plan {summary['status']}: spend {summary['spend']:,.2f} of budget {summary['budget']:,.2f}, "
        f"objective {summary['objective']:,.2f}, {summary['n_orders']} orders"
    )
    selected = context.op_execution_context.selected_output_names
    if "procurement_plan" in selected:
        metadata: dict[str, Any] = _plan_metadata(result.summary, report.frame, abc_risk_features, params.threads)
        metadata.update(frame_metadata(report.frame, ProcurementPlanSchema))
        yield dg.Output(report.frame, output_name="procurement_plan", metadata=metadata)
        yield validation_check_result(report, check_name=PLAN_CHECK)
    if PLAN_SUMMARY in selected:
        # The run that made the plan travels with its figures (published_plan may run in a later run).
        figures = {k: v for k, v in summary.items() if k != "top_orders_markdown"}
        figures["plan_run_id"] = context.run.run_id
        yield dg.Output(figures, output_name=PLAN_SUMMARY, metadata=_figures_metadata(figures))


WRITE_BLOCKING_CHECKS = [*UPSTREAM_BLOCKING_CHECKS, dg.AssetCheckKey(dg.AssetKey("procurement_plan"), PLAN_CHECK)]


@dg.asset(
    group_name=constants.PLANNING_GROUP,
    kinds={"sql", "pandas"},
    code_version=versions.code_version(__name__, inventory_assets.io, inventory_assets.contract),
    owners=versions.OWNERS,
    tags=versions.tags("decision"),
    freshness_policy=freshness.plan_freshness_policy(),
)
def published_plan(
    context: dg.AssetExecutionContext,
    plan_db: SqlDatabase,
    procurement_plan: pd.DataFrame,
    plan_summary: dict[str, Any],
    purchase_orders: pd.DataFrame,
    transfer_orders: pd.DataFrame,
) -> dg.MaterializeResult:
    """The plan written back to the plan database: this run's rows appended to the `procurement_plan`
    history, its purchase and transfer orders to `purchase_orders` and `transfer_orders` (with the run
    id), and its figures to `procurement_plan_runs`, in one transaction (all or nothing, one copy per
    run). The current plan is the newest committed run's (view `current_procurement_plan`). Writes take
    turns by the plan database's own lock (PostgreSQL a table lock, MariaDB a named lock, SQLite its write
    lock), which dies with a killed run's connection, so a killed run never blocks the next; they never
    publish a plan whose checks, or whose upstream blocking checks, failed. After the commit the run's lists
    are read back and exported: `purchase_orders.csv`, `transfer_orders.csv` and `orders.xlsx` (a sheet per
    supplier and per destination, with totals) under `<INVENTORY_EXPORT_DIR or data/exports>/<run id>/`
    (`dagster/uri`)."""
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
            orders={
                plan_store.PURCHASE_ORDERS_TABLE: purchase_orders,
                plan_store.TRANSFER_ORDERS_TABLE: transfer_orders,
            },
        )
    except db.DatabaseError as error:
        raise retries.database_error(context, plan_db, error) from None
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    try:
        exported = plan_export.export_plan(
            plan_db.engine,
            written.run_id,
            retry_attempts=plan_db.retry_attempts,
            max_workbook_rows=plan_export.xlsx_max_rows(),
        )
    except (OSError, db.DatabaseError) as error:  # the plan is committed; a retry rewrites it and exports again
        raise retries.step_error(
            context,
            plan_db,
            f"plan run {written.run_id} committed, but its exports failed: {error}",
            transient=not isinstance(error, db.DatabaseError) or error.transient,
        ) from None
    context.log.info(f"exported the purchase and transfer orders to {exported.folder}")
    for name, reason in exported.skipped.items():
        context.log.info(f"{name} not written: {reason}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written.rows),
            "dagster/uri": dg.MetadataValue.path(str(exported.folder)),
            "exports": dg.MetadataValue.json({name: str(path) for name, path in exported.files.items()}),
            "exports_skipped": dg.MetadataValue.json(exported.skipped),
            "database": dg.MetadataValue.text(plan_db.masked_url),
            "dagster/table_name": dg.MetadataValue.text(plan_store.PLAN_TABLE),
            "current_view": dg.MetadataValue.text(plan_store.CURRENT_VIEW),
            "planned_at": dg.MetadataValue.text(written.planned_at.isoformat()),
            "write_seconds": dg.MetadataValue.float(written.seconds),
            "write_attempts": dg.MetadataValue.int(written.attempts),
            "spend": dg.MetadataValue.float(float(procurement_plan["order_value"].sum())),
            "purchase_orders": dg.MetadataValue.int(written.order_rows.get(plan_store.PURCHASE_ORDERS_TABLE, 0)),
            "transfer_orders": dg.MetadataValue.int(written.order_rows.get(plan_store.TRANSFER_ORDERS_TABLE, 0)),
        }
    )


PLANNING_ASSETS = [procurement_plan, published_plan]
