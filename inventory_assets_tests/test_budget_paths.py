"""One budget for every launch path: ``INVENTORY_PLAN_BUDGET`` sets the run config's default.

Each test sets the variable (``54321``), launches the plan one way and reads the budget back from the
plan the run wrote (``plan_store.current_run(...)["budget"]``), or, for the schedule's run request, from
the run config the planning job resolves for it (executing it would repeat the sensor's test):

- the UI's "Materialize all" and the Launchpad's defaults: the definitions' assets materialized in
  process with no run config (``test_materialize_all_plans_with_the_env_budget``);
- ``runs.execute`` (``dg.execute_job`` with the automation's run config) in a subprocess (``slow``):
  ``test_runs_execute_plans_with_the_env_budget``;
- the new-sales sensor's run request, executed: ``test_the_sensors_run_plans_with_the_env_budget``;
- the schedule's run request: ``test_the_schedules_run_uses_the_env_budget``;
- ``dagster asset materialize`` in a subprocess (``slow``): ``test_dagster_asset_materialize_uses_the_env_budget``;
- ``dg launch --job planning_job`` in a subprocess (``slow``): ``test_dg_launch_uses_the_env_budget``;
- the webserver (``dagster dev``, the UI's code location) and a run with no run config launched through
  GraphQL (``slow``): ``test_the_webserver_plans_with_the_env_budget``.

The variable is read when the definitions load (when a code location imports them). In process, the
fixture ``load_definitions_with`` imports the ``defs`` package again under the variable and puts the
process's own modules back at the end, so no other test sees the changed default.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.io import db, plan_store
from inventory_assets.io.plan_export import EXPORT_DIR_VAR
from inventory_assets_tests.helpers import PROJECT_ROOT, TINY, materialize, point_databases_at, write_demo

BUDGET_VAR = "INVENTORY_PLAN_BUDGET"
BUDGET = 54321.0
#: The modules whose import reads the variables (the definitions and everything that holds them).
_RELOADED = ("inventory_assets.definitions", "inventory_assets.defs", "inventory_assets.runs")

LoadDefinitions = Callable[..., dg.Definitions]


def _reloaded(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _RELOADED)


@pytest.fixture
def load_definitions_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadDefinitions]:
    """``load(**env)``: set the variables, import the definitions again and return ``defs()``.

    ``defs()`` (here and in the helpers) then builds from the new modules until the test ends; the
    process's modules are put back afterwards.
    """
    import inventory_assets.runs  # noqa: F401  (imported now, so it is put back afterwards)

    defs()  # every module of the defs package imported, so each is put back afterwards
    saved = {name: module for name, module in sys.modules.items() if _reloaded(name)}

    def load(**env: str) -> dg.Definitions:
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        for name in [name for name in sys.modules if _reloaded(name)]:
            del sys.modules[name]
        return defs()

    try:
        yield load
    finally:
        for name in [name for name in sys.modules if _reloaded(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():  # ``from inventory_assets import runs`` reads the attribute
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, module)


@pytest.fixture
def demo_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The TINY demo in fresh SQLite files, the three database variables pointed at them."""
    urls = point_databases_at(None, tmp_path, monkeypatch)
    write_demo(urls, TINY)
    return urls


def written_budget(urls: dict[str, str]) -> float:
    """The budget of the plan the last run wrote to the plan database."""
    current = plan_store.current_run(db.make_engine(urls[db.PLAN_URL_VAR]))
    assert current is not None, "no plan was written"
    return float(current["budget"])


def resolved_budget(definitions: dg.Definitions, run_config: Mapping[str, Any]) -> float:
    """The budget ``planning_job`` of ``definitions`` runs with for ``run_config`` (defaults filled in)."""
    resolved = dg.validate_run_config(definitions.resolve_job_def("planning_job"), dict(run_config))
    return float(resolved["ops"]["procurement_plan"]["config"]["budget"])


# --- in process ---------------------------------------------------------------------------------------


def test_the_budgets_default_is_the_variable_and_says_so(load_definitions_with: LoadDefinitions) -> None:
    definitions = load_definitions_with(
        **{BUDGET_VAR: "54321", "INVENTORY_FEATURES_SERVICE_LEVEL_A": "0.9", "INVENTORY_MERGE_MIN_RECEIPTS": "5"}
    )
    assert resolved_budget(definitions, {}) == BUDGET  # the Launchpad's default, what "Materialize all" runs
    ops = dg.validate_run_config(definitions.resolve_job_def("planning_job"), {})["ops"]
    assert ops["abc_risk_features"]["config"]["service_level_a"] == 0.9
    assert ops["merged_dataset"]["config"]["min_receipts"] == 5
    from inventory_assets.defs.planning.assets import PlanConfig  # the module imported under the variable

    assert PlanConfig().parameters().budget == BUDGET
    assert BUDGET_VAR in (PlanConfig.model_fields["budget"].description or "")


def test_without_the_variable_the_core_default_holds(load_definitions_with: LoadDefinitions) -> None:
    definitions = load_definitions_with(**{BUDGET_VAR: ""})  # empty: unset
    assert resolved_budget(definitions, {}) == 100_000.0


def test_a_bad_budget_fails_the_load_naming_the_variable(load_definitions_with: LoadDefinitions) -> None:
    with pytest.raises(Exception, match=f"{BUDGET_VAR}='a lot': expected a number"):
        load_definitions_with(**{BUDGET_VAR: "a lot"})
    with pytest.raises(Exception, match=f"{BUDGET_VAR}='-5'.*budget must be a finite number >= 0"):
        load_definitions_with(**{BUDGET_VAR: "-5"})


def test_materialize_all_plans_with_the_env_budget(
    demo_urls: dict[str, str], load_definitions_with: LoadDefinitions
) -> None:
    load_definitions_with(**{BUDGET_VAR: "54321"})
    result = materialize()  # the definitions' assets, no run config: the defaults, as "Materialize all"
    assert result.success
    assert written_budget(demo_urls) == BUDGET


@pytest.mark.slow
def test_runs_execute_plans_with_the_env_budget(tmp_path: Path) -> None:
    """``runs.execute``: the reconstructable job with the automation's run config (``plan_run_config``), in a
    process of its own that imports the definitions under the variable (a persistent instance pickles the
    steps' outputs, so the classes must be the ones the process imported, not reloaded ones)."""
    env = _subprocess_env(tmp_path)
    script = (
        "import dagster as dg\n"
        "from inventory_assets import runs\n"
        "with dg.DagsterInstance.get() as instance:\n"
        "    assert runs.execute(instance).success\n"
    )
    _run([sys.executable, "-c", script], env)
    assert written_budget(env) == BUDGET


def test_the_sensors_run_plans_with_the_env_budget(
    demo_urls: dict[str, str], load_definitions_with: LoadDefinitions
) -> None:
    definitions = load_definitions_with(**{BUDGET_VAR: "54321"})
    from inventory_assets.defs.resources import SqlDatabase

    sensor = definitions.resolve_sensor_def("new_sales_sensor")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"cloud_db": SqlDatabase(url=demo_urls[db.CLOUD_URL_VAR])}
        )
        result = sensor(context)
        assert isinstance(result, dg.SensorResult) and result.run_requests and len(result.run_requests) == 1
        request = result.run_requests[0]
        assert "procurement_plan" not in (request.run_config.get("ops") or {})  # no override of the default
        assert resolved_budget(definitions, request.run_config) == BUDGET
        job = definitions.resolve_job_def("planning_job")
        run = job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=instance)
        assert run.success
    assert written_budget(demo_urls) == BUDGET


def test_the_schedules_run_uses_the_env_budget(load_definitions_with: LoadDefinitions) -> None:
    definitions = load_definitions_with(**{BUDGET_VAR: "54321"})
    schedule = definitions.resolve_schedule_def("planning_job_schedule")
    when = dt.datetime(2025, 3, 4, 6, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    with dg.instance_for_test() as instance:
        data = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert data.run_requests is not None and len(data.run_requests) == 1
    request = data.run_requests[0]
    assert "procurement_plan" not in (request.run_config.get("ops") or {})
    assert resolved_budget(definitions, request.run_config) == BUDGET  # executed as the sensor's run above


# --- code locations in a subprocess (slow) ----------------------------------------------------------------


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    """A fresh DAGSTER_HOME with the project's dagster.yaml, the TINY demo, and the budget variable."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_")}
    if EXPORT_DIR_VAR in os.environ:  # the tests' exports stay in their temporary folder
        env[EXPORT_DIR_VAR] = os.environ[EXPORT_DIR_VAR]
    env["DAGSTER_HOME"] = str(home)
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)  # dg warns about an unset or other venv
    for var in db.DEFAULT_URLS:
        env[var] = f"sqlite:///{tmp_path / (var.lower() + '.db')}"
    write_demo({var: env[var] for var in db.DEFAULT_URLS}, TINY)
    env[BUDGET_VAR] = "54321"
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]


@pytest.mark.slow
def test_dagster_asset_materialize_uses_the_env_budget(tmp_path: Path) -> None:
    env = _subprocess_env(tmp_path)
    dagster = str(Path(sys.executable).parent / "dagster")
    _run([dagster, "asset", "materialize", "-m", "inventory_assets", "--select", "*published_plan"], env)
    assert written_budget(env) == BUDGET


@pytest.mark.slow
def test_dg_launch_uses_the_env_budget(tmp_path: Path) -> None:
    env = _subprocess_env(tmp_path)
    _run([str(Path(sys.executable).parent / "dg"), "launch", "--job", "planning_job"], env)
    assert written_budget(env) == BUDGET


@pytest.mark.slow
def test_the_webserver_plans_with_the_env_budget(tmp_path: Path) -> None:
    """``dagster dev`` (the UI's code location) with the variable: its Launchpad default, and a run launched
    with no run config (as "Materialize all" does) through GraphQL, read back from the written plan."""
    import time

    from inventory_assets_tests.dagster_server import LOCATION_NAME, REPOSITORY_NAME, dagster_server

    with dagster_server(tmp_path, env={BUDGET_VAR: "54321"}) as server:
        client = server.client()
        run_id = client.submit_job_execution(
            "planning_job", repository_location_name=LOCATION_NAME, repository_name=REPOSITORY_NAME, run_config={}
        )
        deadline = time.monotonic() + 600
        status = client.get_run_status(run_id)
        while status not in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            assert time.monotonic() < deadline, f"run {run_id} still {status}\n{server.log_tail()}"
            time.sleep(2)
            status = client.get_run_status(run_id)
        assert status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
        assert written_budget(dict(server.database_urls)) == BUDGET
