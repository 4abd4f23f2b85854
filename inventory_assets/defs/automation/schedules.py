"""The daily schedule of the planning job, and the one place the run config of a planned run is made.

Cron, time zone and default status come from environment variables read when the code location loads
(the definitions are built then), with defaults for the demo:

=================================  ===============  ==================================================
variable                           default          meaning
=================================  ===============  ==================================================
``INVENTORY_PLAN_CRON``            ``0 6 * * *``    when the plan is made (a five-field cron string)
``INVENTORY_PLAN_TIMEZONE``        ``UTC``          the cron's IANA time zone, e.g. ``Europe/Berlin``
``INVENTORY_PLAN_SCHEDULE_STATUS`` ``STOPPED``      ``RUNNING`` turns the schedule on at deployment
=================================  ===============  ==================================================

An invalid value fails the code location's load with an error naming the variable (never a silent
fallback to the default). See ``docs/operations.md``.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping

import dagster as dg

from inventory_assets.defs.automation.jobs import planning_job
from inventory_assets.defs.planning.assets import PlanConfig
from inventory_assets.optimization.params import PlanParameters

PLAN_CRON_VAR = "INVENTORY_PLAN_CRON"
PLAN_TIMEZONE_VAR = "INVENTORY_PLAN_TIMEZONE"
PLAN_SCHEDULE_STATUS_VAR = "INVENTORY_PLAN_SCHEDULE_STATUS"

DEFAULT_PLAN_CRON = "0 6 * * *"
DEFAULT_PLAN_TIMEZONE = "UTC"

SCHEDULE_NAME = "planning_job_schedule"

#: Tags on every run the automation requests (the UI filters runs by them).
TRIGGER_TAG = "inventory/trigger"
SCHEDULED_FOR_TAG = "inventory/scheduled_for"
BUDGET_VAR = "INVENTORY_PLAN_BUDGET"


def plan_run_config(environ: Mapping[str, str] | None = None) -> dg.RunConfig:
    """The run config of an automated run: used by the schedule, the new-sales sensor and the GraphQL test.

    This is the one place the plan's parameters of an automated run are set: the budget comes from
    ``INVENTORY_PLAN_BUDGET`` (default 100,000); every other field keeps its ``PlanConfig`` default.
    """
    text = (_environ(environ).get(BUDGET_VAR) or "").strip()
    try:
        budget = float(text) if text else PlanParameters().budget
    except ValueError:
        raise ValueError(f"{BUDGET_VAR} must be a number, got {text!r}") from None
    return dg.RunConfig(ops={"procurement_plan": PlanConfig.model_validate({"budget": budget})})


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def default_status_from_env(var: str, environ: Mapping[str, str] | None = None) -> dg.DefaultScheduleStatus:
    """``STOPPED`` (unset or empty) or ``RUNNING`` from ``var``; anything else is a clear ValueError.

    The same enum values serve sensors (``dg.DefaultSensorStatus(status.value)``).
    """
    text = (_environ(environ).get(var) or "STOPPED").strip().upper()
    if text not in ("STOPPED", "RUNNING"):
        raise ValueError(f"{var}={text!r}: expected RUNNING or STOPPED")
    return dg.DefaultScheduleStatus(text)


def plan_cron(environ: Mapping[str, str] | None = None) -> str:
    """The schedule's cron string from ``INVENTORY_PLAN_CRON`` (default ``0 6 * * *``), validated."""
    cron = (_environ(environ).get(PLAN_CRON_VAR) or DEFAULT_PLAN_CRON).strip()
    try:  # Dagster's own rule: the schedule it would build refuses what it cannot run
        dg.ScheduleDefinition(name=SCHEDULE_NAME, cron_schedule=cron, job=planning_job)
    except dg.DagsterInvalidDefinitionError:
        raise ValueError(
            f"{PLAN_CRON_VAR}={cron!r} is not a valid cron string (e.g. '0 6 * * *': 06:00 every day)"
        ) from None
    return cron


def plan_timezone(environ: Mapping[str, str] | None = None) -> str:
    """The schedule's IANA time zone from ``INVENTORY_PLAN_TIMEZONE`` (default ``UTC``), validated."""
    name = (_environ(environ).get(PLAN_TIMEZONE_VAR) or DEFAULT_PLAN_TIMEZONE).strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{PLAN_TIMEZONE_VAR}={name!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None
    return name


def build_planning_job_schedule(environ: Mapping[str, str] | None = None) -> dg.ScheduleDefinition:
    """The daily schedule of ``planning_job``, configured from ``environ`` (default: the process's)."""
    cron = plan_cron(environ)
    timezone = plan_timezone(environ)

    @dg.schedule(
        name=SCHEDULE_NAME,
        job=planning_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=default_status_from_env(PLAN_SCHEDULE_STATUS_VAR, environ),
        description=(
            f"Makes the procurement plan on the cron '{cron}' ({timezone}): one run of the whole planning "
            f"graph with the plan's run config. Set {PLAN_CRON_VAR} / {PLAN_TIMEZONE_VAR} to change when."
        ),
    )
    def planning_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        tags = {TRIGGER_TAG: SCHEDULE_NAME}
        if scheduled is not None:
            tags[SCHEDULED_FOR_TAG] = scheduled.isoformat()
        return dg.RunRequest(run_config=plan_run_config(), tags=tags)

    return planning_job_schedule


planning_job_schedule = build_planning_job_schedule()

SCHEDULES = [planning_job_schedule]
