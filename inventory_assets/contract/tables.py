"""SQLAlchemy Core tables of the contract, generated from ``inventory_assets.contract.spec``.

``CLOUD_METADATA`` holds ``sales`` (the cloud database); ``ONPREM_METADATA`` holds ``locations``,
``inventory``, ``costs`` and ``receipts`` (the on-premises database); ``PLAN_METADATA`` holds the plan
store's ``procurement_plan`` and ``procurement_plan_runs``; ``BACKTEST_METADATA`` the backtest's
``backtest_runs``, ``backtest_results`` and ``backtest_weekly`` (also in the plan database). The demo
generator creates the source tables;
users may bring their own tables with the same columns instead.

Types are chosen to work on every supported dialect (``classes.Column.sql_type``):

* ids are ``VARCHAR(64)``; on MySQL/MariaDB the tables use ``utf8mb4`` with the NO PAD binary collation
  (``classes.no_pad_binary_collation``) so that any Unicode id (4-byte characters included) round-trips
  and ids compare exactly, case and trailing spaces included, as elsewhere;
* source money and quantities are ``NUMERIC(18, 4)`` (read back as ``float``, not ``Decimal``); the plan
  store's numbers are IEEE doubles;
* days are ``DATE``; ``sale_id`` is ``BIGINT`` (on SQLite ``INTEGER PRIMARY KEY``, the rowid, which
  makes loading and reading in id order fast).
"""

from __future__ import annotations

import sqlalchemy as sa

from inventory_assets.contract import spec
from inventory_assets.contract.classes import ID_LENGTH, MYSQL_TABLE_OPTIONS, TEXT_LENGTH, UtcDateTime

__all__ = [
    "CLOUD_METADATA",
    "ONPREM_METADATA",
    "PLAN_METADATA",
    "SALES",
    "LOCATIONS",
    "INVENTORY",
    "COSTS",
    "RECEIPTS",
    "PLAN",
    "RUNS",
    "BACKTEST_METADATA",
    "BUDGET_FRONTIER",
    "FRONTIER_METADATA",
    "BACKTEST_RUNS",
    "BACKTEST_RESULTS",
    "BACKTEST_WEEKLY",
    "SOURCE_TABLES",
    "CLOUD_TABLES",
    "ONPREM_TABLES",
    "ID_LENGTH",
    "TEXT_LENGTH",
    "MYSQL_TABLE_OPTIONS",
    "UtcDateTime",
]

CLOUD_METADATA = sa.MetaData()
ONPREM_METADATA = sa.MetaData()
PLAN_METADATA = sa.MetaData()

SALES = spec.SALES_LINES.to_sqlalchemy(CLOUD_METADATA, "source")
LOCATIONS = spec.LOCATIONS.to_sqlalchemy(ONPREM_METADATA, "source")
INVENTORY = spec.INVENTORY.to_sqlalchemy(ONPREM_METADATA, "source")
COSTS = spec.COSTS.to_sqlalchemy(ONPREM_METADATA, "source")
RECEIPTS = spec.RECEIPTS.to_sqlalchemy(ONPREM_METADATA, "source")

PLAN = spec.PROCUREMENT_PLAN_ROWS.to_sqlalchemy(PLAN_METADATA, "plan")
RUNS = spec.PROCUREMENT_PLAN_RUNS.to_sqlalchemy(PLAN_METADATA, "plan")

# The backtest's tables live in the plan database too, on metadata of their own (created when written).
BACKTEST_METADATA = sa.MetaData()
BACKTEST_RUNS = spec.BACKTEST_RUNS.to_sqlalchemy(BACKTEST_METADATA, "plan")
BACKTEST_RESULTS = spec.BACKTEST_RESULTS.to_sqlalchemy(BACKTEST_METADATA, "plan")
BACKTEST_WEEKLY = spec.BACKTEST_WEEKLY.to_sqlalchemy(BACKTEST_METADATA, "plan")

# The budget frontier too (created when written).
FRONTIER_METADATA = sa.MetaData()
BUDGET_FRONTIER = spec.BUDGET_FRONTIER.to_sqlalchemy(FRONTIER_METADATA, "plan")

CLOUD_TABLES: tuple[sa.Table, ...] = (SALES,)
ONPREM_TABLES: tuple[sa.Table, ...] = (LOCATIONS, INVENTORY, COSTS, RECEIPTS)
SOURCE_TABLES: dict[str, sa.Table] = {t.name: t for t in CLOUD_TABLES + ONPREM_TABLES}
