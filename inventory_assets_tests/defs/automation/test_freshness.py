"""Freshness of the published plan: its policy comes from INVENTORY_PLAN_MAX_AGE_HOURS (bad values fail the
load naming it), and with the real webserver and daemons a plan older than that is shown as stale."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.defs import freshness
from inventory_assets.defs.config import EnvironmentDefaultError
from inventory_assets_tests.dagster_server import LOCATION_NAME, REPOSITORY_NAME, dagster_server


def test_the_published_plan_carries_the_configured_age() -> None:
    [spec] = defs().get_assets_def("published_plan").specs
    assert spec.freshness_policy == freshness.plan_freshness_policy()
    assert freshness.plan_max_age({}) == timedelta(hours=26)
    assert freshness.plan_max_age({freshness.PLAN_MAX_AGE_VAR: " 8 "}) == timedelta(hours=8)
    policy = freshness.plan_freshness_policy({freshness.PLAN_MAX_AGE_VAR: "0.5"})
    assert policy == dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=30))


@pytest.mark.parametrize("text", ["soon", "0", "-3", "0.001", "nan", "inf", "100000"])
def test_a_bad_age_fails_the_load_naming_the_variable(text: str) -> None:
    with pytest.raises(EnvironmentDefaultError, match=freshness.PLAN_MAX_AGE_VAR):
        freshness.plan_max_age({freshness.PLAN_MAX_AGE_VAR: text})


FRESHNESS_QUERY = """
query Freshness {
  assetNodes(assetKeys: [{path: ["published_plan"]}]) { freshnessStatusInfo { freshnessStatus } }
}
"""


def _status(server) -> str | None:
    [node] = server.graphql(FRESHNESS_QUERY)["assetNodes"]
    info = node["freshnessStatusInfo"]
    return info["freshnessStatus"] if info else None


@pytest.mark.slow
def test_a_plan_older_than_its_age_is_shown_as_stale_by_the_real_daemon(tmp_path: Path) -> None:
    """dagster dev (webserver + daemons): a fresh plan is healthy, the same plan 72 s later (the age set to
    0.02 h) is degraded, as the asset's page and the asset health overview show it."""
    env = {freshness.PLAN_MAX_AGE_VAR: "0.02", "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5"}
    with dagster_server(tmp_path, env=env) as server:
        client = server.client()
        run_id = client.submit_job_execution(
            "planning_job", repository_location_name=LOCATION_NAME, repository_name=REPOSITORY_NAME, run_config={}
        )
        deadline = time.monotonic() + 600
        while (status := client.get_run_status(run_id)) not in (
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        ):
            assert time.monotonic() < deadline, f"run {run_id} still {status}\n{server.log_tail()}"
            time.sleep(2)
        assert status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
        written = time.monotonic()

        seen = []
        while time.monotonic() < written + 72 + 60:
            seen.append((round(time.monotonic() - written), _status(server)))
            if seen[-1][1] == "DEGRADED":
                break
            time.sleep(3)
        statuses = [s for _, s in seen]
        assert "HEALTHY" in statuses, seen  # while the plan is younger than its age
        assert statuses[-1] == "DEGRADED", seen  # stale once it is older
        assert min(t for t, s in seen if s == "DEGRADED") >= 60, seen
