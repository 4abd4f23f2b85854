"""What ``make demo`` and ``inventory-assets summary`` print: the plan in use and how the latest run went.

Read from two places, in the order a buyer needs them:

1. the plan database (``INVENTORY_PLAN_DB_URL``; ``io.plan_store``): the plan in use, i.e. the newest
   committed run (its run id, when it was planned, spend against budget, rows at stock-out risk before and
   after, the five largest purchases and transfers);
2. the Dagster instance that ``DAGSTER_HOME`` names: the latest run that set out to make the plan (the
   latest planned materialization of ``procurement_plan``), its status, the steps that failed, the checks
   that failed and the checks that did not run, and whether the plan in use came from it; then the paths of
   the exports, from the latest ``published_plan`` materialization's metadata (``dagster/uri``,
   ``exports``), when present.

``python -m inventory_assets.summary`` prints it (the last step of ``make demo``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from inventory_assets.analytics.service import RISK_THRESHOLD, at_risk_by_class
from inventory_assets.io import db, plan_store
from inventory_assets.reporting.markdown import largest_orders, money, percent, units

PLAN_ASSET = dg.AssetKey("procurement_plan")
PUBLISHED_ASSET = dg.AssetKey("published_plan")
EXPORT_KEYS = ("dagster/uri", "exports")
LARGEST = 5
_MESSAGE_CHARS = 240


@dataclass
class RunReport:
    """What the latest run that set out to make the plan did (from its event log)."""

    run_id: str
    status: str
    started: datetime | None
    failed_steps: list[tuple[str, str]] = field(default_factory=list)
    """(step key, first line of the error)."""
    failed_checks: list[tuple[str, str]] = field(default_factory=list)
    """("asset:check", description) of checks that failed with severity ERROR."""
    warned_checks: list[tuple[str, str]] = field(default_factory=list)
    passed_checks: list[str] = field(default_factory=list)
    not_run_checks: list[str] = field(default_factory=list)
    """Checks the run planned that never produced an evaluation."""
    not_materialized: list[str] = field(default_factory=list)
    """Assets the run planned that it did not materialize."""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 3] + "..."


def _check_name(data: Any) -> str:
    return f"{data.asset_key.to_user_string()}:{data.check_name}"


def latest_plan_run(instance: dg.DagsterInstance) -> RunReport | None:
    """The latest run that planned to materialize ``procurement_plan``, read from its event log."""
    info = instance.get_latest_planned_materialization_info(PLAN_ASSET)
    run = instance.get_run_by_id(info.run_id) if info is not None else None
    if run is None:
        return None
    record = instance.get_run_record_by_id(run.run_id)
    started = datetime.fromtimestamp(record.start_time, tz=timezone.utc) if record and record.start_time else None
    report = RunReport(run_id=run.run_id, status=run.status.value, started=started)
    kinds = {
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
    }
    planned_checks: list[str] = []
    evaluated: set[str] = set()
    planned_assets: list[str] = []
    materialized: set[str] = set()
    for entry in instance.all_logs(run.run_id, of_type=kinds):
        event = entry.dagster_event
        if event is None:
            continue
        data: Any = event.event_specific_data  # its type depends on the event's kind
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_FAILURE:
            error = getattr(data, "error", None)
            report.failed_steps.append((event.step_key or "?", _first_line(getattr(error, "message", ""))))
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            planned_checks.append(_check_name(data))
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            name = _check_name(data)
            evaluated.add(name)
            if data.passed:
                report.passed_checks.append(name)
            elif data.severity == dg.AssetCheckSeverity.ERROR:
                report.failed_checks.append((name, _first_line(data.description)))
            else:
                report.warned_checks.append((name, _first_line(data.description)))
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned_assets.append(data.asset_key.to_user_string())
        elif event.asset_key is not None:
            materialized.add(event.asset_key.to_user_string())
    report.not_run_checks = [name for name in planned_checks if name not in evaluated]
    report.not_materialized = [name for name in planned_assets if name not in materialized]
    return report


def export_paths(instance: dg.DagsterInstance) -> list[str]:
    """The export paths in the latest ``published_plan`` materialization's metadata (none if absent)."""
    event = instance.get_latest_materialization_event(PUBLISHED_ASSET)
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return []
    paths: list[str] = []
    for key in EXPORT_KEYS:
        entry = materialization.metadata.get(key)
        value = getattr(entry, "value", entry) if entry is not None else None
        if isinstance(value, dict):
            paths += [f"{name}: {path}" for name, path in value.items()]
        elif isinstance(value, (list, tuple)):
            paths += [str(path) for path in value]
        elif value is not None and str(value) not in paths:
            paths.append(str(getattr(value, "path", value)))
    return paths


def _when(value: Any) -> str:
    if value is None:
        return "an unknown time"
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M %Z")


def _order_lines(frame: pd.DataFrame, source_label: str) -> list[str]:
    if frame.empty:
        return ["    (none)"]
    lines = [
        f"    {'product':<12} {'location':<10} {source_label:<10} {'quantity':>10} {'value':>12}  "
        f"{'risk before -> after':<21} reason"
    ]
    for row in frame.itertuples(index=False):
        lines.append(
            f"    {row.product_id:<12} {row.location_id:<10} {row.source:<10} {units(row.order_qty):>10} "
            f"{money(row.value):>12}  {percent(row.risk_before):>8} -> {percent(row.risk_after):<8}  {row.reason_code}"
        )
    return lines


def plan_lines(run: dict[str, Any] | None, plan: pd.DataFrame, url: str) -> list[str]:
    """The plan in use: run, time, spend against budget, risk before and after, the largest orders."""
    if run is None:
        return [f"The plan in use: none yet (no plan written to {url})."]
    budget, spend = float(run["budget"]), float(run["spend"])
    purchases = int(((plan["order_qty"] > 0) & plan["source_location_id"].isna()).sum())
    transfers = int(((plan["order_qty"] > 0) & plan["source_location_id"].notna()).sum())
    risk = at_risk_by_class(plan["abc_class"], plan["stockout_risk_before"], plan["stockout_risk_after"])
    total = risk.iloc[-1]
    by_class = ", ".join(f"{r.abc_class} {int(r.before):,} -> {int(r.after):,}" for r in risk.iloc[:-1].itertuples())
    share = spend / budget if budget > 0 else float("nan")
    return [
        f"The plan in use (plan database {url})",
        f"  run {run['run_id']}, planned at {_when(run['planned_at'])}, {len(plan):,} rows",
        f"  spend {money(spend)} of the budget {money(budget)} ({percent(share)}); "
        f"{purchases:,} purchases, {transfers:,} transfers",
        f"  rows with stock-out risk above {100 * RISK_THRESHOLD:.0f} %: {int(total.before):,} before the plan, "
        f"{int(total.after):,} after (by ABC class: {by_class})",
        "",
        f"  The {LARGEST} largest purchases (by value):",
        *_order_lines(largest_orders(plan, "purchase", LARGEST), "from"),
        "",
        f"  The {LARGEST} largest transfers (by quantity x unit cost; transfers spend no budget):",
        *_order_lines(largest_orders(plan, "transfer", LARGEST), "from"),
    ]


def _listed(title: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return [f"  {title}: {', '.join(items)}"] if items else []


def run_lines(report: RunReport | None, plan_run_id: str | None) -> list[str]:
    """How the latest run that set out to make the plan went."""
    if report is None:
        return ["The latest planning run: none in this Dagster instance."]
    when = report.started.strftime("%Y-%m-%d %H:%M %Z") if report.started else "an unknown time"
    outcome = "succeeded" if report.succeeded else f"{report.status} (not successful)"
    lines = [f"The latest planning run: {report.run_id}, started {when}: {outcome}"]
    for step, message in report.failed_steps:
        lines.append(f"  step {step} FAILED: {message}")
    for name, message in report.failed_checks:
        lines.append(f"  check {name} FAILED: {message}")
    for name, message in report.warned_checks:
        lines.append(f"  check {name} warned: {message}")
    n_checks = len(report.passed_checks) + len(report.failed_checks) + len(report.warned_checks)
    lines.append(f"  checks: {len(report.passed_checks)} of {n_checks + len(report.not_run_checks)} passed")
    lines += _listed("checks not run", report.not_run_checks)
    lines += _listed("assets not materialized", report.not_materialized)
    if plan_run_id is not None and plan_run_id != report.run_id:
        lines.append(f"  this run did not publish a plan: the plan in use is the last good one, from run {plan_run_id}")
    elif plan_run_id is not None:
        lines.append("  the plan in use is this run's")
    return lines


def summary_lines(instance: dg.DagsterInstance, plan_engine: sa.Engine) -> list[str]:
    """Every line of the summary, in the order a buyer reads them."""
    url = db.mask_url(plan_engine.url.render_as_string(hide_password=False))
    run = plan_store.current_run(plan_engine)
    plan = plan_store.current_plan(plan_engine) if run is not None else pd.DataFrame()
    report = latest_plan_run(instance)
    lines = ["", *plan_lines(run, plan, url), "", *run_lines(report, run["run_id"] if run else None)]
    exports = export_paths(instance)
    lines += ["", "Exports:", *(f"  {path}" for path in exports)] if exports else ["", "Exports: none recorded."]
    return [*lines, ""]


def print_summary(out: TextIO | None = None) -> int:
    """Print the summary for the instance of ``DAGSTER_HOME`` and ``INVENTORY_PLAN_DB_URL``; 0, or 1 if the
    latest planning run did not succeed."""
    out = out or sys.stdout
    engine = db.make_engine(db.url_from_env(db.PLAN_URL_VAR))
    with dg.DagsterInstance.get() as instance:
        print("\n".join(summary_lines(instance, engine)), file=out)
        report = latest_plan_run(instance)
    return 0 if report is None or report.succeeded else 1


def main() -> int:
    return print_summary()


if __name__ == "__main__":
    sys.exit(main())
