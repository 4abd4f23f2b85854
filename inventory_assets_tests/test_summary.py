"""The summary ``make demo`` and ``inventory-assets summary`` print: the plan in use, the latest run's
outcome (a failed check named, checks that did not run said so), the largest orders."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from inventory_assets import cli
from inventory_assets.io import db
from inventory_assets.summary import latest_plan_run, summary_lines
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import check_results, materialize, write_demo


def _text(instance: dg.DagsterInstance, urls: dict[str, str]) -> str:
    return "\n".join(summary_lines(instance, db.make_engine(urls[db.PLAN_URL_VAR])))


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_summary_of_a_successful_run(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    instance = dg.DagsterInstance.ephemeral()
    before = _text(instance, database_env)
    assert "The plan in use: none yet" in before and "none in this Dagster instance" in before
    good = materialize(instance=instance, raise_on_error=True)
    text = _text(instance, database_env)
    print(text)
    assert f"run {good.run_id}, planned at " in text
    assert "of the budget $100,000" in text and "e+" not in text
    assert "rows with stock-out risk above 50 %:" in text
    assert f"The latest planning run: {good.run_id}" in text and "succeeded" in text
    assert "the plan in use is this run's" in text
    assert "FAILED" not in text and "not run" not in text and "planned:" not in text
    # the plan first, then the run, then the exports; purchases before transfers
    order = [
        text.index(s) for s in ("The plan in use", "largest purchases", "largest transfers", "latest planning run")
    ]
    assert order == sorted(order)
    purchases = text.split("largest purchases")[1].split("largest transfers")[0]
    assert purchases.count("supplier") >= 1


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_summary_after_a_failed_check_names_it_and_the_last_good_plan(
    database_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo(database_env)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.get() as instance:
        good = materialize(instance=instance, raise_on_error=True)
        with db.make_engine(database_env[db.ONPREM_URL_VAR]).begin() as conn:
            conn.execute(sa.text("UPDATE inventory SET on_hand = -1 WHERE product_id = 'P000002'"))
        failed = materialize(instance=instance)
        assert not failed.success and not check_results(failed)["inventory_valid"].passed
        report = latest_plan_run(instance)
        assert report is not None and report.run_id == failed.run_id and not report.succeeded
        assert "inventory:inventory_valid" in [name for name, _ in report.failed_checks]
        assert "procurement_plan:procurement_plan_valid" in report.not_run_checks
        assert "procurement_plan" in report.not_materialized
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["summary"], out=out, err=err) == cli.EXIT_FAILED, err.getvalue()
    text = out.getvalue()
    print(text)
    assert f"The latest planning run: {failed.run_id}" in text and "(not successful)" in text
    assert "check inventory:inventory_valid FAILED" in text
    assert "checks not run:" in text and "procurement_plan:procurement_plan_valid" in text
    assert f"the plan in use is the last good one, from run {good.run_id}" in text
    assert f"run {good.run_id}, planned at " in text
    assert "planned:" not in text and "units_sold" not in text
