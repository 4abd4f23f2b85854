"""``new_sales_sensor``: one run of the planning job when the cloud sale lines change; ``sales_lines``:
those lines as an observable source asset (upstream of ``sales``).

Each tick reads the version of the lines (``io/sales_version.py``: COUNT, MAX(sale_id), sums of quantity
weighted by day and by id, one pass in the database) from the ``cloud_db`` resource, with a short connect
and statement timeout, and compares it with the sensor's cursor (the version of the last run it requested):

* another version (new, deleted or corrected lines), or no cursor yet -> one ``RunRequest`` of
  ``planning_job`` with the run key ``sales-<max>-<change>`` and the run config of automated runs (empty:
  every knob takes its default, which ``INVENTORY_PLAN_BUDGET`` and the like set), an observation of
  ``sales_lines`` with its data version, and the cursor moves to the version. The run key names the change
  from the cursor, so a cursor reset asks for the same key and Dagster launches no second run, while data
  corrected back to an earlier version is a new change;
* the same version (or an empty table) -> ``SkipReason`` saying so;
* the database unreachable, too slow, or the table/column missing -> :class:`SalesVersionError` with the
  masked URL: the tick fails, the cursor stays, and the next healthy tick catches up with one run.

A run that fails is not requested again (its run key is spent): the instance's run retries
(``dagster.yaml``: ``run_retries``) re-execute it.

Settings come from environment variables read when the code location loads:

==========================================  ===========  =============================================
variable                                    default      meaning
==========================================  ===========  =============================================
``INVENTORY_SALES_WATERMARK_TABLE``         ``sales``    the table whose version triggers a plan
``INVENTORY_SALES_WATERMARK_COLUMN``        ``sale_id``  the column whose MAX is part of the version
                                                         (id, load timestamp)
``INVENTORY_SALES_SENSOR_INTERVAL_SECONDS`` ``60``       minimum seconds between two ticks
``INVENTORY_SALES_SENSOR_TIMEOUT_SECONDS``  ``5``        connect and statement timeout of the query
``INVENTORY_SALES_SENSOR_STATUS``           ``STOPPED``  ``RUNNING`` turns it on at deployment
==========================================  ===========  =============================================
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from inventory_assets.defs import constants, versions
from inventory_assets.defs.automation.jobs import planning_job
from inventory_assets.defs.automation.schedules import TRIGGER_TAG, default_status_from_env, plan_run_config
from inventory_assets.defs.constants import SALES_LINES_KEY
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db
from inventory_assets.io.sales_version import SalesVersion, SalesVersionError, read_sales_version

SENSOR_NAME = "new_sales_sensor"
RUN_KEY_PREFIX = "sales-"
WATERMARK_TAG = "inventory/sales_watermark"
VERSION_TAG = "inventory/sales_version"
DATA_VERSION_TAG = "dagster/data_version"
"""The tag of an observation that carries its data version (what ``dg.ObserveResult(data_version=…)`` sets)."""

WATERMARK_TABLE_VAR = "INVENTORY_SALES_WATERMARK_TABLE"
WATERMARK_COLUMN_VAR = "INVENTORY_SALES_WATERMARK_COLUMN"
INTERVAL_VAR = "INVENTORY_SALES_SENSOR_INTERVAL_SECONDS"
TIMEOUT_VAR = "INVENTORY_SALES_SENSOR_TIMEOUT_SECONDS"
STATUS_VAR = "INVENTORY_SALES_SENSOR_STATUS"


@dataclasses.dataclass(frozen=True)
class SensorSettings:
    """What the sensor watches and how often; see the module docstring for the variables."""

    table: str = "sales"
    column: str = "sale_id"
    minimum_interval_seconds: int = 60
    timeout_seconds: float = 5.0
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SensorSettings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def number(var: str, default: float, kind: type) -> Any:
            text = (env.get(var) or "").strip()
            if not text:
                return default
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{var}={text!r}: expected a positive {kind.__name__}")
            return value

        return cls(
            table=(env.get(WATERMARK_TABLE_VAR) or defaults.table).strip(),
            column=(env.get(WATERMARK_COLUMN_VAR) or defaults.column).strip(),
            minimum_interval_seconds=number(INTERVAL_VAR, defaults.minimum_interval_seconds, int),
            timeout_seconds=number(TIMEOUT_VAR, defaults.timeout_seconds, float),
            default_status=dg.DefaultSensorStatus(default_status_from_env(STATUS_VAR, env).value),
        )


# --- the version ---------------------------------------------------------------------------------------


def read_version(database: SqlDatabase, settings: SensorSettings) -> SalesVersion:
    """`SalesVersion` of the watched table on ``database``, with short timeouts and one attempt (the next
    tick is the retry). Raises :class:`SalesVersionError` with the masked URL on any database error or an
    unknown table or column."""
    connect_timeout = max(1, min(database.connect_timeout_seconds, math.ceil(settings.timeout_seconds)))
    what = f"reading the version of {settings.table} (COUNT, MAX({settings.column}), sums of quantity)"

    def query() -> SalesVersion:
        engine = db.make_engine(database.resolved_url, connect_timeout)
        return read_sales_version(engine, settings.table, settings.column, timeout_seconds=settings.timeout_seconds)

    try:
        return db.retry(query, attempts=1, what=what, url=database.resolved_url)
    except db.DatabaseError as error:
        raise SalesVersionError(str(error)) from None
    except ValueError as error:  # unknown table or column
        raise SalesVersionError(f"{what} failed on {database.masked_url}: {error}") from None


def run_key(version: SalesVersion, cursor: str | None) -> str:
    """``sales-<MAX>-<12 hex digits>`` of the change from ``cursor`` to ``version``: the same change asks
    for the same key (a cursor reset launches no duplicate), and data that changes back to an earlier
    version after a correction is a new change, so it is planned again."""
    change = hashlib.sha256(f"{cursor}\n{version.text}".encode()).hexdigest()[:12]
    return f"{RUN_KEY_PREFIX}{version.watermark}-{change}"


def observation(version: SalesVersion, settings: SensorSettings, database: SqlDatabase) -> dg.AssetObservation:
    """The `sales_lines` observation of ``version``: its data version and its parts as metadata."""
    return dg.AssetObservation(
        asset_key=SALES_LINES_KEY,
        metadata=_version_metadata(version, settings, database),
        tags={DATA_VERSION_TAG: version.digest},
    )


def _version_metadata(version: SalesVersion, settings: SensorSettings, database: SqlDatabase) -> dict[str, Any]:
    return {
        "lines": version.lines,
        f"max {settings.column}": version.watermark or "",
        "units": version.units or "",
        "version": version.text,
        "dagster/table_name": settings.table,
        "database": database.masked_url,
    }


# --- the sensor and the source it watches ------------------------------------------------------------


def evaluate_new_sales(
    context: dg.SensorEvaluationContext, cloud_db: SqlDatabase, settings: SensorSettings
) -> dg.SensorResult | dg.SkipReason:
    """One tick: a run request for a changed version, a skip reason otherwise (see the module docstring)."""
    cursor = context.cursor
    try:
        version = read_version(cloud_db, settings)
    except SalesVersionError as error:
        raise SalesVersionError(
            f"{SENSOR_NAME}: {error}. The cursor stays at {cursor!r}; the next tick tries again."
        ) from None
    where = f"{settings.table} on {cloud_db.masked_url}"
    if version.lines == 0:
        return dg.SkipReason(f"no rows in {where}; nothing to plan")
    if version.text == cursor:
        return dg.SkipReason(f"no new or corrected sales in {where}: {version.text}")
    change = version.change_from(cursor)
    context.log.info(f"sales changed in {where}: {change}")
    request = dg.RunRequest(
        run_key=run_key(version, cursor),
        run_config=plan_run_config(),
        tags={TRIGGER_TAG: SENSOR_NAME, WATERMARK_TAG: version.watermark or "", VERSION_TAG: version.digest},
    )
    return dg.SensorResult(
        run_requests=[request], cursor=version.text, asset_events=[observation(version, settings, cloud_db)]
    )


def build_new_sales_sensor(settings: SensorSettings | None = None) -> dg.SensorDefinition:
    """The sensor with ``settings`` (default: from the environment)."""
    settings = settings or SensorSettings.from_env()

    @dg.sensor(
        name=SENSOR_NAME,
        job=planning_job,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=settings.default_status,
        description=(
            f"One run of planning_job when the version of {settings.table} in the cloud database changes: new "
            f"lines, deleted lines or corrected quantities and days (COUNT, MAX({settings.column}) and sums of "
            f"quantity). Checked at most every {settings.minimum_interval_seconds} s with a "
            f"{settings.timeout_seconds:g} s timeout; a database outage fails the tick and keeps the cursor."
        ),
    )
    def new_sales_sensor(context: dg.SensorEvaluationContext, cloud_db: SqlDatabase) -> dg.SensorResult | dg.SkipReason:
        return evaluate_new_sales(context, cloud_db, settings)

    return new_sales_sensor


def build_sales_lines(settings: SensorSettings | None = None) -> dg.AssetsDefinition:
    """The observable source asset `sales_lines` (the cloud table the sensor watches), observed by the
    sensor on every change and by anyone from the UI (Observe)."""
    settings = settings or SensorSettings.from_env()
    spec = dg.AssetSpec(
        key=SALES_LINES_KEY,
        group_name=constants.SOURCES_GROUP,
        description=(
            f"The cloud database's {settings.table} table, raw sale lines (docs/data-contract.md). Its data "
            "version changes with new, deleted and corrected lines; the `sales` asset aggregates it."
        ),
        kinds={"sql"},
        owners=versions.OWNERS,
        tags=versions.tags("source"),
    )

    @dg.multi_observable_source_asset(specs=[spec], name="sales_lines")
    def sales_lines(cloud_db: SqlDatabase) -> dg.ObserveResult:
        version = read_version(cloud_db, settings)
        return dg.ObserveResult(
            data_version=dg.DataVersion(version.digest), metadata=_version_metadata(version, settings, cloud_db)
        )

    return sales_lines


_SETTINGS = SensorSettings.from_env()  # one reading of the environment for the sensor and the source it watches
new_sales_sensor = build_new_sales_sensor(_SETTINGS)
sales_lines = build_sales_lines(_SETTINGS)

SENSORS = [new_sales_sensor]
