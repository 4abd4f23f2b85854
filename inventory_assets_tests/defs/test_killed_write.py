"""A run killed while it writes the plan never blocks the next one, headless too (no daemon).

``dagster asset materialize`` runs the planning graph in the shell's process, as a user's CI does. The test
holds the plan database's write lock so the run stops inside ``published_plan``'s write, kills the process
(SIGKILL: no cleanup of any kind), lets the lock go, and runs the graph again: it must finish, and the
current plan must be its plan, whole. Nothing outside the database may still count the killed run as
writing: the plan writers take turns by the database's own lock, which dies with the connection.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inventory_assets.io import db, plan_store
from inventory_assets_tests.helpers import PROJECT_ROOT, write_demo

SELECT = "not group:evaluation and not key:budget_frontier"
RUN_TIMEOUT_SECONDS = 120


def _materialize(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "inventory_assets"]
    with log.open("w") as out:
        return subprocess.Popen(
            [*command, "--select", SELECT], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.mark.slow
def test_a_run_killed_mid_write_never_blocks_the_next_headless_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    urls = {var: f"sqlite:///{tmp_path / (var.lower() + '.db')}" for var in db.DEFAULT_URLS}
    write_demo(urls)
    plan_store.ensure_tables(urls[db.PLAN_URL_VAR])
    env = {**os.environ, **urls, "DAGSTER_HOME": str(home), "INVENTORY_EXPORT_DIR": str(tmp_path / "exports")}

    holder = sqlite3.connect(str(tmp_path / (db.PLAN_URL_VAR.lower() + ".db")), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # readers go on; the plan write waits for this lock
    first_log = tmp_path / "first.log"
    first = _materialize(env, first_log)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while "plan rows to" not in first_log.read_text():  # published_plan has started its write
            assert first.poll() is None, first_log.read_text()[-4000:]
            assert time.monotonic() < deadline, first_log.read_text()[-4000:]
            time.sleep(0.5)
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        holder.execute("ROLLBACK")
        holder.close()
    assert first.returncode == -signal.SIGKILL
    assert plan_store.current_run(urls[db.PLAN_URL_VAR]) is None  # the killed run committed nothing

    second_log = tmp_path / "second.log"
    second = _materialize(env, second_log)
    try:
        second.wait(timeout=RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        second.kill()
        pytest.fail("the next run is still waiting after the killed one:\n" + second_log.read_text()[-4000:])
    assert second.returncode == 0, second_log.read_text()[-4000:]
    run = plan_store.current_run(urls[db.PLAN_URL_VAR])
    assert run is not None
    current = plan_store.current_plan(urls[db.PLAN_URL_VAR])
    assert current["run_id"].nunique() == 1 and len(current) == int(run["plan_rows"])
