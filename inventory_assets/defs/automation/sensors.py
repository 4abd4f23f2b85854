"""``new_sales_sensor``: one run of the planning job when new sales rows arrive in the cloud database.

Each tick reads the highest watermark (``MAX(sale_id) FROM sales`` unless configured otherwise) from the
``cloud_db`` resource, with a short connect and statement timeout, and compares it with the sensor's
cursor (the watermark of the last run it requested):

* higher (or no cursor yet) -> one ``RunRequest`` of ``planning_job`` with the run key
  ``sales-<watermark>`` and the run config of automated runs (empty: every knob takes its default, which
  ``INVENTORY_PLAN_BUDGET`` and the like set), and the cursor moves to the watermark. The run key
  makes the request idempotent: after a cursor reset the same watermark asks for the same key and Dagster
  launches no second run;
* the same (or an empty table) -> ``SkipReason`` saying so;
* lower (the table was reloaded) -> ``SkipReason`` that says to reset the cursor;
* the database unreachable, too slow, or the table/column missing -> :class:`SalesWatermarkError` with the
  masked URL: the tick fails, the cursor stays, and the next healthy tick catches up with one run.

A run that fails is not requested again (its run key is spent): the instance's run retries
(``dagster.yaml``: ``run_retries``) re-execute it.

Settings come from environment variables read when the code location loads:

==========================================  ===========  =============================================
variable                                    default      meaning
==========================================  ===========  =============================================
``INVENTORY_SALES_WATERMARK_TABLE``         ``sales``    the table whose new rows trigger a plan
``INVENTORY_SALES_WATERMARK_COLUMN``        ``sale_id``  a column that grows with every load (id,
                                                         load timestamp)
``INVENTORY_SALES_SENSOR_INTERVAL_SECONDS`` ``60``       minimum seconds between two ticks
``INVENTORY_SALES_SENSOR_TIMEOUT_SECONDS``  ``5``        connect and statement timeout of the query
``INVENTORY_SALES_SENSOR_STATUS``           ``STOPPED``  ``RUNNING`` turns it on at deployment
==========================================  ===========  =============================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import dagster as dg
import sqlalchemy as sa

from inventory_assets.defs.automation.jobs import planning_job
from inventory_assets.defs.automation.schedules import TRIGGER_TAG, default_status_from_env, plan_run_config
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db

SENSOR_NAME = "new_sales_sensor"
RUN_KEY_PREFIX = "sales-"
WATERMARK_TAG = "inventory/sales_watermark"

WATERMARK_TABLE_VAR = "INVENTORY_SALES_WATERMARK_TABLE"
WATERMARK_COLUMN_VAR = "INVENTORY_SALES_WATERMARK_COLUMN"
INTERVAL_VAR = "INVENTORY_SALES_SENSOR_INTERVAL_SECONDS"
TIMEOUT_VAR = "INVENTORY_SALES_SENSOR_TIMEOUT_SECONDS"
STATUS_VAR = "INVENTORY_SALES_SENSOR_STATUS"


class SalesWatermarkError(RuntimeError):
    """The watermark could not be read; the tick fails and the cursor stays. No password in the text."""


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


# --- the watermark (no Dagster) ---------------------------------------------------------------------


def watermark_text(value: Any) -> str | None:
    """The watermark as the cursor stores it: integers without ``.0``, dates and times in ISO form.

    ``None`` (and NaN/NaT) for an empty table. Drivers differ (``int``, ``Decimal``, numpy scalars, a date
    or its text on SQLite), so the same value gives the same text on every database.
    """
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, Decimal)):
        if isinstance(value, Decimal) and not value.is_finite():
            return str(value)
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return str(int(value)) if value == int(value) else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _order_key(text: str) -> tuple[int, Any]:
    try:
        number = Decimal(text)
        if number.is_finite():
            return (0, number)
    except InvalidOperation:
        pass
    return (1, text)  # ISO dates and timestamps of one format order as text


def compare_watermarks(watermark: str, cursor: str | None) -> int:
    """1 if ``watermark`` is newer than ``cursor`` (or there is no cursor), 0 if equal, -1 if older.

    Numbers compare as numbers (``10`` > ``9``), anything else as text (ISO timestamps). A watermark of
    another kind than the cursor (the column was changed) counts as newer.
    """
    if cursor is None:
        return 1
    new, old = _order_key(watermark), _order_key(cursor)
    if new[0] != old[0]:
        return 1
    return (new[1] > old[1]) - (new[1] < old[1])


def read_watermark(database: SqlDatabase, table: str, column: str, timeout_seconds: float) -> Any:
    """``MAX(column) FROM table`` on ``database``: names checked against its catalogue, short timeouts.

    One attempt (the next tick is the retry). Raises :class:`SalesWatermarkError` with the masked URL
    on any database error or an unknown table or column.
    """
    connect_timeout = max(1, min(database.connect_timeout_seconds, math.ceil(timeout_seconds)))
    what = f"reading MAX({column}) FROM {table}"

    def query() -> Any:
        engine = db.make_engine(database.resolved_url, connect_timeout)
        db.check_identifier(table, db.table_names(engine), "table")
        columns = {c["name"] for c in sa.inspect(engine).get_columns(table)}
        db.check_identifier(column, columns, f"column of {table}")
        quote = engine.dialect.identifier_preparer.quote
        frame = db.read_frame(
            engine, f"SELECT MAX({quote(column)}) AS watermark FROM {quote(table)}", timeout_seconds=timeout_seconds
        )
        return frame.iat[0, 0] if len(frame) else None

    try:
        return db.retry(query, attempts=1, what=what, url=database.resolved_url)
    except db.DatabaseError as error:
        raise SalesWatermarkError(str(error)) from None
    except ValueError as error:  # unknown table or column
        raise SalesWatermarkError(f"{what} failed on {database.masked_url}: {error}") from None


# --- the sensor --------------------------------------------------------------------------------------


def evaluate_new_sales(
    context: dg.SensorEvaluationContext, cloud_db: SqlDatabase, settings: SensorSettings
) -> dg.SensorResult | dg.SkipReason:
    """One tick: a run request for a new watermark, a skip reason otherwise (see the module docstring)."""
    cursor = context.cursor
    try:
        value = read_watermark(cloud_db, settings.table, settings.column, settings.timeout_seconds)
    except SalesWatermarkError as error:
        raise SalesWatermarkError(
            f"{SENSOR_NAME}: {error}. The cursor stays at {cursor!r}; the next tick tries again."
        ) from None
    watermark = watermark_text(value)
    where = f"{settings.table}.{settings.column} on {cloud_db.masked_url}"
    if watermark is None:
        return dg.SkipReason(f"no rows in {where}; nothing to plan")
    order = compare_watermarks(watermark, cursor)
    if order == 0:
        return dg.SkipReason(f"no new sales: MAX({settings.column}) is still {watermark} ({where})")
    if order < 0:
        return dg.SkipReason(
            f"MAX({settings.column}) went back from {cursor} to {watermark} ({where}): the table was reloaded? "
            "Reset the sensor's cursor (UI: sensor page, or `dagster sensor cursor --delete`) to plan from it."
        )
    context.log.info(f"new sales in {where}: MAX({settings.column}) {cursor} -> {watermark}")
    request = dg.RunRequest(
        run_key=f"{RUN_KEY_PREFIX}{watermark}",
        run_config=plan_run_config(),
        tags={TRIGGER_TAG: SENSOR_NAME, WATERMARK_TAG: watermark},
    )
    return dg.SensorResult(run_requests=[request], cursor=watermark)


def build_new_sales_sensor(settings: SensorSettings | None = None) -> dg.SensorDefinition:
    """The sensor with ``settings`` (default: from the environment)."""
    settings = settings or SensorSettings.from_env()

    @dg.sensor(
        name=SENSOR_NAME,
        job=planning_job,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=settings.default_status,
        description=(
            f"One run of planning_job when MAX({settings.column}) of {settings.table} in the cloud database grows "
            f"(run key sales-<watermark>); checked at most every {settings.minimum_interval_seconds} s with a "
            f"{settings.timeout_seconds:g} s timeout. A database outage fails the tick and keeps the cursor."
        ),
    )
    def new_sales_sensor(context: dg.SensorEvaluationContext, cloud_db: SqlDatabase) -> dg.SensorResult | dg.SkipReason:
        return evaluate_new_sales(context, cloud_db, settings)

    return new_sales_sensor


new_sales_sensor = build_new_sales_sensor()

SENSORS = [new_sales_sensor]
