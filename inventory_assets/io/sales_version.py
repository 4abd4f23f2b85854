"""The version of the cloud ``sales`` lines: what tells new lines and corrected lines from nothing new.

One aggregate statement, computed by the database in one pass over the table (3.1 s for the large demo's
12.0M lines on SQLite on the 2-core benchmark machine; ``MAX(sale_id)`` alone is an index seek, but it
sees no correction):

=============  ====================================================  ===========================================
part           SQL                                                   changes when
=============  ====================================================  ===========================================
``lines``      ``COUNT(*)``                                          a line is added or deleted
``watermark``  ``MAX(<watermark column>)`` (default ``sale_id``)     a line with a higher id (or time) arrives
``units``      ``SUM(quantity)``                                     a quantity is corrected
``unit_days``  ``SUM(quantity * <day number of sold_at>)``           a line is moved to another day
``unit_ids``   ``SUM(quantity * MOD(sale_id, 9973))``                units are moved between lines of a day
=============  ====================================================  ===========================================

``unit_days`` needs a day number the dialect computes (SQLite ``julianday``, PostgreSQL the days since
1970, MariaDB/MySQL ``TO_DAYS``); on another dialect it is left out. ``unit_ids`` needs a ``sale_id``
column. A correction that only moves a line to another product or location, with the same quantity, day
and id, is not seen: the daily schedule re-plans from it. Sums are exact on PostgreSQL and MariaDB
(NUMERIC/DECIMAL); SQLite's floating sums are written with 12 significant digits.

``SalesVersion.text`` is the sensor's cursor and ``SalesVersion.digest`` the source asset's data version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from inventory_assets.io import db

ID_MODULUS = 9973
"""The prime the line ids are reduced by before weighting their units (keeps the sum far from overflow)."""

_DAY_NUMBER = {
    "sqlite": "julianday({column})",  # a timestamp's time of day counts too; date() would double the pass's time
    "postgresql": "(CAST({column} AS DATE) - DATE '1970-01-01')",
    "mysql": "TO_DAYS({column})",
    "mariadb": "TO_DAYS({column})",
}


class SalesVersionError(RuntimeError):
    """The version could not be read (database error, unknown table or column); no password in the text."""


def value_text(value: Any) -> str | None:
    """A database value as stable text: integers without ``.0``, dates and times in ISO form, floats with
    12 significant digits; ``None`` (and NaN/NaT) for no value. Drivers differ (``int``, ``Decimal``, numpy
    scalars, a date or its text on SQLite), so the same value gives the same text on every database."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not math.isfinite(value):
            return str(value)
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.12g}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return str(int(value)) if value == int(value) else str(value.normalize())
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclasses.dataclass(frozen=True)
class SalesVersion:
    """The parts of the version (module docstring), each as `value_text`."""

    lines: int
    watermark: str | None
    units: str | None
    unit_days: str | None = None
    unit_ids: str | None = None

    def _parts(self) -> dict[str, str]:
        parts = {
            "lines": str(self.lines),
            "max": self.watermark,
            "units": self.units,
            "unit_days": self.unit_days,
            "unit_ids": self.unit_ids,
        }
        return {name: value for name, value in parts.items() if value is not None}

    @property
    def text(self) -> str:
        """All parts, readable: ``lines=…;max=…;units=…;unit_days=…;unit_ids=…`` (absent parts left out)."""
        return ";".join(f"{name}={value}" for name, value in self._parts().items())

    @property
    def digest(self) -> str:
        """16 hex digits of the SHA-256 of `text`: the data version Dagster shows."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def change_from(self, cursor: str | None) -> str:
        """In words, what differs from the version ``cursor`` (a `text`) holds."""
        if cursor is None:
            return "no version seen yet"
        before = dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)
        if not before:
            return f"the cursor {cursor!r} is not a version (an older sensor's watermark)"
        changed = [
            f"{name} {before.get(name, '-')} -> {value}"
            for name, value in self._parts().items()
            if before.get(name) != value
        ]
        return ", ".join(changed) or "the same"


def read_sales_version(
    engine: sa.Engine, table: str, watermark_column: str, *, timeout_seconds: float | None = None
) -> SalesVersion:
    """`SalesVersion` of ``table`` (names checked against the database's catalogue, read-only, one statement).

    Raises ValueError for an unknown table or column, `db.DatabaseError` subclasses as the driver does.
    """
    db.check_identifier(table, db.table_names(engine), "table")
    columns = {c["name"] for c in sa.inspect(engine).get_columns(table)}
    db.check_identifier(watermark_column, columns, f"column of {table}")
    for needed in ("quantity", "sold_at"):
        db.check_identifier(needed, columns, f"column of {table} (the version sums it)")
    quote = engine.dialect.identifier_preparer.quote
    parts = [
        "COUNT(*) AS line_count",
        f"MAX({quote(watermark_column)}) AS top_value",
        "SUM(quantity) AS unit_sum",
    ]
    day_number = _DAY_NUMBER.get(engine.dialect.name)
    if day_number:
        parts.append(f"SUM(quantity * {day_number.format(column='sold_at')}) AS unit_days")
    if "sale_id" in columns:
        modulo = f"(sale_id % {ID_MODULUS})" if engine.dialect.name == "sqlite" else f"MOD(sale_id, {ID_MODULUS})"
        parts.append(f"SUM(quantity * {modulo}) AS unit_ids")  # SQLite has MOD only with its math functions
    statement = f"SELECT {', '.join(parts)} FROM {quote(table)}"
    with db.read_only(engine, timeout_seconds=timeout_seconds) as conn:
        row = conn.execute(sa.text(statement)).mappings().one()
    return SalesVersion(
        lines=int(row["line_count"]),
        watermark=value_text(row["top_value"]),
        units=value_text(row["unit_sum"]),
        unit_days=value_text(row.get("unit_days")),
        unit_ids=value_text(row.get("unit_ids")),
    )
