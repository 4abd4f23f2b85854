"""The planning job launched through the webserver's GraphQL API with the official Python client.

A user's scheduler or CI can do the same: ``DagsterGraphQLClient.submit_job_execution`` with the plan's run
config, then ``get_run_status`` until the run finishes.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.defs.automation.schedules import plan_run_config
from inventory_assets_tests.dagster_server import LOCATION_NAME, REPOSITORY_NAME, dagster_server

RUN_TIMEOUT_SECONDS = 600

# gql (under the official client) warns about its own deprecated call style.
pytestmark = pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning")


def _wait_for_run(client, run_id: str, server) -> dg.DagsterRunStatus:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    status = client.get_run_status(run_id)
    while status not in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_TIMEOUT_SECONDS} s"
        time.sleep(2)
        status = client.get_run_status(run_id)
    assert status == dg.DagsterRunStatus.SUCCESS, f"run {run_id}: {status}\n{server.log_tail()}"
    return status


@pytest.mark.slow
def test_two_runs_at_once_write_their_plans_one_after_the_other(tmp_path: Path) -> None:
    """Sensor and schedule firing together: both runs succeed, their writes commit one after the other
    (the plan database's writer lock), and the current plan is one whole plan."""
    from inventory_assets.io import db, plan_store

    with dagster_server(tmp_path) as server:
        client = server.client()
        run_ids = [
            client.submit_job_execution(
                "planning_job",
                repository_location_name=LOCATION_NAME,
                repository_name=REPOSITORY_NAME,
                run_config=plan_run_config(),
                tags={"inventory/trigger": f"concurrency_test_{i}"},
            )
            for i in range(2)
        ]
        for run_id in run_ids:
            _wait_for_run(client, run_id, server)
        engine = db.make_engine(server.database_urls[db.PLAN_URL_VAR])
        history = plan_store.plan_history(engine)
        assert sorted(history["run_id"]) == sorted(run_ids)
        assert sorted(history["commit_seq"]) == [1, 2]  # two commits, one after the other
        current = plan_store.current_plan(engine)
        assert current["run_id"].nunique() == 1
        assert len(current) == int(history.loc[history["run_id"] == current["run_id"].iloc[0], "plan_rows"].iloc[0])


@pytest.mark.slow
def test_the_planning_job_launched_through_graphql_succeeds(tmp_path: Path) -> None:
    with dagster_server(tmp_path) as server:
        client = server.client()
        run_id = client.submit_job_execution(
            "planning_job",
            repository_location_name=LOCATION_NAME,
            repository_name=REPOSITORY_NAME,
            run_config=plan_run_config(),
            tags={"inventory/trigger": "graphql_client_test"},
        )
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        status = client.get_run_status(run_id)
        seen = [status]
        while status not in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_TIMEOUT_SECONDS} s"
            time.sleep(2)
            status = client.get_run_status(run_id)
            if status != seen[-1]:
                seen.append(status)
        assert status == dg.DagsterRunStatus.SUCCESS, f"run {run_id}: {seen}\n{server.log_tail()}"

        with server.instance() as instance:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.job_name == "planning_job"
            assert run.tags["inventory/trigger"] == "graphql_client_test"
            for key in defs().resolve_job_def("planning_job").asset_layer.executable_asset_keys:
                assert instance.get_latest_materialization_event(key) is not None, key
