"""``inventory-assets backtest``: its ``main()`` in process on the tiny demo in temporary SQLite databases."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory_assets import cli
from inventory_assets.backtest import POLICIES
from inventory_assets.io import backtest_store, db
from inventory_assets_tests.helpers import point_databases_at, write_demo


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The tiny demo (45 days) in fresh SQLite files named by the three INVENTORY_*_DB_URL variables."""
    urls = point_databases_at(None, tmp_path, monkeypatch)
    write_demo(urls)
    return urls


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["backtest", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _written(url: str) -> int:
    engine = db.make_engine(url)
    if not sa.inspect(engine).has_table("backtest_runs"):
        return 0
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM backtest_runs")).scalar_one())


def test_the_backtest_prints_the_policies_side_by_side_and_writes_them(demo_env: dict[str, str]) -> None:
    code, out, err = run("--weeks", "2", "--budget", "20000", "--seed", "3")
    assert code == cli.EXIT_OK, err
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("policy"))
    for word in ("fill rate", "cycle service level", "lost value", "mean inventory value", "waste value", "spend"):
        assert word in lines[head]
    table = [line.split()[0] for line in lines[head + 2 : head + 2 + len(POLICIES)]]
    assert table == list(POLICIES)
    assert "written: backtest" in out

    run_row, results, weekly = backtest_store.latest_backtest(demo_env[db.PLAN_URL_VAR])
    assert run_row is not None
    assert run_row["backtest_id"] in out
    assert (run_row["weeks"], run_row["budget"], run_row["seed"]) == (2, 20_000.0, 3)
    assert run_row["policies"] == ",".join(POLICIES)
    assert run_row["figures"]["settings"]["budget"] == 20_000.0
    assert set(results["policy"]) == set(POLICIES)
    assert set(weekly["week"]) == {1, 2}
    totals = results[(results["abc_class"] == "all") & (results["echelon"] == "all")]
    for policy, fill in zip(totals["policy"], totals["fill_rate"], strict=True):
        assert f"{fill:.3f}" in next(line for line in lines if line.startswith(policy + " "))


def test_the_same_seed_gives_the_same_table_and_a_second_backtest_is_kept(demo_env: dict[str, str]) -> None:
    first = run("--weeks", "1", "--policies", "order_up_to,replace_sold")
    second = run("--weeks", "1", "--policies", "order_up_to,replace_sold")
    assert first[0] == second[0] == cli.EXIT_OK

    def table(out: str) -> list[str]:
        lines = out.splitlines()
        head = next(i for i, line in enumerate(lines) if line.startswith("policy"))
        return lines[head : head + 4]

    assert table(first[1]) == table(second[1])
    assert _written(demo_env[db.PLAN_URL_VAR]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policies", "plan,magic"], "unknown ['magic']"),
        (["--policies", "plan,plan"], "repeated"),
        (["--weeks", "7"], "feature window is too short"),
        (["--weeks", "2", "--history-days", "40"], "feature window is too short"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(
    demo_env: dict[str, str], argv: list[str], message: str
) -> None:
    code, _, err = run(*argv)
    assert code == cli.EXIT_USAGE
    assert message in err
    assert _written(demo_env[db.PLAN_URL_VAR]) == 0


@pytest.mark.parametrize(("argv", "message"), [(["--weeks", "0"], "not positive"), (["--budget", "-1"], ">= 0")])
def test_bad_option_values_are_usage_errors(demo_env: dict[str, str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as raised:
        run(*argv)
    assert raised.value.code == cli.EXIT_USAGE


def test_invalid_sources_exit_1_listing_every_failure_and_write_nothing(demo_env: dict[str, str]) -> None:
    onprem = db.make_engine(demo_env[db.ONPREM_URL_VAR])
    with onprem.begin() as conn:
        conn.execute(sa.text("UPDATE inventory SET on_hand = -5 WHERE rowid IN (SELECT rowid FROM inventory LIMIT 2)"))
        conn.execute(sa.text("UPDATE costs SET unit_cost = 0 WHERE rowid IN (SELECT rowid FROM costs LIMIT 1)"))
    code, _, err = run("--weeks", "2")
    assert code == cli.EXIT_FAILED
    assert "not valid, nothing was simulated" in err
    assert "inventory:" in err and "on_hand" in err
    assert "costs:" in err and "unit_cost" in err
    assert _written(demo_env[db.PLAN_URL_VAR]) == 0


def test_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["backtest", "--help"])
    assert raised.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option, words in {
        "--weeks": "held-out weeks",
        "--policies": "comma-separated policies",
        "--budget": "each weekly review",
        "--seed": "same seed gives the same numbers",
        "--history-days": "features see at each review",
    }.items():
        assert option in text and words in text, option
    for policy in POLICIES:
        assert policy in text
    assert db.PLAN_URL_VAR in text and db.CLOUD_URL_VAR in text and db.ONPREM_URL_VAR in text
    assert "Exit codes" in text
