"""Passwords and bound values never reach logs, metadata or errors; transient faults are retried,
permanent ones are not."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest
import sqlalchemy as sa

from inventory_assets.contract import spec
from inventory_assets.definitions import defs
from inventory_assets.defs import constants
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db
from inventory_assets_tests.conftest import MARIADB_ADMIN_URL, backend_params
from inventory_assets_tests.helpers import all_assets_and_checks, materialize, write_demo

PASSWORD = "Tr0ub4dor-s3cret"


def _everything_said(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> str:
    """Every event of the run (messages, metadata, errors) and the run's config, as one text."""
    parts = [json.dumps(result.dagster_run.run_config, default=str)]
    for entry in instance.all_logs(result.run_id):
        parts.append(entry.user_message or "")
        parts.append(repr(entry.dagster_event))
    return "\n".join(parts)


def test_mask_url() -> None:
    assert db.mask_url(f"postgresql+psycopg://app:{PASSWORD}@db:5432/x") == "postgresql+psycopg://app:***@db:5432/x"
    assert PASSWORD not in db.mask_url(f"mysql+pymysql://app:{PASSWORD}@db/x?charset=utf8mb4")
    assert db.mask_url("sqlite:///data/cloud.db") == "sqlite:///data/cloud.db"
    assert PASSWORD not in db.scrub(f"could not connect with {PASSWORD} to db", f"postgresql://u:{PASSWORD}@h/d")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://app@db:5432/x?password={PASSWORD}",
        f"postgresql+psycopg://app@db:5432/x?sslmode=require&sslpassword={PASSWORD}",
        f"postgresql+psycopg://app:{PASSWORD}@db:5432/x?PassWord={PASSWORD}&application_name=planner",
        f"mysql+pymysql://app@db/x?passwd={PASSWORD}&charset=utf8mb4",
        f"mssql+pyodbc://app@dsn?odbc_connect=DRIVER%3Dx%3BPWD%3D{PASSWORD}",
        f"snowflake://app@acct/db?token={PASSWORD}&client_secret={PASSWORD}",
    ],
)
def test_every_credential_of_a_url_is_masked(url: str) -> None:
    shown = db.mask_url(url)
    assert PASSWORD not in shown and "***" in shown
    assert PASSWORD not in db.scrub(f"connect to {url} failed: password={PASSWORD} rejected", url)


def test_secret_settings_in_messages_are_masked() -> None:
    for text in (
        f"dsn 'host=db password={PASSWORD} user=app'",
        f'connection string "Server=db;Pwd={PASSWORD};"',
        f"sslpassword: {PASSWORD}",
    ):
        assert PASSWORD not in db.scrub(text), text


@pytest.mark.postgresql
@pytest.mark.parametrize("where", ["user_info", "query"])
def test_a_password_in_the_url_never_reaches_logs_or_metadata(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from inventory_assets_tests.conftest import drop_all_tables

    drop_all_tables(postgres_database)
    # PostgreSQL here trusts loopback connections, so the password is accepted and ignored; libpq and
    # psycopg take it in the user info or as a `password` query parameter alike.
    base = sa.make_url(postgres_database)
    given = base.set(password=PASSWORD) if where == "user_info" else base.update_query_dict({"password": PASSWORD})
    url = given.render_as_string(hide_password=False)
    urls = {var: url for var in db.DEFAULT_URLS}
    for var, value in urls.items():
        monkeypatch.setenv(var, value)
    write_demo(urls)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(dg.AssetSelection.groups(constants.SOURCES_GROUP), instance=instance)
    assert result.success
    said = _everything_said(instance, result)
    assert "reading sales from postgresql+psycopg://postgres" in said and "***" in said
    assert PASSWORD not in said


@pytest.mark.mariadb
def test_a_rejected_password_fails_at_once_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = sa.make_url(MARIADB_ADMIN_URL).set(password=PASSWORD).render_as_string(hide_password=False)
    for var in db.DEFAULT_URLS:
        monkeypatch.setenv(var, url)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(["costs"], instance=instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None
    assert "Access denied" in failure.message and "***" in failure.message
    assert PASSWORD not in _everything_said(instance, result)
    # a permanent error: one attempt only
    assert "retrying" not in _everything_said(instance, result)


def test_bound_values_are_not_shown_in_database_errors(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(db.DatabaseError) as raised:
        db.retry(lambda: db.read_frame(engine, "SELECT * FROM missing WHERE x = :v", {"v": "SECRET-VALUE"}))
    assert "no such table" in str(raised.value)
    assert "SECRET-VALUE" not in str(raised.value) and not raised.value.transient


@pytest.mark.postgresql
def test_a_transient_fault_is_retried_with_backoff_then_succeeds(postgres_database: str) -> None:
    """A real refused connection (nothing listens on the port) first, the real server after."""
    refused = sa.make_url(postgres_database).set(port=1).render_as_string(hide_password=False)
    urls = iter([refused, refused, postgres_database])
    delays: list[float] = []
    frame = db.retry(
        lambda: db.read_frame(db.make_engine(next(urls), 2), "SELECT 1 AS one"),
        sleep=delays.append,
        base_delay=0.5,
    )
    assert frame["one"].tolist() == [1]
    assert delays == [0.5, 1.0]


def test_a_permanent_error_is_not_retried(tmp_path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        db.read_frame(engine, "SELEC nonsense")

    with pytest.raises(db.DatabaseError):
        db.retry(broken, sleep=lambda _s: None)
    assert len(calls) == 1


def test_transient_faults_give_up_after_the_attempts(tmp_path) -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise sa.exc.OperationalError("connect", {}, ConnectionRefusedError("connection refused"))

    with pytest.raises(db.DatabaseError, match="after 3 attempts") as raised:
        db.retry(refused, attempts=3, sleep=lambda _s: None)
    assert raised.value.transient and len(calls) == 3


# ---- step retries: a transient fault runs the step again, nothing else does -------------------------------


def _costs_from(database: SqlDatabase, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """The ``costs`` source materialized from ``database`` (as the on-prem database)."""
    return dg.materialize(
        all_assets_and_checks(),
        selection=["costs"],
        resources={**(defs().resources or {}), "onprem_db": database},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
    )


def _step_retries(result: dg.ExecuteInProcessResult) -> int:
    return len([e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY])


@pytest.mark.postgresql
def test_a_refused_connection_runs_the_step_again_then_fails_naming_the_attempts(postgres_database: str) -> None:
    # A server that refuses connections (nothing listens on port 1): transient, so the step runs again
    # step_retries times after the resource's own attempts, then fails once and for all.
    refused = sa.make_url(postgres_database).set(port=1).render_as_string(hide_password=False)
    result = _costs_from(SqlDatabase(url=refused, retry_attempts=1, step_retries=2, step_retry_delay_seconds=0.05))
    assert not result.success
    assert _step_retries(result) == 2
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "after 3 step attempt(s)" in failure.message


def test_a_permanent_error_fails_the_step_once(tmp_path) -> None:
    # A source table the database does not have: permanent (no such table), never run again.
    missing = f"sqlite:///{tmp_path / 'empty.db'}"
    result = _costs_from(
        SqlDatabase(url=missing, retry_attempts=3, step_retries=2, step_retry_delay_seconds=0.05),
        {"ops": {"costs": {"config": {"query": "SELECT * FROM costs_that_are_not_here"}}}},
    )
    assert not result.success
    assert _step_retries(result) == 0


@pytest.mark.parametrize("days", [0, spec.MAX_WINDOW_DAYS + 1, 10**9])
def test_an_absurd_history_is_refused_when_the_run_starts(days: int) -> None:
    # refused while the run's config is resolved, before any step (the graph's config mapping checks bounds)
    with pytest.raises(dg.DagsterConfigMappingFunctionError) as raised:
        materialize(["sales"], run_config={"ops": {"sales": {"config": {"history_days": days}}}})
    assert "history_days" in str(raised.value.user_exception)


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_one_source_alone_on_a_fresh_instance_names_what_is_missing(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    with dg.instance_for_test() as instance:
        # costs has no cross-table check: alone it materializes
        assert materialize(["costs"], instance=instance).success
        # inventory's check reads costs (stored now) and locations (never stored): a clear, permanent failure
        result = materialize(["inventory"], instance=instance)
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert failure is not None and "FileNotFoundError" not in failure.message
        assert "locations has no stored value in this Dagster instance" in failure.message
        assert "--select 'group:sources'" in failure.message
        assert _step_retries(result) == 0
        # with the sources together it works
        assert materialize(dg.AssetSelection.groups(constants.SOURCES_GROUP), instance=instance).success


@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
def test_a_source_table_locked_elsewhere_fails_every_statement_of_the_read_at_its_timeout(empty_database: str) -> None:
    from inventory_assets.io import queries
    from inventory_assets_tests.io.test_sale_lines import _insert, _line, _lines_table

    table = _lines_table(empty_database, unique_id=True)
    _insert(empty_database, table, [_line(i) for i in range(1, 4)])
    engine = db.make_engine(empty_database)
    locker = sa.create_engine(empty_database, poolclass=sa.pool.NullPool).connect()
    try:
        if engine.dialect.name == "postgresql":
            locker.exec_driver_sql("BEGIN")
            locker.exec_driver_sql("LOCK TABLE sales IN ACCESS EXCLUSIVE MODE")
        else:
            locker.exec_driver_sql("LOCK TABLES sales WRITE")
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError):  # the first statement of the read: the window's days
            queries.plan_sales_read(engine, queries.SourceSpec("sales"), 30, timeout_seconds=1)
        assert time.monotonic() - started < 20
    finally:
        locker.close()
    assert queries.plan_sales_read(engine, queries.SourceSpec("sales"), 30, timeout_seconds=1).window is not None
