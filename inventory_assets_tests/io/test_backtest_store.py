"""The backtest store on real SQLite, PostgreSQL and MariaDB databases (no mocks).

A failure halfway is injected through the data: a duplicate key in the results, which the database
refuses after the old copy was deleted and the weekly rows inserted in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.backtest import RESULT_COLUMNS
from inventory_assets.contract import spec
from inventory_assets.io import backtest_store, db
from inventory_assets_tests.conftest import backend_params

all_backends = pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
T0 = datetime(2026, 11, 21, 8, 0, 0, 123456, tzinfo=timezone.utc)
POLICIES = ["plan", "order_up_to"]
CELLS = [("all", "all"), ("A", "all"), ("C", "all"), ("all", "0"), ("all", "1"), ("A", "0"), ("C", "1")]
COUNTS = ("pairs", "demand_cycles", "stockout_cycles", "orders", "purchase_orders", "transfer_orders")


def make_results(seed: int = 0, policies: list[str] = POLICIES) -> pd.DataFrame:
    """A results frame of the shape ``BacktestResult.results`` has (a NaN ratio in one row)."""
    rng = np.random.default_rng(seed)
    rows = []
    for policy in policies:
        for abc, echelon in CELLS:
            row: dict[str, object] = {"policy": policy, "abc_class": abc, "echelon": echelon}
            for name in RESULT_COLUMNS[3:]:
                row[name] = float(rng.integers(0, 50)) if name in COUNTS else float(rng.uniform(0, 1e6))
            row["fill_rate"] = float(rng.uniform(0.5, 1.0))
            row["cycle_service_level"] = float(rng.uniform(0.5, 1.0))
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame.loc[len(frame) - 1, ["fill_rate", "cycle_service_level"]] = np.nan
    return frame


def make_weekly(policies: list[str] = POLICIES, weeks: int = 3) -> pd.DataFrame:
    first = pd.Timestamp("2026-10-01")
    rows = [
        {
            "policy": p,
            "week": w,
            "week_start": first + pd.Timedelta(days=7 * (w - 1)),
            "demand_units": 100.0 * w,
            "served_units": 90.0 * w,
            "fill_rate": 0.9,
        }
        for p in policies
        for w in range(1, weeks + 1)
    ]
    return pd.DataFrame(rows)


def make_run(policies: list[str] = POLICIES, **extra: object) -> dict[str, object]:
    return {
        "weeks": 3,
        "review_days": 7,
        "policies": policies,
        "budget": 50_000.0,
        "seed": 4,
        "backorders": False,
        "data_start": "2026-07-01",
        "data_end": "2026-10-21",
        "held_out_start": "2026-10-01",
        "held_out_end": "2026-10-21",
        "history_days": 64,
        "review_dates": ["2026-10-01", "2026-10-08", "2026-10-15"],
        "pairs": 12,
        "held_out_demand_units": 600.0,
        "unstocked_held_out_units": 3.0,
        "lead_time_levels": {"pair": 10, "default": 2},
        "plan_critical_relaxed_reviews": {"plan": 1, "order_up_to": 0},
        **extra,
    }


def _counts(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (backtest_store.RUNS, backtest_store.RESULTS, backtest_store.WEEKLY)
        }


@all_backends
def test_a_backtest_round_trips_with_the_same_values_and_dtypes(empty_database: str) -> None:
    results, weekly = make_results(), make_weekly()
    written = backtest_store.write_backtest(empty_database, "bt-1", make_run(seconds=1.5), results, weekly, run_at=T0)
    assert (written.result_rows, written.weekly_rows, written.attempts) == (len(results), len(weekly), 1)

    run, stored, stored_weekly = backtest_store.latest_backtest(empty_database)
    assert run is not None
    assert run["backtest_id"] == "bt-1"
    assert run["run_at"] == T0
    assert run["policies"] == "plan,order_up_to"
    assert (run["weeks"], run["seed"], run["reviews"], run["pairs"], run["result_rows"]) == (3, 4, 3, 12, 14)
    assert run["budget"] == 50_000.0 and run["seconds"] == 1.5 and run["backorders"] is False
    assert str(run["held_out_start"]) == "2026-10-01" and str(run["data_end"]) == "2026-10-21"
    assert run["figures"]["lead_time_levels"] == {"pair": 10, "default": 2}

    assert list(stored.columns) == spec.BACKTEST_RESULTS.column_names
    expected = results.copy()
    expected.insert(0, "backtest_id", "bt-1")
    for name in COUNTS:
        expected[name] = expected[name].astype(np.int64)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=True, rtol=0, atol=0)
    assert np.isnan(stored["fill_rate"].iloc[-1])

    expected_weekly = weekly.copy()
    expected_weekly.insert(0, "backtest_id", "bt-1")
    pd.testing.assert_frame_equal(stored_weekly, expected_weekly, check_dtype=False)


@all_backends
def test_writing_the_same_id_again_leaves_one_copy_with_the_new_values(empty_database: str) -> None:
    backtest_store.write_backtest(empty_database, "bt-1", make_run(), make_results(0), make_weekly(), run_at=T0)
    backtest_store.write_backtest(
        empty_database, "bt-1", make_run(["plan"]), make_results(1, ["plan"]), make_weekly(["plan"], 2), run_at=T0
    )
    assert _counts(empty_database) == {"backtest_runs": 1, "backtest_results": 7, "backtest_weekly": 2}
    _, stored, _ = backtest_store.backtest_results(empty_database, "bt-1")
    assert stored["spend"].tolist() == make_results(1, ["plan"])["spend"].tolist()


@all_backends
def test_a_failure_halfway_leaves_the_old_copy_whole(empty_database: str) -> None:
    good = make_results(0)
    backtest_store.write_backtest(empty_database, "bt-1", make_run(), good, make_weekly(), run_at=T0)
    duplicated = pd.concat([make_results(1), make_results(1).iloc[[3]]], ignore_index=True)  # a repeated key
    with pytest.raises(db.DatabaseError) as raised:
        backtest_store.write_backtest(empty_database, "bt-1", make_run(), duplicated, make_weekly(["plan"], 1))
    assert not raised.value.transient
    assert _counts(empty_database) == {"backtest_runs": 1, "backtest_results": 14, "backtest_weekly": 6}
    _, stored, _ = backtest_store.backtest_results(empty_database, "bt-1")
    assert stored["spend"].tolist() == good["spend"].tolist()


@all_backends
def test_a_failed_first_write_leaves_nothing(empty_database: str) -> None:
    duplicated = pd.concat([make_results(), make_results().iloc[[0]]], ignore_index=True)
    with pytest.raises(db.DatabaseError):
        backtest_store.write_backtest(empty_database, "bt-1", make_run(), duplicated, make_weekly())
    assert _counts(empty_database) == {"backtest_runs": 0, "backtest_results": 0, "backtest_weekly": 0}
    assert backtest_store.latest_backtest(empty_database)[0] is None


@all_backends
def test_the_latest_is_the_greatest_run_at_and_the_history_lists_all(empty_database: str) -> None:
    backtest_store.write_backtest(empty_database, "newer", make_run(), make_results(0), make_weekly(), run_at=T0)
    later_written = T0 - timedelta(hours=1)
    backtest_store.write_backtest(
        empty_database, "older", make_run(), make_results(1), make_weekly(), run_at=later_written
    )
    run, _, _ = backtest_store.latest_backtest(empty_database)
    assert run is not None and run["backtest_id"] == "newer"
    history = backtest_store.backtest_history(empty_database)
    assert history["backtest_id"].tolist() == ["newer", "older"]
    assert str(history["run_at"].dtype) == "datetime64[ns, UTC]" or "UTC" in str(history["run_at"].dtype)


def test_reading_an_empty_database_gives_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    run, results, weekly = backtest_store.latest_backtest(url)
    assert run is None and results.empty and weekly.empty
    assert list(results.columns) == spec.BACKTEST_RESULTS.column_names
    assert backtest_store.backtest_history(url).empty


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.assign(spend=np.inf), "spend: non-finite"),
        (lambda r: r.assign(spend="lots"), "spend: non-finite or non-numeric"),
        (lambda r: r.drop(columns=["waste_value"]), "lack the columns waste_value"),
        (lambda r: r.assign(pairs=1.5), "pairs: not whole numbers"),
        (lambda r: r.assign(policy=None), "policy: 14 missing"),
        (lambda r: r.iloc[:0], "without results"),
    ],
)
def test_values_that_cannot_be_stored_are_refused_before_anything_is_written(tmp_path, change, message) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    with pytest.raises(ValueError, match=message):
        backtest_store.write_backtest(url, "bt-1", make_run(), change(make_results()), make_weekly())
    assert not sa.inspect(db.make_engine(url)).has_table("backtest_runs")


def test_a_run_record_without_its_windows_is_refused(tmp_path) -> None:
    run = make_run()
    del run["held_out_start"]
    with pytest.raises(ValueError, match="held_out_start"):
        backtest_store.write_backtest(f"sqlite:///{tmp_path / 'p.db'}", "bt-1", run, make_results(), make_weekly())


def test_the_generated_tables_are_the_contracts() -> None:
    for table, sql in (
        (spec.BACKTEST_RUNS, backtest_store.RUNS),
        (spec.BACKTEST_RESULTS, backtest_store.RESULTS),
        (spec.BACKTEST_WEEKLY, backtest_store.WEEKLY),
    ):
        assert [c.name for c in sql.columns] == table.column_names
        assert tuple(c.name for c in sql.primary_key.columns) == table.sql_primary_key
    figures = [c for c in spec.BACKTEST_RESULTS.column_names if c not in ("backtest_id",)]
    assert figures == list(RESULT_COLUMNS)
