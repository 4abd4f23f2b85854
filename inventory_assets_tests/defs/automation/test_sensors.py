"""``new_sales_sensor`` (reliability case 7), at two levels.

Unit level: the sensor evaluated with ``dg.build_sensor_context`` against real SQLite, PostgreSQL and
MariaDB databases: new rows -> exactly one run request with the run key ``sales-<watermark>``; no new
rows -> a skip with its reason; a cursor reset -> the same run key (so Dagster launches no duplicate);
the database down -> the evaluation raises with the masked URL, the cursor stays, and the next healthy
evaluation catches up with one run request.

Daemon level (slow): ``dagster dev`` with the real daemon against a fresh instance and demo data:
new rows -> exactly one run launched and completed; nothing new -> a skipped tick; a cursor reset ->
no second run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import sqlalchemy as sa

from inventory_assets.contract import tables as t
from inventory_assets.definitions import defs
from inventory_assets.defs.automation import sensors
from inventory_assets.defs.automation.sensors import SalesWatermarkError, SensorSettings, build_new_sales_sensor
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.demo import data as demo_data
from inventory_assets.io import db
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.dagster_server import DagsterServer, dagster_server, free_port, wait_for
from inventory_assets_tests.helpers import write_demo

SENSOR = "new_sales_sensor"
#: The unit tests need only a sales table with a few hundred lines.
SALES_ONLY = demo_data.DemoSpec(products=6, dcs=1, stores=1, days=14, seed=11)


# --- helpers -----------------------------------------------------------------------------------------


def max_sale_id(url: str) -> int:
    with db.make_engine(url).connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(t.SALES.c.sale_id))).scalar_one())


def insert_sales(url: str, count: int) -> int:
    """Append ``count`` sale lines (copies of the latest ones, same day, new ids); the new MAX(sale_id)."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        latest = conn.execute(sa.select(t.SALES).order_by(t.SALES.c.sale_id.desc()).limit(count)).mappings().all()
        top = int(latest[0]["sale_id"])
        rows = [{**row, "sale_id": top + i + 1} for i, row in enumerate(latest)]
        conn.execute(t.SALES.insert(), rows)
    return top + count


def evaluate(
    sensor: dg.SensorDefinition, url: str, cursor: str | None, instance: dg.DagsterInstance
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"cloud_db": SqlDatabase(url=url)})
    result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason), result
    return result


def the_one_request(result: object) -> dg.RunRequest:
    assert isinstance(result, dg.SensorResult), result
    assert result.run_requests is not None and len(result.run_requests) == 1, result.run_requests
    return result.run_requests[0]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sales_url(database_env: dict[str, str]) -> str:
    """The cloud database with a small demo in it."""
    write_demo(database_env, SALES_ONLY)
    return database_env[db.CLOUD_URL_VAR]


# --- the registered sensor ---------------------------------------------------------------------------


def test_the_sensor_is_registered_with_its_defaults() -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    assert sensor.job_name == "planning_job"
    assert sensor.minimum_interval_seconds == 60
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.required_resource_keys == {"cloud_db"}


def test_settings_come_from_the_environment() -> None:
    assert SensorSettings.from_env({}) == SensorSettings()
    settings = SensorSettings.from_env(
        {
            sensors.WATERMARK_COLUMN_VAR: "loaded_at",
            sensors.WATERMARK_TABLE_VAR: "sales_lines",
            sensors.INTERVAL_VAR: "300",
            sensors.TIMEOUT_VAR: "2.5",
            sensors.STATUS_VAR: "running",
        }
    )
    assert settings == SensorSettings("sales_lines", "loaded_at", 300, 2.5, dg.DefaultSensorStatus.RUNNING)
    sensor = build_new_sales_sensor(settings)
    assert sensor.minimum_interval_seconds == 300 and sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for var, bad in (
        (sensors.INTERVAL_VAR, "0"),
        (sensors.INTERVAL_VAR, "soon"),
        (sensors.TIMEOUT_VAR, "-1"),
        (sensors.STATUS_VAR, "ON"),
    ):
        with pytest.raises(ValueError, match=var):
            SensorSettings.from_env({var: bad})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (Decimal("12.0000"), "12"),
        (np.int64(7), "7"),
        (12.0, "12"),
        (12.5, "12.5"),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 6, 30), "2024-03-01T06:30:00"),
        ("2024-03-01", "2024-03-01"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_watermark_text_is_the_same_whatever_the_driver_returns(value: object, text: str | None) -> None:
    assert sensors.watermark_text(value) == text


def test_watermarks_compare_as_numbers_or_iso_text() -> None:
    assert sensors.compare_watermarks("10", "9") == 1  # not text order
    assert sensors.compare_watermarks("9", "9") == 0
    assert sensors.compare_watermarks("8", "9") == -1
    assert sensors.compare_watermarks("2024-03-02", "2024-03-01") == 1
    assert sensors.compare_watermarks("5", None) == 1
    assert sensors.compare_watermarks("2024-03-01", "17") == 1  # the column was changed: new


# --- case 7 on real databases ------------------------------------------------------------------------


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_new_rows_request_exactly_one_run_and_no_new_rows_skip(sales_url: str, instance: dg.DagsterInstance) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    top = max_sale_id(sales_url)

    first = evaluate(sensor, sales_url, None, instance)
    request = the_one_request(first)
    assert isinstance(first, dg.SensorResult)
    assert request.run_key == f"sales-{top}" and first.cursor == str(top)
    assert request.tags["inventory/trigger"] == SENSOR and request.tags["inventory/sales_watermark"] == str(top)

    skipped = evaluate(sensor, sales_url, str(top), instance)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message is not None
    assert skipped.skip_message.startswith(f"no new sales: MAX(sale_id) is still {top}")

    new_top = insert_sales(sales_url, 3)
    second = evaluate(sensor, sales_url, str(top), instance)
    assert isinstance(second, dg.SensorResult)
    assert the_one_request(second).run_key == f"sales-{new_top}" and second.cursor == str(new_top)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_cursor_reset_asks_for_the_same_run_key_so_no_duplicate_run(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    before = the_one_request(evaluate(sensor, sales_url, None, instance))
    after_reset = the_one_request(evaluate(sensor, sales_url, None, instance))
    assert before.run_key == after_reset.run_key  # the daemon launches no run for a key it has seen


@pytest.mark.timeout(120)
@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_database_down_fails_the_tick_keeps_the_cursor_and_recovery_catches_up_with_one_run(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    cursor = str(max_sale_id(sales_url))
    new_top = insert_sales(sales_url, 2)
    down = f"postgresql+psycopg://planner:s3cr3t-pw@127.0.0.1:{free_port()}/sales"  # nothing listens there

    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"cloud_db": SqlDatabase(url=down)})
    with pytest.raises(SalesWatermarkError) as raised:  # the test's timeout guards against a hanging tick
        sensor(context)
    message = str(raised.value)
    assert "s3cr3t-pw" not in message and "planner:***@127.0.0.1" in message
    assert f"The cursor stays at '{cursor}'" in message and "MAX(sale_id) FROM sales" in message
    assert context.cursor == cursor

    # Several ticks may fail in a row; the first healthy one asks for exactly one run at the latest watermark.
    recovered = evaluate(sensor, sales_url, context.cursor, instance)
    assert isinstance(recovered, dg.SensorResult)
    assert the_one_request(recovered).run_key == f"sales-{new_top}" and recovered.cursor == str(new_top)


@pytest.mark.parametrize("empty_database", backend_params("sqlite", "postgresql"), indirect=True)
def test_an_empty_table_skips_and_a_reloaded_table_says_to_reset_the_cursor(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    top = max_sale_id(sales_url)
    gone_back = evaluate(sensor, sales_url, str(top + 1000), instance)
    assert isinstance(gone_back, dg.SkipReason) and gone_back.skip_message is not None
    assert "went back" in gone_back.skip_message
    assert "Reset the sensor's cursor" in gone_back.skip_message
    with db.make_engine(sales_url).begin() as conn:
        conn.execute(t.SALES.delete())
    empty = evaluate(sensor, sales_url, str(top), instance)
    assert isinstance(empty, dg.SkipReason) and empty.skip_message is not None
    assert empty.skip_message.startswith("no rows in sales.sale_id")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_configured_watermark_column_works_and_unknown_names_are_rejected(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    by_day = build_new_sales_sensor(SensorSettings(column="sold_at"))
    result = evaluate(by_day, sales_url, None, instance)
    run_key = the_one_request(result).run_key
    assert isinstance(result, dg.SensorResult) and run_key is not None
    day = run_key.removeprefix("sales-")
    assert dt.date.fromisoformat(day) and result.cursor == day  # ISO on every database
    assert isinstance(evaluate(by_day, sales_url, day, instance), dg.SkipReason)

    for settings, named in (
        (SensorSettings(column="sale_id) FROM sales; DROP TABLE sales; --"), "unknown column of sales"),
        (SensorSettings(table="sales_archive"), "unknown table 'sales_archive'"),
    ):
        with pytest.raises(SalesWatermarkError, match=named):
            evaluate(build_new_sales_sensor(settings), sales_url, None, instance)
    assert max_sale_id(sales_url) > 0  # the table is intact


# --- with the real daemon ------------------------------------------------------------------------------

SENSOR_STATE = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState { status ticks(limit: 50) { tickId status timestamp runIds runKeys skipReason cursor
                                              error { message } } }
    }
    ... on PythonError { message }
  }
}"""


def sensor_ticks(server: DagsterServer) -> list[dict]:
    data = server.graphql(SENSOR_STATE, {"selector": server.sensor_selector(SENSOR)})["sensorOrError"]
    assert data["__typename"] == "Sensor", data
    return sorted(data["sensorState"]["ticks"], key=lambda tick: tick["timestamp"])


def mutate_sensor(server: DagsterServer, mutation: str, **variables: object) -> None:
    arguments = ", ".join(f"{name}: ${name}" for name in ("sensorSelector", *variables))
    declared = ", ".join(["$sensorSelector: SensorSelector!", *(f"${name}: String" for name in variables)])
    data = server.graphql(
        f"mutation({declared}) {{ {mutation}({arguments}) {{ __typename ... on PythonError {{ message }} }} }}",
        {"sensorSelector": server.sensor_selector(SENSOR), **variables},
    )[mutation]
    assert data["__typename"] == "Sensor", data


def next_finished_tick(server: DagsterServer, after: float, timeout: float = 120) -> dict:
    """The first tick that finished after ``after`` (a timestamp)."""

    def finished() -> dict | None:
        done = [tick for tick in sensor_ticks(server) if tick["timestamp"] > after and tick["status"] != "STARTED"]
        return done[0] if done else None

    return wait_for(finished, timeout=timeout, interval=1, what=f"a finished {SENSOR} tick")


def planning_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name="planning_job")))


@pytest.mark.slow
def test_with_the_real_daemon_new_rows_launch_and_complete_exactly_one_run(tmp_path: Path) -> None:
    """The daemon's sensor loop, the queued run coordinator and the run launcher, all real."""
    # A 3 s minimum interval so the test sees several ticks (the daemon's loop runs every 5 s).
    with dagster_server(tmp_path, env={sensors.INTERVAL_VAR: "3"}) as server:
        cloud = server.database_urls[db.CLOUD_URL_VAR]
        top = max_sale_id(cloud)
        # The plan of the current data exists: the sensor starts from its watermark, then is turned on.
        mutate_sensor(server, "setSensorCursor", cursor=str(top))
        started = time.time()
        mutate_sensor(server, "startSensor")
        idle = next_finished_tick(server, started)
        assert idle["status"] == "SKIPPED", idle
        assert idle["skipReason"].startswith(f"no new sales: MAX(sale_id) is still {top}"), idle
        with server.instance() as instance:
            assert planning_runs(instance) == []

        new_top = insert_sales(cloud, 3)
        inserted = time.time()
        fired = next_finished_tick(server, inserted)
        assert fired["status"] == "SUCCESS", fired
        assert (
            len(fired["runIds"]) == 1 and fired["runKeys"] == [f"sales-{new_top}"] and fired["cursor"] == str(new_top)
        )
        run_id = fired["runIds"][0]
        with server.instance() as instance:
            run = wait_for(
                lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r,
                timeout=600,
                interval=2,
                what=f"run {run_id} to finish",
            )
            assert run.status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
            assert run.tags["dagster/run_key"] == f"sales-{new_top}"
            assert [r.run_id for r in planning_runs(instance)] == [run_id]

        quiet = next_finished_tick(server, fired["timestamp"])
        assert quiet["status"] == "SKIPPED" and not quiet["runIds"], quiet

        # A cursor reset asks for the same run key again: Dagster launches no duplicate.
        mutate_sensor(server, "setSensorCursor", cursor=str(top))
        reset = time.time()
        replay = next_finished_tick(server, reset)
        assert replay["status"] == "SKIPPED" and not replay["runIds"], replay
        with server.instance() as instance:
            assert [r.run_id for r in planning_runs(instance)] == [run_id]
