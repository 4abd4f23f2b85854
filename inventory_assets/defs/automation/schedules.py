"""The daily schedule of the planning job, and the run config of automated runs (empty: the defaults).

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

The plan's knobs (the budget, ...) are not set here: their one source for every launch path is the run
config's default, which ``INVENTORY_PLAN_BUDGET`` and the other ``INVENTORY_PLAN_<KNOB>`` variables set
when the code location loads (``PlanConfig``, ``defs/config.py``).
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping

import dagster as dg

from inventory_assets.defs.automation.jobs import planning_job

PLAN_CRON_VAR = "INVENTORY_PLAN_CRON"
PLAN_TIMEZONE_VAR = "INVENTORY_PLAN_TIMEZONE"
PLAN_SCHEDULE_STATUS_VAR = "INVENTORY_PLAN_SCHEDULE_STATUS"

DEFAULT_PLAN_CRON = "0 6 * * *"
DEFAULT_PLAN_TIMEZONE = "UTC"

SCHEDULE_NAME = "planning_job_schedule"

#: Tags on every run the automation requests (the UI filters runs by them).
TRIGGER_TAG = "inventory/trigger"
SCHEDULED_FOR_TAG = "inventory/scheduled_for"


def plan_run_config() -> dg.RunConfig:
    """The run config of an automated run (the schedule, the new-sales sensor, ``runs.run_config``): empty.

    Every knob takes its run-config default, the one source shared with the UI, the CLI and ``dg launch``:
    ``INVENTORY_PLAN_BUDGET`` (and the other variables of docs/operations.md) when set, else the core's
    default. Overriding a knob here would make automated runs plan differently from the other launch
    paths; the place for an engine (``execution``) that only automated runs use is here.
    """
    return dg.RunConfig()


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
            f"graph with the run config's defaults (INVENTORY_PLAN_BUDGET, ...). Set {PLAN_CRON_VAR} / "
            f"{PLAN_TIMEZONE_VAR} to change when."
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
