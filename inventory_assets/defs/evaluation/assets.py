"""Evaluation assets: the backtest that replays each policy over held-out weeks of real sales.

Thin wiring around ``inventory_assets.backtest`` (the pure rolling-origin simulation),
``io.backtest_sources`` (the five sources read and validated as the source assets do),
``io.backtest_store`` (the atomic write of ``backtest_runs`` / ``backtest_results`` / ``backtest_weekly``)
and ``reporting.charts`` (the PNG charts). Runs in its own job, ``backtest_job``; ``planning_job`` leaves
the ``evaluation`` group out. docs/backtest.md.
"""

import dataclasses
import math
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

import inventory_assets.analytics
import inventory_assets.backtest
import inventory_assets.contract
import inventory_assets.forecast
import inventory_assets.io
import inventory_assets.optimization
from inventory_assets.backtest import (
    COMPARISON_COLUMNS,
    BacktestError,
    BacktestSettings,
    comparison,
    run_backtest,
    sales_days_needed,
)
from inventory_assets.backtest.settings import FIELD_DOCS
from inventory_assets.defs import constants, retries, versions
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.metadata import png_markdown
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import backtest_sources, backtest_store, db, queries
from inventory_assets.optimization.errors import PlanError
from inventory_assets.reporting.charts import fill_rate_vs_inventory_png, weekly_fill_rate_png
from inventory_assets.reporting.markdown import markdown_table

EVALUATION_GROUP = constants.EVALUATION_GROUP
"""The group of the assets that measure the plan (never part of ``planning_job``)."""

if TYPE_CHECKING:  # a class made at run time: type checkers see its base
    BacktestConfig = ParametersConfig
else:
    BacktestConfig = config_class(
        "BacktestConfig",
        BacktestSettings,
        FIELD_DOCS,
        doc="Run-time knobs of the backtest: policies, held-out weeks, budget, seed (docs/backtest.md).",
    )

_SOURCES = ("sales", *backtest_sources.ONPREM_SOURCES)


def _source_specs(cloud_db: SqlDatabase, onprem_db: SqlDatabase) -> dict[str, queries.SourceSpec]:
    """The resources' own SELECT per source, where configured (as the source assets read them)."""
    return {
        name: queries.SourceSpec(table=name, query=(cloud_db if name == "sales" else onprem_db).queries.get(name))
        for name in _SOURCES
    }


def _permanent(error: BaseException) -> dg.Failure:
    return dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False)


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def comparison_metadata(table: pd.DataFrame) -> dg.MetadataValue:
    """The policies' totals as a ``dg.MetadataValue.table`` (NaN shown as empty)."""
    names = list(COMPARISON_COLUMNS)
    types = {"policy": "string", "orders": "int"}
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name=n, type=types.get(n, "float"), description=COMPARISON_COLUMNS[n]) for n in names]
    )
    records = [
        dg.TableRecord(
            data={n: (str(r[n]) if n == "policy" else int(r[n]) if n == "orders" else _number(r[n])) for n in names}
        )
        for r in table.to_dict("records")
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


@dg.asset(
    group_name=EVALUATION_GROUP,
    kinds={"pandas", "sql", "matplotlib"},
    # Lineage only: the backtest reads the same five tables itself, over a longer window than the sources'.
    deps=list(constants.SOURCE_TABLES),
    code_version=versions.code_version(
        __name__,
        inventory_assets.backtest,
        inventory_assets.optimization,
        inventory_assets.forecast,
        inventory_assets.analytics,
        inventory_assets.io,
        inventory_assets.contract,
    ),
    owners=versions.OWNERS,
    tags=versions.tags("evaluation"),
)
def policy_backtest(
    context: dg.AssetExecutionContext,
    config: BacktestConfig,
    cloud_db: SqlDatabase,
    onprem_db: SqlDatabase,
    plan_db: SqlDatabase,
) -> dg.MaterializeResult:
    """Each replenishment policy (the plan, order-up-to, risk-ranked, replace-what-sold) replayed side by
    side over the last weeks of recorded sales: at every weekly review the policy sees only the history
    before that day, and the days until the next review are simulated with the same demand and the same
    lead-time draws for every policy. Written to the plan database (`backtest_runs`, `backtest_results`,
    `backtest_weekly`, one transaction, keyed by this run's id); the metadata compares the policies'
    fill rate, cycle service level, lost value, mean inventory value, waste and spend, with charts.
    Reads the five sources itself and refuses to run on sources that fail their validation."""
    try:
        settings: BacktestSettings = config.parameters()
        params = settings.parameters()
    except (ValueError, BacktestError) as error:
        raise _permanent(error) from None
    days = sales_days_needed(params)
    try:
        sources = backtest_sources.read_backtest_sources(
            cloud_db.engine,
            onprem_db.engine,
            days,
            timeout_seconds=cloud_db.query_timeout_seconds,
            retry_attempts=cloud_db.retry_attempts,
            sources=_source_specs(cloud_db, onprem_db),
            log=context.log.info,
        )
    except db.DatabaseError as error:
        raise retries.database_error(context, cloud_db, error) from None
    except ValueError as error:  # BacktestSourcesError lists every validation failure
        raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(
        f"sales {sources.window.start} .. {sources.window.end}; replaying {', '.join(settings.policies)} "
        f"over {params.weeks} week(s)"
    )
    started = time.perf_counter()
    try:
        result = run_backtest(**sources.frames, params=params, policies=settings.policies)
    except (ValueError, BacktestError, PlanError) as error:
        raise _permanent(error) from None
    seconds = time.perf_counter() - started
    run = {
        **result.run,
        "seconds": seconds,
        "settings": dataclasses.asdict(settings),
        "dagster_run_id": context.run.run_id,
    }
    record = context.instance.get_run_record_by_id(context.run.run_id)
    run_at = (
        datetime.fromtimestamp(record.start_time, tz=timezone.utc) if record is not None and record.start_time else None
    )
    try:
        written = backtest_store.write_backtest(
            plan_db.engine,
            context.run.run_id,
            run,
            result.results,
            result.weekly,
            run_at=run_at,
            retry_attempts=plan_db.retry_attempts,
        )
    except db.DatabaseError as error:
        raise retries.database_error(context, plan_db, error) from None
    except ValueError as error:
        raise _permanent(error) from None
    table = comparison(result.results)
    context.log.info(f"backtest {written.backtest_id}: {written.result_rows} result rows in {plan_db.masked_url}")
    metadata: dict[str, Any] = {
        "backtest_id": dg.MetadataValue.text(written.backtest_id),
        "dagster/row_count": dg.MetadataValue.int(written.result_rows),
        "comparison": comparison_metadata(table),
        "comparison_markdown": dg.MetadataValue.md(markdown_table(table, len(table))),
        "fill_rate_vs_inventory": png_markdown(
            fill_rate_vs_inventory_png(table), "fill rate against mean inventory value"
        ),
        "weekly_fill_rate": png_markdown(weekly_fill_rate_png(result.weekly), "weekly fill rate per policy"),
        "held_out": dg.MetadataValue.text(f"{result.run['held_out_start']} .. {result.run['held_out_end']}"),
        "history_days": dg.MetadataValue.int(int(result.run["history_days"])),
        "pairs": dg.MetadataValue.int(int(result.run["pairs"])),
        "budget_per_review": dg.MetadataValue.float(float(params.budget)),
        "seed": dg.MetadataValue.int(int(params.seed)),
        "database": dg.MetadataValue.text(plan_db.masked_url),
        "tables": dg.MetadataValue.text(
            ", ".join(t.name for t in (backtest_store.RUNS, backtest_store.RESULTS, backtest_store.WEEKLY))
        ),
        "backtest_seconds": dg.MetadataValue.float(seconds),
    }
    for row in table.to_dict("records"):  # numbers, so the UI plots them across runs
        for name in ("fill_rate", "mean_on_hand_value", "spend"):
            value = _number(row[name])
            if value is not None:
                metadata[f"{row['policy']}/{name}"] = dg.MetadataValue.float(value)
    return dg.MaterializeResult(metadata=metadata)


EVALUATION_ASSETS = [policy_backtest]
