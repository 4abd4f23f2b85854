"""Source assets: the contract tables read from the cloud and on-prem databases, validated and coerced.

Each asset reads its table (or the user's own SELECT), validates it lazily against its pandera schema plus
the explicit checks, and reports every failure in its blocking ``<table>_valid`` check. The frame that
flows downstream is the validated, coerced one; a failed check stops everything downstream.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

import inventory_assets.contract
from inventory_assets.contract import spec
from inventory_assets.contract.sales import SalesFrame, SalesWindow
from inventory_assets.contract.schemas import SOURCE_SCHEMAS
from inventory_assets.contract.validation import (
    FAILURE_COLUMNS,
    ValidationResult,
    moved_rows,
    ordered_failures,
    validate_source,
)
from inventory_assets.defs import constants, retries, versions
from inventory_assets.defs.metadata import frame_metadata, validation_check_result
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db, queries

KINDS = {"sql", "pandas", "pandera"}
SOURCES_VERSION = versions.code_version(__name__, queries, db, inventory_assets.contract)


class SourceConfig(dg.Config):
    """Where a source's rows come from, when not the contract table of the same name."""

    table: str | None = Field(
        default=None,
        description="Read this table or view instead of the contract's (the database's catalogue must list it; "
        "schema.name for one in another schema).",
    )
    query: str | None = Field(
        default=None,
        description="Your own single SELECT returning the contract columns; overrides `table` and the "
        "resource's `queries`. Values are never formatted into it.",
    )


class SalesConfig(SourceConfig):
    """The sales source and its history window."""

    history_days: int = Field(
        default=constants.DEFAULT_HISTORY_DAYS,
        ge=1,
        le=spec.MAX_WINDOW_DAYS,
        description="Days of sales history to aggregate, ending at the latest sale day (inclusive); 1 to "
        f"{spec.MAX_WINDOW_DAYS:,} (checked when the run starts).",
    )
    day_ranges: int = Field(
        default=1,
        ge=1,
        description="Read the window as this many consecutive day ranges, each aggregated and validated in "
        "its own step (`sales_days`). The multiprocess and Celery engines run them side by side; the "
        "sales frame, its check and the plan are the same for any value (docs/scaling.md).",
    )


def _spec(table: str, config: SourceConfig, database: SqlDatabase) -> queries.SourceSpec:
    return queries.SourceSpec(table=table, table_name=config.table, query=config.query or database.queries.get(table))


def _failed_read(table: str, error: queries.SourceQueryError) -> ValidationResult:
    """A validation report for a source that could not even be shaped (missing columns, bad query)."""
    if isinstance(error, queries.MissingColumnsError):
        rows = [
            {"table": table, "column": c, "check": "column_in_dataframe", "failure_case": c, "row": None, "key": None}
            for c in error.missing
        ]
    else:
        rows = [
            {
                "table": table,
                "column": getattr(error, "column", None),
                "check": "sale_lines" if isinstance(error, queries.SaleLinesError) else "source_query",
                "failure_case": str(error),
                "row": None,
                "key": None,
            }
        ]
    return ValidationResult(table=table, frame=pd.DataFrame(), failures=pd.DataFrame(rows, columns=FAILURE_COLUMNS))


def _read(
    context: dg.OpExecutionContext | dg.AssetExecutionContext, database: SqlDatabase, what: str, read: Any
) -> Any:
    context.log.info(f"reading {what} from {database.masked_url}")
    try:
        return database.run(read, what=f"reading {what}")
    except db.DatabaseError as error:
        raise retries.database_error(context, database, error) from None
    except queries.SourceQueryError:
        raise  # reported by the source's check
    except ValueError as error:  # a configured name the catalogue does not list: permanent
        raise dg.Failure(description=f"{what}: {error}", allow_retries=False) from None


SourceEvents = Iterator[dg.Output | dg.AssetCheckResult]


def _result(
    table: str, result: ValidationResult, extra: dict[str, Any] | None = None, value: object = None
) -> SourceEvents:
    """The validated frame (or ``value`` holding it) with its metadata, then the blocking check's result."""
    metadata = frame_metadata(result.frame, spec.SOURCE_FRAMES[table])
    metadata.update(extra or {})
    yield dg.Output(result.frame if value is None else value, metadata=metadata)
    yield validation_check_result(result, check_name=constants.VALID_CHECK.format(table=table))


def _valid_check(table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=constants.VALID_CHECK.format(table=table),
        asset=table,
        blocking=True,
        description=f"{table} matches its schema and rules; every failure is listed in the metadata.",
    )


_SALES_CHECK = constants.VALID_CHECK.format(table="sales")


@dataclass(frozen=True)
class SalesDays:
    """One day range of the sales window, as handed from `sales_window` to a `sales_days` step."""

    read: queries.SalesRead | None
    days: SalesWindow | None
    failed: ValidationResult | None = None
    """The source could not be shaped (bad query, missing columns): reported by the check, nothing read."""


@dataclass(frozen=True)
class SalesPart:
    """A day range's aggregate, validated on its own: rows are positions within the part."""

    days: SalesWindow | None
    result: ValidationResult


@dg.op(out=dg.DynamicOut(SalesDays), ins={"sale_lines": dg.In(dg.Nothing)})
def sales_window(context: dg.OpExecutionContext, config: SalesConfig, cloud_db: SqlDatabase):
    """The aggregate statement and the history window (first and last sale day), cut into
    ``day_ranges`` consecutive day ranges: one `sales_days` step each."""
    spec = _spec("sales", config, cloud_db)
    try:
        read = _read(
            context,
            cloud_db,
            "sales",
            lambda engine: queries.plan_sales_read(
                engine, spec, config.history_days, timeout_seconds=cloud_db.query_timeout_seconds
            ),
        )
    except queries.SourceQueryError as error:
        yield dg.DynamicOutput(SalesDays(None, None, _failed_read("sales", error)), mapping_key="failed")
        return
    if read.window is None:
        yield dg.DynamicOutput(SalesDays(read, None), mapping_key="empty")
        return
    ranges = queries.split_window(read.window, config.day_ranges)
    context.log.info(f"sales window {read.window.start} .. {read.window.end} in {len(ranges)} day range(s)")
    for days in ranges:
        yield dg.DynamicOutput(SalesDays(read, days), mapping_key=f"d{days.start:%Y%m%d}_{days.end:%Y%m%d}")


@dg.op
def sales_days(context: dg.OpExecutionContext, cloud_db: SqlDatabase, part: SalesDays) -> SalesPart:
    """One day range aggregated in the cloud database (GROUP BY there) and validated lazily."""
    if part.failed is not None or part.days is None or part.read is None:
        return SalesPart(None, part.failed or ValidationResult("sales", queries.empty_sales_frame()))
    read, days = part.read, part.days
    rows: queries.SalesRows = _read(
        context,
        cloud_db,
        f"sales {days.start} .. {days.end}",
        lambda engine: queries.read_sales_days(engine, read, days, timeout_seconds=cloud_db.query_timeout_seconds),
    )
    if rows.frame.empty:  # a range without sales; whether the whole window is empty is judged on assembly
        return SalesPart(days, ValidationResult("sales", rows.frame))
    return SalesPart(days, validate_source("sales", rows.frame, in_key_order=rows.in_key_order))


@dg.op(out={"result": dg.Out(SalesFrame), _SALES_CHECK: dg.Out(dg.Nothing)})
def sales_assemble(context: dg.OpExecutionContext, parts: list[SalesPart]) -> SourceEvents:
    """The day ranges concatenated in day order (the frame a single read of the window gives), their
    failure reports joined with rows renumbered to the whole frame, then the blocking check."""
    result, window = assemble_sales(parts)
    extra: dict[str, Any] = {"day_ranges": dg.MetadataValue.int(len(parts))}
    if window is not None:
        extra.update(
            {
                "window_start": dg.MetadataValue.text(window.start.isoformat()),
                "window_end": dg.MetadataValue.text(window.end.isoformat()),
                "window_days": dg.MetadataValue.int(window.days),
                "units_sold": dg.MetadataValue.float(float(result.frame["quantity"].sum()) if result.passed else 0.0),
            }
        )
    yield from _result("sales", result, extra, value=SalesFrame(result.frame, window))


def _shifted(rows: pd.Series, *, by: int) -> pd.Series:
    return rows + by


def assemble_sales(parts: list[SalesPart]) -> tuple[ValidationResult, SalesWindow | None]:
    """(one validation result, the whole window) from the parts of one sales read."""
    failed = [p.result for p in parts if p.days is None and not p.result.failures.empty]
    if failed:
        return failed[0], None
    dated = [(p.days, p) for p in parts if p.days is not None]
    dated.sort(key=lambda pair: pair[0].start)
    ranges = [p for _, p in dated]
    if not dated or all(p.result.frame.empty for p in ranges):
        return validate_source("sales", queries.empty_sales_frame()), None
    window = SalesWindow(dated[0][0].start, dated[-1][0].end)
    frames, failures, offset = [], [], 0
    for part in ranges:
        if part.result.frame.empty:
            continue
        if not part.result.failures.empty:
            failures.append(moved_rows(part.result.failures, functools.partial(_shifted, by=offset)))
        frames.append(part.result.frame)
        offset += len(part.result.frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    report = (
        ordered_failures(pd.concat(failures, ignore_index=True), SOURCE_SCHEMAS["sales"])
        if failures
        else ValidationResult("sales", frame).failures
    )
    return ValidationResult("sales", frame, report), window


def _sales_run_config(config: dict[str, Any]) -> dict[str, Any]:
    """The sales graph's config handed to ``sales_window``, its bounds checked when the run is launched
    (a config schema carries no bounds; the model does)."""
    SalesConfig(**config)
    return {"sales_window": {"config": config}}


@dg.graph_asset(
    name="sales",
    group_name=constants.SOURCES_GROUP,
    kinds=KINDS,
    check_specs=[_valid_check("sales")],
    config=dg.ConfigMapping(config_fn=_sales_run_config, config_schema=SalesConfig.to_config_schema()),
    code_version=SOURCES_VERSION,
    owners=versions.OWNERS,
    tags=versions.tags("source"),
    ins={"sale_lines": dg.AssetIn(key=constants.SALES_LINES_KEY, dagster_type=dg.Nothing)},
)
def sales(sale_lines):
    """Daily demand per (day, product, location) over the history window ending at the latest sale day.

    Aggregated with GROUP BY inside the cloud database, so raw sale lines never travel to Python. The
    window can be read as several day ranges (config ``day_ranges``), each its own step, which the
    multiprocess and Celery engines run side by side; the frame is the same for any number of ranges.
    The value is a ``SalesFrame``: the validated frame and its window (first and last day, inclusive).
    """
    return sales_assemble(sales_window(sale_lines).map(sales_days).collect())


def _table_asset(table: str, resource_key: str, doc: str) -> dg.AssetsDefinition:
    """A source asset that reads one on-prem table whole."""

    @dg.asset(
        name=table,
        group_name=constants.SOURCES_GROUP,
        kinds=KINDS,
        check_specs=[_valid_check(table)],
        required_resource_keys={resource_key},
        description=doc,
        code_version=SOURCES_VERSION,
        owners=versions.OWNERS,
        tags=versions.tags("source"),
    )
    def _asset(context: dg.AssetExecutionContext, config: SourceConfig) -> SourceEvents:
        database: SqlDatabase = getattr(context.resources, resource_key)
        spec = _spec(table, config, database)
        try:
            frame = _read(
                context,
                database,
                table,
                lambda engine: queries.read_table(engine, spec, timeout_seconds=database.query_timeout_seconds),
            )
        except queries.SourceQueryError as error:
            yield from _result(table, _failed_read(table, error))
            return
        yield from _result(table, validate_source(table, frame))

    return _asset


inventory = _table_asset(
    "inventory",
    "onprem_db",
    "Units on hand and on order per stocked (product, location) on the snapshot day (on-prem `inventory`). "
    "NULL on_order reads as 0.",
)
costs = _table_asset(
    "costs",
    "onprem_db",
    "Unit cost, holding rate, stock-out and waste costs, shelf life and ordering rules per product "
    "(on-prem `costs`). NULL min_order_qty reads as 0, NULL order_multiple as 1.",
)
locations = _table_asset(
    "locations",
    "onprem_db",
    "The location network (on-prem `locations`): echelon, parent and capacity per location; checked for "
    "missing parents, echelons that do not follow the parent's, and cycles.",
)
receipts = _table_asset(
    "receipts",
    "onprem_db",
    "Purchase and transfer receipts (on-prem `receipts`), the source of lead-time statistics.",
)

SOURCE_ASSETS = [sales, inventory, costs, locations, receipts]
