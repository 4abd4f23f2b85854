"""The ``inventory-assets`` console command: ``demo-data`` end to end, as a subprocess and in-process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory_assets import cli
from inventory_assets.io import db
from inventory_assets_tests.conftest import backend_params

COMMAND = Path(sys.executable).parent / "inventory-assets"
TINY_ARGS = ["--products", "30", "--dcs", "1", "--stores", "2", "--days", "20", "--seed", "3"]
TABLES = ("sales", "locations", "inventory", "costs", "receipts")


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    if not COMMAND.exists():
        pytest.skip(f"the console script is not installed at {COMMAND} (pip install -e .)")
    return subprocess.run([str(COMMAND), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[db.CLOUD_URL_VAR] = f"sqlite:///{tmp_path / 'cloud.db'}"
    env[db.ONPREM_URL_VAR] = f"sqlite:///{tmp_path / 'onprem.db'}"
    env[db.PLAN_URL_VAR] = f"sqlite:///{tmp_path / 'plan.db'}"
    return env


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_demo_data_end_to_end_refuses_then_replaces(sqlite_env: dict[str, str]) -> None:
    cloud, onprem = sqlite_env[db.CLOUD_URL_VAR], sqlite_env[db.ONPREM_URL_VAR]

    first = _run(["demo-data", *TINY_ARGS], sqlite_env)
    assert first.returncode == 0, first.stderr
    assert cloud in first.stdout and onprem in first.stdout  # the targets (no password here to mask)
    assert "rows written" in first.stdout  # progress
    summary = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in first.stdout.splitlines()[-5:]}
    assert set(summary) == set(TABLES)
    assert summary["sales"] == _count(cloud, "sales") > 0
    for table in TABLES[1:]:
        assert summary[table] == _count(onprem, table) > 0
    assert summary["locations"] == 3 and summary["costs"] == 30

    again = _run(["demo-data", *TINY_ARGS, "--seed", "4"], sqlite_env)
    assert again.returncode == 2
    assert "already exist" in again.stderr and "--replace" in again.stderr
    for table in TABLES:
        assert table in again.stderr
    assert _count(cloud, "sales") == summary["sales"]  # untouched

    replaced = _run(["demo-data", *TINY_ARGS, "--seed", "4", "--replace", "--quiet"], sqlite_env)
    assert replaced.returncode == 0, replaced.stderr
    assert "rows written" not in replaced.stdout  # quiet: no progress
    assert "done in" in replaced.stdout
    assert _count(cloud, "sales") != summary["sales"]  # another seed, other data


@pytest.mark.slow
def test_help_names_the_variables_and_every_option(sqlite_env: dict[str, str]) -> None:
    top = _run(["--help"], sqlite_env)
    assert top.returncode == 0 and "demo-data" in top.stdout
    helped = _run(["demo-data", "--help"], sqlite_env)
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    for option in ("--size", "--products", "--dcs", "--stores", "--days", "--seed", "--replace", "--quiet"):
        assert option in text
    for var in (db.CLOUD_URL_VAR, db.ONPREM_URL_VAR):
        assert var in text
    assert "data/cloud.db" in text and "data/onprem.db" in text  # the defaults
    assert "small" in text and "medium" in text and "large" in text


@pytest.mark.slow
def test_unreachable_database_fails_without_showing_the_password(sqlite_env: dict[str, str]) -> None:
    env = dict(sqlite_env)
    env[db.CLOUD_URL_VAR] = "postgresql+psycopg://demo:s3cret-pw@127.0.0.1:1/nowhere"
    result = _run(["demo-data", *TINY_ARGS], env)
    assert result.returncode == 1
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "***" in result.stdout  # the masked target is shown
    assert "failed" in result.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["demo-data", "--products", "0"], ["demo-data", "--size", "huge"], ["demo-data", "--days", "x"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2, argv
    assert "--products" in capsys.readouterr().err


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_main_writes_into_the_configured_databases(database_env: dict[str, str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["demo-data", *TINY_ARGS, "--quiet"], out=out, err=err) == 0, err.getvalue()
    cloud = database_env[db.CLOUD_URL_VAR]
    assert db.mask_url(cloud) in out.getvalue()
    engine = db.make_engine(cloud)
    assert {"sales"} <= db.table_names(engine)
    assert db.read_frame(engine, "SELECT COUNT(*) AS n FROM sales")["n"].iloc[0] > 0

    assert cli.main(["demo-data", *TINY_ARGS], out=io.StringIO(), err=(refusal := io.StringIO())) == 2
    assert "--replace" in refusal.getvalue()
    assert cli.main(["demo-data", *TINY_ARGS, "--replace", "--quiet"], out=io.StringIO(), err=err) == 0
