"""The definitions load, every asset follows the house rules, the instance is the project's, and the
`dagster asset materialize` command a user's CI runs succeeds on fresh demo data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from inventory_assets.definitions import defs
from inventory_assets.io import db, plan_store
from inventory_assets.io.plan_export import EXPORT_DIR_VAR
from inventory_assets_tests.helpers import BACKTESTABLE, PROJECT_ROOT, write_demo


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs())
    for job in ("planning_job", "sources_job"):
        assert defs().resolve_job_def(job) is not None


def test_every_asset_has_a_docstring_group_and_kinds() -> None:
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 30, key
        assert node.group_name in ("sources", "features", "planning", "evaluation"), key
        assert node.kinds, key


def test_the_source_urls_come_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, var in (("cloud_db", db.CLOUD_URL_VAR), ("onprem_db", db.ONPREM_URL_VAR), ("plan_db", db.PLAN_URL_VAR)):
        resources = defs().resources
        assert resources is not None
        resource = resources[name]
        assert resource.url is None and resource.url_env_var == var
        monkeypatch.setenv(var, "postgresql+psycopg://planner:s3cret@db.example/x")
        assert resource.resolved_url.endswith("@db.example/x") and "s3cret" not in resource.masked_url


def test_unset_urls_default_to_the_embedded_sqlite_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.CLOUD_URL_VAR, "")
    monkeypatch.delenv(db.PLAN_URL_VAR, raising=False)
    before = dict(os.environ)
    resources = defs().resources
    assert resources is not None
    assert resources["cloud_db"].resolved_url == f"sqlite:///{PROJECT_ROOT / 'data' / 'cloud.db'}"
    assert resources["plan_db"].resolved_url.endswith("data/plan.db")
    assert dict(os.environ) == before  # loading the definitions writes nothing into the environment


def test_the_instance_reads_the_projects_dagster_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.get()
    try:
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        # crashed runs are retried; failed steps are not (permanent errors must stay failed)
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        config = instance.get_concurrency_config()
        assert config.run_queue_config is not None
        assert config.run_queue_config.max_concurrent_runs == 2
        assert config.pool_config.default_pool_limit == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        assert instance.get_settings("run_monitoring")["free_slots_after_run_end_seconds"] == 30
    finally:
        instance.dispose()


def _project_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_")}
    if EXPORT_DIR_VAR in os.environ:  # the tests' exports stay in their temporary folder
        env[EXPORT_DIR_VAR] = os.environ[EXPORT_DIR_VAR]
    env["DAGSTER_HOME"] = str(home)
    for var in db.DEFAULT_URLS:
        env[var] = f"sqlite:///{tmp_path / (var.lower() + '.db')}"
    return env


@pytest.mark.slow
def test_dagster_asset_materialize_twice_makes_two_plans_and_the_second_is_current(tmp_path: Path) -> None:
    """What a user's CI runs: the command line, the package as the module, the project's dagster.yaml."""
    env = _project_env(tmp_path)
    write_demo({var: env[var] for var in db.DEFAULT_URLS}, BACKTESTABLE)  # '*' includes the backtest
    dagster = Path(sys.executable).parent / "dagster"
    for _ in range(2):
        completed = subprocess.run(
            [str(dagster), "asset", "materialize", "-m", "inventory_assets", "--select", "*"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
        assert "RUN_SUCCESS" in completed.stderr
    os.environ["DAGSTER_HOME"], saved = env["DAGSTER_HOME"], os.environ.get("DAGSTER_HOME")
    instance = dg.DagsterInstance.get()
    if saved is None:
        del os.environ["DAGSTER_HOME"]
    else:
        os.environ["DAGSTER_HOME"] = saved
    try:
        records = instance.get_run_records()  # newest first
        assert len(records) == 2 and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        graph = defs().resolve_asset_graph()
        for key in graph.materializable_asset_keys:  # every asset but the observed source sales_lines
            assert instance.get_latest_materialization_event(key) is not None, key
        assert graph.get_all_asset_keys() - graph.materializable_asset_keys == {dg.AssetKey("sales_lines")}
        newest = records[0].dagster_run.run_id
    finally:
        instance.dispose()
    engine = db.make_engine(env[db.PLAN_URL_VAR])
    history = plan_store.plan_history(engine)
    assert len(history) == 2
    current = plan_store.current_run(engine)
    assert current is not None and current["run_id"] == newest


@pytest.mark.slow
def test_dg_finds_the_definitions() -> None:
    dg_cli = Path(sys.executable).parent / "dg"
    completed = subprocess.run(
        [str(dg_cli), "list", "defs", "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DAGSTER_HOME": str(PROJECT_ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "procurement_plan" in completed.stdout and "planning_job" in completed.stdout
