"""``planning_job_schedule``: cron and time zone from the environment; its runs plan with the run config's
defaults (``INVENTORY_PLAN_BUDGET`` for every launch path: ``inventory_assets_tests/test_budget_paths.py``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.defs.automation import schedules
from inventory_assets.defs.automation.schedules import build_planning_job_schedule, plan_run_config

SCHEDULE = "planning_job_schedule"


def test_the_schedule_is_registered_with_its_defaults() -> None:
    schedule = defs().resolve_schedule_def(SCHEDULE)
    assert schedule.job_name == "planning_job"
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_a_tick_requests_one_run_with_the_plans_run_config() -> None:
    schedule = defs().resolve_schedule_def(SCHEDULE)
    when = dt.datetime(2025, 3, 4, 6, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        data = schedule.evaluate_tick(context)
    assert data.run_requests is not None and len(data.run_requests) == 1
    request = data.run_requests[0]
    assert request.run_config == plan_run_config().to_config_dict()
    assert request.tags[schedules.TRIGGER_TAG] == SCHEDULE
    assert request.tags[schedules.SCHEDULED_FOR_TAG] == "2025-03-04T06:00:00+00:00"


def test_the_run_config_of_automated_runs_sets_no_knob_and_is_valid() -> None:
    """Empty: every knob keeps the run config's default, the same for every launch path."""
    job = defs().resolve_job_def("planning_job")
    config = plan_run_config()
    assert isinstance(config, dg.RunConfig)
    assert not config.ops and not config.resources and not config.execution
    result = dg.validate_run_config(job, config.to_config_dict())
    assert (
        result["ops"]["procurement_plan"]["config"]
        == dg.validate_run_config(job, {})["ops"]["procurement_plan"]["config"]
    )
    assert result["ops"]["procurement_plan"]["config"]["budget"] == 100_000.0


def test_cron_time_zone_and_status_come_from_the_environment() -> None:
    schedule = build_planning_job_schedule(
        {
            schedules.PLAN_CRON_VAR: "30 5 * * 1-5",
            schedules.PLAN_TIMEZONE_VAR: "Europe/Berlin",
            schedules.PLAN_SCHEDULE_STATUS_VAR: "RUNNING",
        }
    )
    assert schedule.cron_schedule == "30 5 * * 1-5"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # Empty values mean the defaults.
    default = build_planning_job_schedule({schedules.PLAN_CRON_VAR: "", schedules.PLAN_TIMEZONE_VAR: ""})
    assert (default.cron_schedule, default.execution_timezone) == ("0 6 * * *", "UTC")


@pytest.mark.parametrize(
    ("var", "bad"),
    [
        (schedules.PLAN_CRON_VAR, "every morning"),
        (schedules.PLAN_CRON_VAR, "0 25 * * *"),
        (schedules.PLAN_TIMEZONE_VAR, "Mars/Olympus"),
        (schedules.PLAN_TIMEZONE_VAR, "../etc/passwd"),
        (schedules.PLAN_SCHEDULE_STATUS_VAR, "yes"),
    ],
)
def test_a_bad_setting_fails_loudly_naming_its_variable(var: str, bad: str) -> None:
    with pytest.raises(ValueError, match=var):
        build_planning_job_schedule({var: bad})


def test_the_schedule_fires_at_the_configured_local_time() -> None:
    schedule = build_planning_job_schedule({schedules.PLAN_TIMEZONE_VAR: "America/New_York"})
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == "America/New_York"
    # Dagster evaluates the cron in execution_timezone: the tick of 2 July 2025 is 06:00 in New York.
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 7, 2, 6, 0, tzinfo=zoneinfo.ZoneInfo(schedule.execution_timezone))
    )
    run_requests = schedule.evaluate_tick(context).run_requests
    assert run_requests is not None, "the schedule asked for no run"
    request = run_requests[0]
    scheduled_for = dt.datetime.fromisoformat(request.tags[schedules.SCHEDULED_FOR_TAG])
    assert scheduled_for.astimezone(zoneinfo.ZoneInfo("UTC")).hour == 10  # EDT = UTC-4
