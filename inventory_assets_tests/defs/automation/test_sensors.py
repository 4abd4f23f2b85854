"""``new_sales_sensor`` (reliability case 7), at two levels.

Unit level: the sensor evaluated with ``dg.build_sensor_context`` against real SQLite, PostgreSQL and
MariaDB databases: new rows -> exactly one run request (run key ``sales-<max>-<change>``) and an
observation of ``sales_lines`` with its new data version; a corrected quantity -> one run request; no
change -> a skip with its reason; a cursor reset -> the same run key (so Dagster launches no duplicate);
the database down -> the evaluation raises with the masked URL, the cursor stays, and the next healthy
evaluation catches up with one run request.

Daemon level (slow): ``dagster dev`` with the real daemon against a fresh instance and demo data:
nothing new -> a skipped tick and no run; new rows -> exactly one run launched and completed; a line
corrected in place -> exactly one more run; a cursor reset -> no duplicate run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from inventory_assets.contract import tables as t
from inventory_assets.definitions import defs
from inventory_assets.defs.automation import sensors
from inventory_assets.defs.automation.sensors import SensorSettings, build_new_sales_sensor
from inventory_assets.defs.constants import SALES_LINES_KEY
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.demo import data as demo_data
from inventory_assets.io import db
from inventory_assets.io.sales_version import SalesVersion, SalesVersionError, read_sales_version
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


def current_version(url: str) -> SalesVersion:
    return read_sales_version(db.make_engine(url), "sales", "sale_id")


def correct_a_line(url: str, by: int = 2) -> None:
    """One line's quantity corrected in place by ``by`` units (the lowest id: MAX(sale_id) and the count stay)."""
    with db.make_engine(url).begin() as conn:
        first = conn.execute(sa.select(sa.func.min(t.SALES.c.sale_id))).scalar_one()
        conn.execute(t.SALES.update().where(t.SALES.c.sale_id == first).values(quantity=t.SALES.c.quantity + by))


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


# --- case 7 on real databases ------------------------------------------------------------------------


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_new_and_corrected_lines_each_request_one_run_and_no_change_skips(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    top = max_sale_id(sales_url)
    version = current_version(sales_url)

    first = evaluate(sensor, sales_url, None, instance)
    request = the_one_request(first)
    assert isinstance(first, dg.SensorResult) and first.cursor == version.text
    assert request.run_key == sensors.run_key(version, None) and request.run_key.startswith(f"sales-{top}-")
    assert request.tags["inventory/trigger"] == SENSOR and request.tags["inventory/sales_watermark"] == str(top)
    assert request.tags["inventory/sales_version"] == version.digest
    (seen,) = first.asset_events or []
    assert isinstance(seen, dg.AssetObservation) and seen.asset_key == SALES_LINES_KEY
    assert seen.tags["dagster/data_version"] == version.digest and seen.metadata["lines"].value == version.lines

    skipped = evaluate(sensor, sales_url, version.text, instance)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message is not None
    assert skipped.skip_message.startswith("no new or corrected sales in sales")

    new_top = insert_sales(sales_url, 3)
    second = evaluate(sensor, sales_url, version.text, instance)
    assert isinstance(second, dg.SensorResult)
    assert str(the_one_request(second).run_key).startswith(f"sales-{new_top}-")
    assert second.cursor == current_version(sales_url).text and f"max={new_top};" in second.cursor

    correct_a_line(sales_url)  # MAX(sale_id) and COUNT(*) stay: the old watermark sensor saw nothing here
    third = evaluate(sensor, sales_url, second.cursor, instance)
    assert isinstance(third, dg.SensorResult) and third.cursor != second.cursor
    assert str(the_one_request(third).run_key).startswith(f"sales-{new_top}-")
    assert the_one_request(third).run_key != the_one_request(second).run_key
    assert isinstance(evaluate(sensor, sales_url, third.cursor, instance), dg.SkipReason)


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_a_cursor_reset_asks_for_the_same_run_key_and_data_changed_back_is_planned_again(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    before = the_one_request(evaluate(sensor, sales_url, None, instance))
    after_reset = the_one_request(evaluate(sensor, sales_url, None, instance))
    assert before.run_key == after_reset.run_key  # the daemon launches no run for a key it has seen

    # A correction, then its undoing: the data is back to a version planned before, but the current plan
    # was made from the correction, so the change back is a new run key.
    original = current_version(sales_url)
    correct_a_line(sales_url)
    corrected = current_version(sales_url)
    correct_a_line(sales_url, by=-2)
    back = the_one_request(evaluate(sensor, sales_url, corrected.text, instance))
    assert current_version(sales_url) == original and back.run_key not in (before.run_key, None)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_database_down_fails_the_tick_keeps_the_cursor_and_recovery_catches_up_with_one_run(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    cursor = current_version(sales_url).text
    new_top = insert_sales(sales_url, 2)
    down = f"postgresql+psycopg://planner:s3cr3t-pw@127.0.0.1:{free_port()}/sales"  # nothing listens there

    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"cloud_db": SqlDatabase(url=down)})
    with pytest.raises(SalesVersionError) as raised:  # the test's timeout guards against a hanging tick
        sensor(context)
    message = str(raised.value)
    assert "s3cr3t-pw" not in message and "planner:***@127.0.0.1" in message
    assert f"The cursor stays at '{cursor}'" in message and "reading the version of sales" in message
    assert context.cursor == cursor

    # Several ticks may fail in a row; the first healthy one asks for exactly one run at the latest version.
    recovered = evaluate(sensor, sales_url, context.cursor, instance)
    assert isinstance(recovered, dg.SensorResult)
    assert str(the_one_request(recovered).run_key).startswith(f"sales-{new_top}-")
    assert recovered.cursor == current_version(sales_url).text


@pytest.mark.parametrize("empty_database", backend_params("sqlite", "postgresql"), indirect=True)
def test_a_reloaded_table_is_a_change_and_an_empty_table_skips(sales_url: str, instance: dg.DagsterInstance) -> None:
    sensor = defs().resolve_sensor_def(SENSOR)
    cursor = current_version(sales_url).text
    with db.make_engine(sales_url).begin() as conn:  # reloaded with fewer lines: MAX(sale_id) goes back
        conn.execute(t.SALES.delete().where(t.SALES.c.sale_id > max_sale_id(sales_url) - 5))
    reloaded = evaluate(sensor, sales_url, cursor, instance)
    assert isinstance(reloaded, dg.SensorResult) and len(reloaded.run_requests or []) == 1
    with db.make_engine(sales_url).begin() as conn:
        conn.execute(t.SALES.delete())
    empty = evaluate(sensor, sales_url, reloaded.cursor, instance)
    assert isinstance(empty, dg.SkipReason) and empty.skip_message is not None
    assert empty.skip_message.startswith("no rows in sales")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_configured_watermark_column_works_and_unknown_names_are_rejected(
    sales_url: str, instance: dg.DagsterInstance
) -> None:
    by_day = build_new_sales_sensor(SensorSettings(column="sold_at"))
    result = evaluate(by_day, sales_url, None, instance)
    run_key = the_one_request(result).run_key
    assert isinstance(result, dg.SensorResult) and run_key is not None and result.cursor is not None
    day = run_key.removeprefix("sales-").rsplit("-", 1)[0]
    assert dt.date.fromisoformat(day) and f"max={day};" in result.cursor  # ISO on every database
    assert isinstance(evaluate(by_day, sales_url, result.cursor, instance), dg.SkipReason)

    for settings, named in (
        (SensorSettings(column="sale_id) FROM sales; DROP TABLE sales; --"), "unknown column of sales"),
        (SensorSettings(table="sales_archive"), "unknown table 'sales_archive'"),
    ):
        with pytest.raises(SalesVersionError, match=named):
            evaluate(build_new_sales_sensor(settings), sales_url, None, instance)
    assert max_sale_id(sales_url) > 0  # the table is intact


@pytest.mark.parametrize("empty_database", backend_params("sqlite"), indirect=True)
def test_the_source_asset_is_observed_with_the_same_version(sales_url: str, instance: dg.DagsterInstance) -> None:
    """``sales_lines`` observed as from the UI's Observe button: the data version the sensor records."""
    source = defs().resolve_assets_def(SALES_LINES_KEY)  # cloud_db from the environment (sales_url)
    result = dg.materialize([source], instance=instance, selection=dg.AssetSelection.assets(SALES_LINES_KEY))
    assert result.success
    (observed,) = result.asset_observations_for_node("sales_lines")
    assert observed.tags["dagster/data_version"] == current_version(sales_url).digest
    record = instance.get_latest_data_version_record(SALES_LINES_KEY)
    assert record is not None and record.asset_observation is not None
    assert dg.AssetKey("sales_lines") in defs().resolve_asset_graph().get(dg.AssetKey("sales")).parent_keys


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


def ticks_note(server: DagsterServer, after: float, url: str) -> str:
    """What a failed expectation about a tick should say: every tick (skip reasons and cursors whole) and the
    version the table has now, against the moment the change was made."""
    lines = [f"changed at {after:.3f}; the version now: {current_version(url).text}"]
    lines += [
        f"tick {t['tickId']} at {t['timestamp']:.3f}: {t['status']} runs={t['runIds']} keys={t['runKeys']} "
        f"skip={t['skipReason']!r} cursor={t['cursor']!r} error={t['error']}"
        for t in sensor_ticks(server)
    ]
    return "\n".join(lines)


def planning_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name="planning_job")))


def finished_run(server: DagsterServer, run_id: str) -> dg.DagsterRun:
    with server.instance() as instance:
        run = wait_for(
            lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r,
            timeout=600,
            interval=2,
            what=f"run {run_id} to finish",
        )
    assert run.status == dg.DagsterRunStatus.SUCCESS, server.log_tail()
    return run


@pytest.mark.slow
def test_with_the_real_daemon_new_and_corrected_lines_each_launch_one_run_and_nothing_launches_none(
    tmp_path: Path,
) -> None:
    """The daemon's sensor loop, the queued run coordinator and the run launcher, all real."""
    # A 3 s minimum interval so the test sees several ticks (the daemon's loop runs every 5 s).
    with dagster_server(tmp_path, env={sensors.INTERVAL_VAR: "3"}) as server:
        cloud = server.database_urls[db.CLOUD_URL_VAR]
        planned = current_version(cloud).text
        # The plan of the current data exists: the sensor starts from its version, then is turned on.
        mutate_sensor(server, "setSensorCursor", cursor=planned)
        started = time.time()
        mutate_sensor(server, "startSensor")
        idle = next_finished_tick(server, started)
        assert idle["status"] == "SKIPPED", idle
        assert idle["skipReason"].startswith("no new or corrected sales in sales"), idle
        with server.instance() as instance:
            assert planning_runs(instance) == []

        # A new line: one run.
        new_top = insert_sales(cloud, 3)
        inserted = time.time()
        fired = next_finished_tick(server, inserted)
        assert fired["status"] == "SUCCESS", ticks_note(server, inserted, cloud)
        added = current_version(cloud)
        assert fired["runKeys"] == [sensors.run_key(added, planned)] and fired["cursor"] == added.text
        assert len(fired["runIds"]) == 1 and fired["runKeys"][0].startswith(f"sales-{new_top}-")
        first_run = finished_run(server, fired["runIds"][0])
        assert first_run.tags["dagster/run_key"] == fired["runKeys"][0]

        # Nothing new: no run.
        quiet = next_finished_tick(server, fired["timestamp"])
        assert quiet["status"] == "SKIPPED" and not quiet["runIds"], quiet

        # A line corrected in place (same count, same MAX(sale_id)): one run.
        correct_a_line(cloud)
        corrected_at = time.time()
        refired = next_finished_tick(server, corrected_at)
        assert refired["status"] == "SUCCESS" and len(refired["runIds"]) == 1, ticks_note(server, corrected_at, cloud)
        corrected = current_version(cloud)
        assert refired["runKeys"] == [sensors.run_key(corrected, added.text)] and refired["cursor"] == corrected.text
        finished_run(server, refired["runIds"][0])
        with server.instance() as instance:
            assert {r.run_id for r in planning_runs(instance)} == {first_run.run_id, refired["runIds"][0]}
            record = instance.get_latest_data_version_record(SALES_LINES_KEY)
            assert record is not None and record.asset_observation is not None
            assert record.asset_observation.tags["dagster/data_version"] == corrected.digest

        # A cursor reset asks for the same run key again: Dagster launches no duplicate.
        mutate_sensor(server, "setSensorCursor", cursor=added.text)
        reset = time.time()
        replay = next_finished_tick(server, reset)
        assert replay["status"] == "SKIPPED" and not replay["runIds"], replay
        with server.instance() as instance:
            assert len(planning_runs(instance)) == 2
