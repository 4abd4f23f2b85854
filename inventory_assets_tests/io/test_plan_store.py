"""The plan write-back layer on real SQLite, PostgreSQL and MariaDB databases (no mocks).

Failures are injected through the data (a duplicate key in the second batch), the progress callback
(an exception, or a sleep while the test SIGKILLs the writer process) and the server (the writer's
session terminated from another connection).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract import classes
from inventory_assets.contract.plan import ProcurementPlanSchema
from inventory_assets.io import db, plan_store
from inventory_assets.optimization.reasons import REASON_CODES
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import PROJECT_ROOT

T0 = datetime(2025, 3, 1, 6, 30, 15, 123456, tzinfo=timezone.utc)
RUN = {
    "status": "optimal",
    "budget": 5000.0,
    "spend": 4321.5,
    "objective": 987.25,
    "solver": "mip",
    "mip_gap": 0.0001,
    "solve_seconds": 1.5,
    "build_seconds": 0.25,
    "budget_shadow_price": 0.125,
    "n_rows": 10,
    "reason_counts": {"below_target": 3},
    "rounding_gap": float("nan"),
}
all_backends = pytest.mark.parametrize("empty_database", backend_params(), indirect=True)


def make_plan(n: int = 10, *, seed: int = 0, products: list[str] | None = None) -> pd.DataFrame:
    """A plausible plan of ``n`` rows (a DC buying from suppliers, stores pulling from it), validated."""
    rng = np.random.default_rng(seed)
    product_ids = products or [f"P{i:06d}" for i in range((n + 1) // 2)]
    keys = [(p, loc) for p in product_ids for loc in ("DC", "S1")][:n]
    product = [k[0] for k in keys]
    location = [k[1] for k in keys]
    store = np.array([loc != "DC" for loc in location])
    multiple = rng.choice([1.0, 6.0, 12.0], n)
    qty = rng.integers(0, 5, n) * multiple
    unit_cost = rng.uniform(0.5, 40.0, n)
    on_hand = rng.uniform(0, 200, n)
    on_order = rng.uniform(0, 50, n)
    before = on_hand + on_order
    abc = rng.choice(["A", "B", "C"], n)
    frame = pd.DataFrame(
        {
            "product_id": product,
            "location_id": location,
            "source_location_id": [("DC" if s else None) for s in store],
            "echelon": store.astype(np.int64),
            "abc_class": abc,
            "is_critical": abc == "A",
            "is_perishable": rng.random(n) < 0.3,
            "order_qty": qty,
            "order_value": np.where(store, 0.0, qty * unit_cost),
            "unit_cost": unit_cost,
            "order_multiple": multiple,
            "min_order_qty": multiple,
            "on_hand": on_hand,
            "on_order": on_order,
            "transfers_out": np.zeros(n),
            "capacity_units": np.where(rng.random(n) < 0.5, np.nan, rng.uniform(1e3, 1e5, n)),
            "position_before": before,
            "position_after": before + qty,
            "order_up_to": rng.uniform(0, 300, n),
            "safety_stock": rng.uniform(0, 40, n),
            "stockout_risk_before": rng.random(n),
            "stockout_risk_after": rng.random(n) / 3,
            "expected_shortfall_after": rng.uniform(0, 5, n),
            "expected_waste_after": rng.uniform(0, 2, n),
            "holding_cost": rng.uniform(0, 10, n) / 3,
            "shortfall_cost": rng.uniform(0, 100, n),
            "waste_cost": rng.uniform(0, 7, n),
            "reason_code": rng.choice(list(REASON_CODES), n),
        }
    )
    return ProcurementPlanSchema.validate(frame)


def expected(plan: pd.DataFrame, run_id: str, planned_at: datetime) -> pd.DataFrame:
    """What current_plan() must return for ``plan`` written as ``run_id``."""
    out = plan.copy()
    out.insert(0, "planned_at", pd.Series([planned_at] * len(plan), dtype="datetime64[us, UTC]"))
    out.insert(0, "run_id", pd.Series([run_id] * len(plan), dtype="str"))
    out = out[list(plan_store.PLAN_COLUMNS)]
    return out.sort_values(["product_id", "location_id"], ignore_index=True)


def rows_of(url: str, run_id: str) -> int:
    with db.make_engine(url).connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(plan_store.PLAN).where(plan_store.PLAN.c.run_id == run_id)
        ).scalar_one()


def assert_current(url: str, plan: pd.DataFrame, run_id: str, planned_at: datetime) -> None:
    pd.testing.assert_frame_equal(plan_store.current_plan(db.make_engine(url)), expected(plan, run_id, planned_at))
    run = plan_store.current_run(db.make_engine(url))
    assert run is not None and run["run_id"] == run_id


@all_backends
def test_a_plan_reads_back_identically(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    assert plan_store.current_plan(engine).empty and plan_store.current_run(engine) is None
    plan = make_plan(12, products=["P🍓", "Ünïcödé-漢字", "p🍓", "P 1", "x'; DROP TABLE costs; --", "P 1 "])
    result = plan_store.write_plan(engine, "run-1", plan, RUN, planned_at=T0)
    assert (result.rows, result.attempts, result.planned_at) == (12, 1, T0)

    got = plan_store.current_plan(engine)
    pd.testing.assert_frame_equal(got, expected(plan, "run-1", T0))
    assert got["source_location_id"].isna().sum() == 6 and got["capacity_units"].isna().any()
    # 4-byte characters, case and trailing spaces compared exactly (on MariaDB a PAD SPACE collation would
    # make "P 1" and "P 1 " one key)
    assert {"P🍓", "p🍓", "P 1", "P 1 "} <= set(got["product_id"])

    run = plan_store.current_run(engine)
    assert run is not None
    assert run["run_id"] == "run-1" and run["planned_at"] == T0 and run["plan_rows"] == 12
    assert (run["status"], run["budget"], run["spend"], run["objective"]) == ("optimal", 5000.0, 4321.5, 987.25)
    assert (run["solver"], run["mip_gap"], run["shadow_price_budget"]) == ("mip", 0.0001, 0.125)
    assert run["figures"]["reason_counts"] == {"below_target": 3} and run["figures"]["rounding_gap"] is None
    assert list(plan_store.plan_history(engine)["run_id"]) == ["run-1"]

    if engine.dialect.name in ("mysql", "mariadb"):
        with engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT table_name, engine, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            ).all()
        no_pad = classes.no_pad_binary_collation(engine.dialect)
        assert no_pad in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin")
        assert sorted(tables) == [
            (plan_store.PLAN_TABLE, "InnoDB", no_pad),
            (plan_store.RUNS_TABLE, "InnoDB", no_pad),
            (plan_store.PURCHASE_ORDERS_TABLE, "InnoDB", no_pad),
            (plan_store.TRANSFER_ORDERS_TABLE, "InnoDB", no_pad),
        ]


@all_backends
def test_a_failure_halfway_leaves_the_previous_plan(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    old = make_plan(10, seed=1)
    plan_store.write_plan(engine, "old", old, RUN, planned_at=T0)

    # 1. The database refuses the second batch (a duplicate key): permanent, so no retry.
    bad = make_plan(14, seed=2)
    bad = pd.concat([bad, bad.iloc[[0]]], ignore_index=True)  # batches of 8: row 14 is in the 2nd
    calls: list[int] = []
    with pytest.raises(db.DatabaseError) as info:
        plan_store.write_plan(
            engine, "new", bad, RUN, planned_at=T0 + timedelta(hours=1), progress=calls.append, batch_rows=8
        )
    assert not info.value.transient and calls == [8]
    assert "writing plan run 'new' failed" in str(info.value)
    assert rows_of(empty_database, "new") == 0
    assert_current(empty_database, old, "old", T0)

    # 2. The writer itself fails between batches.
    def explode(rows: int) -> None:
        raise RuntimeError("writer crashed")

    with pytest.raises(RuntimeError, match="writer crashed"):
        plan_store.write_plan(
            engine,
            "new",
            make_plan(20, seed=2),
            RUN,
            planned_at=T0 + timedelta(hours=1),
            progress=explode,
            batch_rows=7,
        )
    assert rows_of(empty_database, "new") == 0
    assert_current(empty_database, old, "old", T0)
    assert list(plan_store.plan_history(engine)["run_id"]) == ["old"]

    # The next write succeeds.
    new = make_plan(20, seed=2)
    plan_store.write_plan(engine, "new", new, RUN, planned_at=T0 + timedelta(hours=1), batch_rows=7)
    assert_current(empty_database, new, "new", T0 + timedelta(hours=1))
    assert list(plan_store.plan_history(engine)["run_id"]) == ["new", "old"]


KILLED_WRITER = textwrap.dedent("""
    import os, time
    from pathlib import Path
    import pandas as pd
    from inventory_assets.io import db
    from inventory_assets.io import plan_store

    def progress(rows):
        flag = Path(os.environ["FLAG"])
        flag.with_suffix(".tmp").write_text(str(rows))
        flag.with_suffix(".tmp").replace(flag)  # the flag appears with its text, never empty
        time.sleep(600)  # killed here, mid-transaction

    plan = pd.read_pickle(os.environ["PLAN"])
    plan_store.write_plan(db.make_engine(os.environ["PLAN_URL"]), "killed", plan, {"status": "optimal"},
                          progress=progress, batch_rows=5)
""")


@all_backends
def test_a_killed_writer_leaves_the_previous_plan(empty_database: str, tmp_path: Path) -> None:
    engine = db.make_engine(empty_database)
    old = make_plan(8, seed=3)
    plan_store.write_plan(engine, "old", old, RUN, planned_at=T0)
    make_plan(30, seed=4).to_pickle(tmp_path / "plan.pkl")
    flag = tmp_path / "flag"
    env = {**os.environ, "PLAN_URL": empty_database, "PLAN": str(tmp_path / "plan.pkl"), "FLAG": str(flag)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the writer never reached its first batch"
            time.sleep(0.05)
        assert flag.read_text() == "5"
        # Nothing of the open transaction is visible, to this process or any other.
        assert rows_of(empty_database, "killed") == 0
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    assert rows_of(empty_database, "killed") == 0  # the server rolled back / SQLite's hot journal
    assert_current(empty_database, old, "old", T0)
    new = make_plan(30, seed=4)
    plan_store.write_plan(engine, "next", new, RUN, planned_at=T0 + timedelta(minutes=5), batch_rows=5)
    assert_current(empty_database, new, "next", T0 + timedelta(minutes=5))
    assert list(plan_store.plan_history(engine)["run_id"]) == ["next", "old"]


@all_backends
def test_a_rewritten_run_leaves_one_copy(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    plan_store.write_plan(engine, "run", make_plan(10, seed=5), RUN, planned_at=T0)
    second = make_plan(8, seed=6)
    plan_store.write_plan(engine, "run", second, {**RUN, "spend": 1.0}, planned_at=T0, batch_rows=3)
    assert rows_of(empty_database, "run") == 8
    assert_current(empty_database, second, "run", T0)
    history = plan_store.plan_history(engine)
    assert list(history["run_id"]) == ["run"] and history.loc[0, "spend"] == 1.0 and history.loc[0, "plan_rows"] == 8


@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
def test_a_dropped_connection_is_retried_and_leaves_one_copy(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    admin = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    killed: list[int] = []

    def kill_the_writer(rows: int) -> None:
        if killed:
            return
        with admin.connect() as conn:
            if conn.dialect.name == "postgresql":
                pid = conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
                ).scalar_one()
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            else:
                pid = conn.exec_driver_sql(
                    "SELECT t.trx_mysql_thread_id FROM information_schema.innodb_trx t "
                    "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                    "WHERE p.db = DATABASE()"
                ).scalar_one()
                conn.exec_driver_sql(f"KILL CONNECTION {int(pid)}")
        killed.append(pid)

    plan = make_plan(12, seed=7)
    result = plan_store.write_plan(engine, "run", plan, RUN, planned_at=T0, progress=kill_the_writer, batch_rows=4)
    admin.dispose()
    assert killed and result.attempts == 2
    assert rows_of(empty_database, "run") == 12
    assert_current(empty_database, plan, "run", T0)


@all_backends
def test_concurrent_writers_both_land_whole(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    plans = {"older": make_plan(40, seed=8), "newer": make_plan(30, seed=9)}
    stamps = {"older": T0, "newer": T0 + timedelta(seconds=1)}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(run_id: str) -> None:
        try:
            barrier.wait()
            plan_store.write_plan(
                engine,
                run_id,
                plans[run_id],
                RUN,
                planned_at=stamps[run_id],
                batch_rows=5,
                progress=lambda rows: time.sleep(0.01),
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(r,)) for r in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    history = plan_store.plan_history(engine)
    assert list(history["run_id"]) == ["newer", "older"] and history["commit_seq"].is_unique
    assert rows_of(empty_database, "older") == 40 and rows_of(empty_database, "newer") == 30
    assert_current(empty_database, plans["newer"], "newer", stamps["newer"])


@all_backends
def test_the_view_returns_the_current_plan(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    plan_store.ensure_tables(engine)
    plan_store.ensure_tables(engine)  # idempotent
    names = ", ".join(plan_store.PLAN_COLUMNS)

    def from_view() -> pd.DataFrame:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT {names} FROM {plan_store.CURRENT_VIEW}").all()
        return plan_store._plan_frame(rows, list(plan_store.PLAN_COLUMNS))

    assert from_view().empty
    plan_store.write_plan(engine, "a", make_plan(6, seed=10), RUN, planned_at=T0)
    plan_store.write_plan(engine, "b", make_plan(9, seed=11), RUN, planned_at=T0 + timedelta(days=1))
    plan_store.write_plan(engine, "c", make_plan(4, seed=12), RUN, planned_at=T0)  # committed last, but older
    pd.testing.assert_frame_equal(from_view(), plan_store.current_plan(engine))
    assert set(from_view()["run_id"]) == {"b"}
    with engine.connect() as conn:  # plain SQL, as a user would query it
        assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {plan_store.CURRENT_VIEW}").scalar_one() == 9


def test_newest_is_planned_at_then_commit_order(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    plan_store.write_plan(engine, "late", make_plan(4, seed=1), RUN, planned_at=T0 + timedelta(hours=1))
    plan_store.write_plan(engine, "stale", make_plan(4, seed=2), RUN, planned_at=T0)
    run = plan_store.current_run(engine)
    assert run is not None and run["run_id"] == "late"  # a stale plan committed later does not win
    naive_same_instant = (T0 + timedelta(hours=1)).replace(tzinfo=None)  # naive = UTC
    plan_store.write_plan(engine, "tie", make_plan(4, seed=3), RUN, planned_at=naive_same_instant)
    run = plan_store.current_run(engine)
    assert run is not None and run["run_id"] == "tie"  # same planned_at: the later commit wins
    history = plan_store.plan_history(engine)
    assert list(history["run_id"]) == ["tie", "late", "stale"]
    assert list(history["commit_seq"]) == [3, 1, 2]


def test_bad_plans_are_refused_before_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    engine = db.make_engine(url)
    good = make_plan(4)
    plan_store.write_plan(engine, "good", good, RUN, planned_at=T0)
    with pytest.raises(ValueError, match="empty plan"):
        plan_store.write_plan(engine, "empty", good.iloc[:0], RUN)
    with pytest.raises(ValueError, match="lacks the columns reason_code"):
        plan_store.write_plan(engine, "bad", good.drop(columns="reason_code"), RUN)
    with pytest.raises(ValueError, match="order_qty: 1 missing"):
        plan_store.write_plan(engine, "bad", good.assign(order_qty=[1.0, np.nan, 2.0, 3.0]), RUN)
    with pytest.raises(ValueError, match="on_hand: 1 non-finite"):
        plan_store.write_plan(engine, "bad", good.assign(on_hand=[1.0, np.inf, 2.0, 3.0]), RUN)
    with pytest.raises(ValueError, match="longer than 64"):
        plan_store.write_plan(engine, "bad", good.assign(product_id=["x" * 65, "a", "b", "c"]), RUN)
    with pytest.raises(ValueError, match="run_id"):
        plan_store.write_plan(engine, "r" * 65, good, RUN)
    assert_current(url, good, "good", T0)


def test_the_doc_lists_every_column() -> None:
    doc = (PROJECT_ROOT / "docs" / "plan-store.md").read_text()
    for name in (*plan_store.PLAN_COLUMNS, *plan_store.RUN_COLUMNS, plan_store.CURRENT_VIEW):
        assert f"`{name}`" in doc, name
    for table in plan_store.ORDER_TABLES.values():
        assert f"`{table.name}`" in doc, table.name
        for column in table.columns:
            assert f"`{column.name}`" in doc, f"{table.name}.{column.name}"


def test_on_sqlite_the_plan_rows_hold_their_runs_timestamp_as_the_run_row_does(tmp_path: Path) -> None:
    """SQLite stores the timestamp as text: every plan row gets SQLAlchemy's text of it, the run row's,
    converted once (a whole second keeps its six zeros, which sqlite3's own conversion drops)."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    for run_id, planned_at in (("whole", datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)), ("part", T0)):
        plan_store.write_plan(url, run_id, make_plan(5), RUN, planned_at=planned_at)
        with db.make_engine(url).connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT DISTINCT planned_at FROM procurement_plan WHERE run_id = ?", (run_id,)
            ).all()
            run_row = conn.exec_driver_sql(
                "SELECT planned_at FROM procurement_plan_runs WHERE run_id = ?", (run_id,)
            ).all()
        assert stored == run_row and len(stored) == 1
        assert stored[0][0] == planned_at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
