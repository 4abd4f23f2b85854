"""SQLAlchemy Core definitions of the contract's source tables (see ``docs/data-contract.md``).

``CLOUD_METADATA`` holds ``sales`` (the cloud database); ``ONPREM_METADATA`` holds ``locations``,
``inventory``, ``costs`` and ``receipts`` (the on-premises database). The demo generator creates these
tables; users may bring their own tables with the same columns instead.

Types are chosen to work on every supported dialect:

* ids are ``VARCHAR(64)``; on MySQL/MariaDB the tables use ``utf8mb4`` with the binary collation so
  that any Unicode id (4-byte characters included) round-trips and ids compare exactly, as elsewhere;
* money and quantities are ``NUMERIC(18, 4)`` (read back as ``float``, not ``Decimal``);
* days are ``DATE``; ``sale_id`` is ``BIGINT`` (on SQLite ``INTEGER PRIMARY KEY``, the rowid, which
  makes loading and reading in id order fast).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "CLOUD_METADATA",
    "ONPREM_METADATA",
    "SALES",
    "LOCATIONS",
    "INVENTORY",
    "COSTS",
    "RECEIPTS",
    "SOURCE_TABLES",
    "CLOUD_TABLES",
    "ONPREM_TABLES",
    "ID_LENGTH",
]

ID_LENGTH = 64

# Every table on MySQL/MariaDB: utf8mb4 (4-byte Unicode) with binary collation (exact id comparison).
# The options are given for both dialect names: a ``mysql+pymysql://`` URL compiles with ``mysql_*``,
# a ``mariadb+pymysql://`` URL with ``mariadb_*``.
_MYSQL_OPTIONS = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mariadb_charset": "utf8mb4",
    "mariadb_collate": "utf8mb4_bin",
}


def _id(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(ID_LENGTH), nullable=nullable, primary_key=primary_key)


def _number(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Numeric(18, 4, asdecimal=False), nullable=nullable)


CLOUD_METADATA = sa.MetaData()
ONPREM_METADATA = sa.MetaData()

SALES = sa.Table(
    "sales",
    CLOUD_METADATA,
    sa.Column(
        "sale_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
        comment="unique; grows as rows are loaded (the new-sales sensor's watermark)",
    ),
    sa.Column("sold_at", sa.Date(), nullable=False, comment="the day of the sale"),
    _id("product_id"),
    _id("location_id"),
    _number("quantity"),
    _number("unit_price", nullable=True),
    # Covers the daily aggregate: a day's lines in (product, location) order without visiting the table.
    sa.Index("ix_sales_day_product_location", "sold_at", "product_id", "location_id", "quantity"),
    sa.Index("ix_sales_product_location", "product_id", "location_id"),
    comment="one row per sale line",
    **_MYSQL_OPTIONS,
)

LOCATIONS = sa.Table(
    "locations",
    ONPREM_METADATA,
    _id("location_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("echelon", sa.Integer(), nullable=False, comment="0 for the top level"),
    _id("parent_location_id", nullable=True),
    _number("capacity_units", nullable=True),
    comment="the network; one row per location",
    **_MYSQL_OPTIONS,
)

INVENTORY = sa.Table(
    "inventory",
    ONPREM_METADATA,
    _id("product_id", primary_key=True),
    _id("location_id", primary_key=True),
    _number("on_hand"),
    _number("on_order", nullable=True),
    sa.Column("as_of", sa.Date(), nullable=False),
    comment="one row per stocked (product_id, location_id)",
    **_MYSQL_OPTIONS,
)

COSTS = sa.Table(
    "costs",
    ONPREM_METADATA,
    _id("product_id", primary_key=True),
    _number("unit_cost"),
    _number("holding_cost_rate"),
    _number("stockout_cost"),
    _number("waste_cost"),
    sa.Column("shelf_life_days", sa.Integer(), nullable=True),
    _number("min_order_qty", nullable=True),
    _number("order_multiple", nullable=True),
    comment="one row per product",
    **_MYSQL_OPTIONS,
)

RECEIPTS = sa.Table(
    "receipts",
    ONPREM_METADATA,
    _id("product_id"),
    _id("location_id"),
    sa.Column("ordered_at", sa.Date(), nullable=False),
    sa.Column("received_at", sa.Date(), nullable=False),
    _number("quantity"),
    comment="purchase and transfer receipts (lead-time statistics)",
    **_MYSQL_OPTIONS,
)

CLOUD_TABLES: tuple[sa.Table, ...] = (SALES,)
ONPREM_TABLES: tuple[sa.Table, ...] = (LOCATIONS, INVENTORY, COSTS, RECEIPTS)
SOURCE_TABLES: dict[str, sa.Table] = {t.name: t for t in CLOUD_TABLES + ONPREM_TABLES}
