"""The data contract, stated once: every source table, every frame passed between assets, the plan tables.

Each table is a :class:`~inventory_assets.contract.classes.Table` of
:class:`~inventory_assets.contract.classes.Column` s: kind (SQL type and dtype), doc, nullability, what NULL
means, whether a user's SELECT may omit it, value rules and the key. Everything else is generated from
here: the pandera schemas (``schemas.py``, ``frames.py``, ``plan.py``), the SQLAlchemy tables
(``tables.py``), the default SELECTs (``io/queries.py``), the keys and NULL defaults (``validation.py``),
the ``dagster/column_schema`` metadata and the column tables of ``docs/data-contract.md`` and
``docs/frames.md`` (``docs.py``).

Adding an optional column to a source table: add a :class:`Column` with ``optional=True`` (and its
``null_means``) to the table below, then use the value where it is needed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.contract.classes import Column, FrameCheck, Table

__all__ = [
    "BUDGET_FRONTIER",
    "LEAD_TIME_LEVELS",
    "SAFETY_STOCK_METHODS",
    "ABC_CLASSES",
    "XYZ_CLASSES",
    "REASON_CODES",
    "SALES_LINES",
    "SALES",
    "INVENTORY",
    "COSTS",
    "LOCATIONS",
    "RECEIPTS",
    "SOURCE_TABLES",
    "SOURCE_FRAMES",
    "MERGED_DATASET",
    "FORECAST_MODELS",
    "FORECAST_FALLBACKS",
    "DEMAND_FORECAST",
    "ABC_RISK_FEATURES",
    "PROCUREMENT_PLAN",
    "PLAN_TABLE_FRONT",
    "PROCUREMENT_PLAN_ROWS",
    "PROCUREMENT_PLAN_RUNS",
    "PURCHASE_ORDERS",
    "TRANSFER_ORDERS",
    "PURCHASE_ORDERS_ROWS",
    "TRANSFER_ORDERS_ROWS",
    "ORDER_TABLES",
    "FRAMES",
    "BACKTEST_ALL",
    "BACKTEST_RUNS",
    "BACKTEST_RESULTS",
    "BACKTEST_WEEKLY",
    "BACKTEST_TABLES",
]

# --- values shared by the layers above -------------------------------------------------------------------

LEAD_TIME_LEVELS: tuple[str, ...] = ("pair", "product", "location", "default")
"""Where a row's lead time comes from, most specific first (``merged_dataset.lead_time_level``)."""
SAFETY_STOCK_METHODS: tuple[str, ...] = ("none", "normal", "poisson", "negative_binomial")
"""Distributions behind a safety stock (``abc_risk_features.safety_stock_method``)."""
FORECAST_MODELS: tuple[str, ...] = ("window_mean", "weekday_level", "weekday_trend", "croston_sba", "tsb")
"""The forecast's candidate models, in tie-break order (``demand_forecast.forecast_method``; docs/forecast.md)."""
FORECAST_FALLBACKS: tuple[str, ...] = ("none", "short_history")
"""Rows no candidate is judged on: no sale in the window; too few evaluation origins."""
ABC_CLASSES: tuple[str, ...] = ("A", "B", "C")
XYZ_CLASSES: tuple[str, ...] = ("X", "Y", "Z")
REASON_CODES: tuple[str, ...] = (
    "critical_unreachable",
    "critical_minimum",
    "limited_by_parent_stock",
    "limited_by_budget",
    "limited_by_capacity",
    "limited_by_shelf_life",
    "pack_moq_rounding",
    "below_target",
    "nothing_needed",
)
"""Why a plan row got its quantity, in order of precedence (``optimization/reasons.py``, docs/model.md)."""

_TOL = 1e-9

# Magnitudes no real business reaches: a value beyond one is a unit or decimal error (grams for tonnes, cents
# for dollars, a misplaced exponent) that would pass every sign rule and change what the plan means, or
# overflow deep inside the features. Checked at the source, naming table, column, value and row.
MAX_UNITS = 1e12
"""Most units on a sale line, in a day's sales, in stock, on order, in a receipt, an MOQ, a case or a capacity."""
MAX_UNIT_MONEY = 1e9
"""Most money per unit: purchase price, stock-out and waste cost, sale price."""
MAX_HOLDING_RATE = 100.0
"""Most annual holding cost as a fraction of unit cost (10,000 % a year)."""
MAX_SHELF_LIFE_DAYS = 36_500
"""Longest shelf life (100 years; longer is no shelf life: leave it NULL)."""
MAX_ECHELON = 16
"""Deepest network level (0 is the top): deeper is a cycle or a broken parent chain, not a network."""
MAX_WINDOW_DAYS = 3660
"""Longest span of days any setting may name (ten years): a history window, a review period, a warm-up, a
default lead time, a backtest's held-out weeks. More is a typo, refused when the run starts."""


def _close(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).abs() <= _TOL * (1.0 + b.abs())


def carried(column: Column, **changes: Any) -> Column:
    """``column`` as a later frame carries it: its NULL default applied (not nullable then), type and
    value rules kept, no longer optional; text length and whole-number checks were the source's."""
    defaults: dict[str, Any] = {
        "nullable": column.nullable and column.null_means is None,
        "null_means": None,
        "optional": False,
        "min_length": None,
        "whole": False,
        "unique": False,
        "note": "",
        "primary_key": False,
    }
    if column.null_means is not None:
        defaults["null_doc"] = ""
    defaults.update(changes)
    return replace(column, **defaults)


# --- source tables (docs/data-contract.md) ----------------------------------------------------------------

SALES_LINES = Table(
    name="sales",
    doc="one row per sale line",
    columns=(
        Column(
            "sale_id",
            "serial",
            "unique; grows as rows are loaded (the new-sales sensor's watermark)",
            optional=True,
            unique=True,
        ),
        Column("sold_at", "day", "the day of the sale (a date or a timestamp)"),
        Column("product_id", "id", "Product sold."),
        Column("location_id", "id", "the selling location"),
        Column("quantity", "number", "Units sold on the line; never NULL.", ge=0, le=MAX_UNITS, finite=True),
        Column("unit_price", "number", "Price per unit.", nullable=True, optional=True, ge=0, le=MAX_UNIT_MONEY),
    ),
    key=("sale_id",),
    sql_primary_key=("sale_id",),
    sql_indexes=(
        # Covers the daily aggregate: a day's lines in (product, location) order without visiting the table.
        ("ix_sales_day_product_location", ("sold_at", "product_id", "location_id", "quantity")),
        ("ix_sales_product_location", ("product_id", "location_id")),
    ),
)
"""The cloud database's ``sales`` table: raw sale lines, aggregated in the database (the ``SALES`` frame)."""

_PRODUCT = Column("product_id", "id", "Product.", min_length=1)
_LOCATION = Column("location_id", "id", "Location.", min_length=1)

INVENTORY = Table(
    name="inventory",
    doc="one row per stocked (product_id, location_id)",
    schema_name="InventorySchema",
    schema_doc="Stock per stocked (product, location) on the snapshot day.",
    columns=(
        replace(_PRODUCT, doc="Stocked product.", note="must exist in `costs`"),
        replace(_LOCATION, doc="Stocking location.", note="must exist in `locations`"),
        Column("on_hand", "number", "Units on hand (>= 0).", ge=0, le=MAX_UNITS, finite=True),
        Column(
            "on_order",
            "number",
            "Units on open orders due within the lead time; NULL = 0.",
            nullable=True,
            null_means=0.0,
            optional=True,
            ge=0,
            le=MAX_UNITS,
            finite=True,
        ),
        Column("as_of", "day", "Snapshot day."),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
    sql_primary_key=("product_id", "location_id"),
)

COSTS = Table(
    name="costs",
    doc="one row per product",
    schema_name="CostsSchema",
    schema_doc="Costs and ordering rules per product.",
    columns=(
        replace(_PRODUCT, unique=True),
        Column("unit_cost", "number", "Purchase price per unit (> 0).", gt=0, le=MAX_UNIT_MONEY, finite=True),
        Column(
            "holding_cost_rate",
            "number",
            "Annual holding cost as a fraction of unit cost (>= 0).",
            ge=0,
            le=MAX_HOLDING_RATE,
            finite=True,
        ),
        Column(
            "stockout_cost",
            "number",
            "Penalty per unit of demand not covered (>= 0).",
            ge=0,
            le=MAX_UNIT_MONEY,
            finite=True,
        ),
        Column("waste_cost", "number", "Loss per unit that expires (>= 0).", ge=0, le=MAX_UNIT_MONEY, finite=True),
        Column(
            "shelf_life_days",
            "integer",
            "Days a unit keeps; NULL = not perishable.",
            nullable=True,
            null_doc="not perishable",
            optional=True,
            gt=0,
            le=MAX_SHELF_LIFE_DAYS,
            finite=True,
            whole=True,
        ),
        Column(
            "min_order_qty",
            "number",
            "Minimum order quantity; NULL = 0.",
            nullable=True,
            null_means=0.0,
            optional=True,
            ge=0,
            le=MAX_UNITS,
            finite=True,
        ),
        Column(
            "order_multiple",
            "number",
            "Case pack: orders are whole multiples; NULL = 1.",
            nullable=True,
            null_means=1.0,
            optional=True,
            gt=0,
            le=MAX_UNITS,
            finite=True,
        ),
        Column(
            "product_name",
            "text",
            "Display name of the product; NULL: lists show the product id.",
            nullable=True,
            optional=True,
            length=200,
        ),
        Column(
            "supplier_id",
            "id",
            "Supplier the product is bought from; NULL = unknown (its purchases are listed without one).",
            nullable=True,
            optional=True,
        ),
        Column(
            "supplier_name",
            "text",
            "Display name of the supplier; NULL: lists show the supplier id.",
            nullable=True,
            optional=True,
            length=200,
        ),
    ),
    key=("product_id",),
    unique_key=True,
    sql_primary_key=("product_id",),
)

LOCATIONS = Table(
    name="locations",
    doc="the network; one row per location",
    schema_name="LocationsSchema",
    schema_doc="The location network: DCs buy from suppliers, children are replenished by their parent.",
    columns=(
        replace(_LOCATION, unique=True),
        Column("name", "text", "Display name.", nullable=True, optional=True, length=200),
        Column(
            "echelon",
            "integer",
            "0 for the top level; a child's = its parent's + 1.",
            ge=0,
            le=MAX_ECHELON,
        ),
        Column(
            "parent_location_id",
            "id",
            "Replenishing location; NULL = buys from external suppliers.",
            nullable=True,
            null_doc="buys from external suppliers",
            note="must exist; no cycles",
        ),
        Column(
            "capacity_units",
            "number",
            "Most units held after replenishment; NULL = unlimited.",
            nullable=True,
            null_doc="unlimited",
            optional=True,
            ge=0,
            le=MAX_UNITS,
            finite=True,
        ),
    ),
    key=("location_id",),
    unique_key=True,
    sql_primary_key=("location_id",),
)

RECEIPTS = Table(
    name="receipts",
    doc="purchase and transfer receipts (lead-time statistics)",
    schema_name="ReceiptsSchema",
    schema_doc="Purchase and transfer receipts, the source of lead-time statistics.",
    columns=(
        replace(_PRODUCT, doc="Received product."),
        replace(_LOCATION, doc="Receiving location."),
        Column("ordered_at", "day", "Day the order was placed."),
        Column(
            "received_at",
            "day",
            "Day it was received (>= ordered_at; checked in validation.py).",
            note=">= `ordered_at`",
        ),
        Column("quantity", "number", "Units received (> 0).", gt=0, le=MAX_UNITS, finite=True),
    ),
    key=("product_id", "location_id", "ordered_at"),
)

SALES = Table(
    name="sales",
    doc="daily demand per (day, product, location), aggregated from the `sales` lines inside the database",
    schema_name="SalesSchema",
    schema_doc="Daily demand per (day, product, location), aggregated from `sales` inside the database.",
    columns=(
        Column("sale_date", "day", "Day of the sales (midnight)."),
        replace(_PRODUCT, doc="Product sold."),
        replace(_LOCATION, doc="Selling location."),
        Column(
            "quantity", "number", "Units sold that day (sum of the day's sale lines).", ge=0, le=MAX_UNITS, finite=True
        ),
        Column("sale_lines", "integer", "Number of sale lines summed into `quantity`.", ge=1),
        Column(
            "min_line_quantity",
            "number",
            "Smallest single line quantity of the day (a negative line fails).",
            ge=0,
            finite=True,
        ),
        Column("null_quantity_lines", "integer", "Sale lines of the day whose quantity is NULL (must be none).", eq=0),
        Column(
            "non_numeric_quantity_lines",
            "integer",
            "Sale lines of the day whose quantity is text or bytes (SQLite keeps what it is given; must be none).",
            eq=0,
        ),
        Column(
            "offset_day_lines",
            "integer",
            "Sale lines of the day whose sold_at text carries a UTC offset that puts it on another day than the one "
            "written (SQLite keeps timestamps as text; must be none).",
            eq=0,
        ),
        Column(
            "duplicate_sale_id_lines",
            "integer",
            "Sale lines of the day repeating the sale_id of another line of the same day, product and location "
            "(lines loaded twice; must be none).",
            eq=0,
        ),
    ),
    # Not checked for uniqueness: the frame is the GROUP BY of exactly this key in the database.
    key=("sale_date", "product_id", "location_id"),
)
"""The ``sales`` asset's frame: the daily aggregate of `SALES_LINES` over the history window."""

SALES_DEMAND_COLUMNS: tuple[str, ...] = ("sale_date", "product_id", "location_id", "quantity")
"""The columns of `SALES` that the demand statistics and the forecast read (the rest are the sales check's)."""

SOURCE_TABLES: dict[str, Table] = {t.name: t for t in (SALES_LINES, LOCATIONS, INVENTORY, COSTS, RECEIPTS)}
"""The tables users provide, as stored (the cloud ``sales`` lines and the four on-prem tables)."""
SOURCE_FRAMES: dict[str, Table] = {t.name: t for t in (SALES, INVENTORY, COSTS, LOCATIONS, RECEIPTS)}
"""The source assets' frames, as validated (``sales`` is the daily aggregate)."""

# --- merged_dataset and abc_risk_features (docs/frames.md) -------------------------------------------------


def _sale_days_within_window(df: pd.DataFrame) -> pd.Series:
    return (df["sale_days"] <= df["echelon_sale_days"]) & (df["echelon_sale_days"] <= df["window_days"])


def _echelon_covers_own(df: pd.DataFrame) -> pd.Series:
    return (df["echelon_demand_mean"] >= df["demand_mean"] * (1 - _TOL)) & (
        df["echelon_demand_std"] >= df["demand_std"] * (1 - _TOL)
    )


def _mean_is_total_over_window(df: pd.DataFrame) -> pd.Series:
    return _close(df["demand_mean"] * df["window_days"], df["demand_total"])


def _last_sale_iff_sold(df: pd.DataFrame) -> pd.Series:
    return df["last_sale_date"].isna() == (df["sale_days"] == 0)


def _one_abc_class(df: pd.DataFrame) -> pd.Series:
    per = df.groupby("product_id", sort=False)
    return (per["abc_class"].transform("nunique") == 1) & (per["annual_value"].transform("nunique") == 1)


def _no_demand(df: pd.DataFrame) -> pd.Series:
    none = df["safety_stock_method"] == "none"
    no_demand = df["forecast_demand_mean"] <= 0
    return (none == no_demand) & (~none | ((df["safety_stock"] == 0) & (df["stockout_risk"] == 0)))


def _order_up_to(df: pd.DataFrame) -> pd.Series:
    return _close(df["order_up_to"], df["demand_over_protection"] + df["safety_stock"])


def _cover(df: pd.DataFrame) -> pd.Series:
    return ~np.isinf(df["days_of_cover"]) | (df["forecast_demand_mean"] <= 0)


def _echelon_forecast_covers_own(df: pd.DataFrame) -> pd.Series:
    return (df["echelon_forecast_mean"] >= df["forecast_mean"] * (1 - _TOL)) & (
        df["echelon_forecast_variance"] >= df["forecast_variance"] * (1 - _TOL)
    )


_MERGED_COLUMNS: tuple[Column, ...] = (
    carried(INVENTORY.column("product_id"), doc="Product id (key, with location_id)."),
    carried(INVENTORY.column("location_id"), doc="Stocking location id (key, with product_id)."),
    carried(INVENTORY.column("on_hand"), doc="Units on hand at the snapshot."),
    carried(INVENTORY.column("on_order"), doc="Units on open orders (NULL read as 0)."),
    carried(INVENTORY.column("as_of"), doc="Inventory snapshot day."),
    carried(COSTS.column("unit_cost"), doc="Purchase price per unit."),
    carried(COSTS.column("holding_cost_rate"), doc="Annual holding cost as a fraction of unit cost."),
    carried(COSTS.column("stockout_cost"), doc="Penalty per unit of demand not covered."),
    carried(COSTS.column("waste_cost"), doc="Loss per unit that expires."),
    carried(COSTS.column("shelf_life_days"), doc="Shelf life in days; NaN = not perishable."),
    carried(COSTS.column("min_order_qty"), doc="Minimum order quantity (NULL read as 0)."),
    carried(COSTS.column("order_multiple"), doc="Case pack: orders are multiples of it (NULL read as 1)."),
    carried(LOCATIONS.column("echelon"), doc="Network level of the location; 0 = top."),
    carried(
        LOCATIONS.column("parent_location_id"),
        doc="Location that replenishes this one; null = buys from suppliers.",
    ),
    carried(LOCATIONS.column("capacity_units"), doc="Most units the location can hold; NaN = unlimited."),
    Column("window_days", "integer", "Days in the sales history window (both ends included).", ge=1),
    Column("demand_total", "number", "Units sold at this location in the window.", ge=0, finite=True),
    Column(
        "demand_mean",
        "number",
        "Direct daily demand mean, units/day (days without sales count as 0).",
        ge=0,
        finite=True,
    ),
    Column(
        "demand_std",
        "number",
        "Direct daily demand sample standard deviation (ddof=1), units/day.",
        ge=0,
        finite=True,
    ),
    Column("sale_days", "integer", "Days in the window with a sale at this location.", ge=0),
    Column("last_sale_date", "day", "Last day with a sale in the window; NaT when never sold.", nullable=True),
    Column(
        "echelon_demand_mean",
        "number",
        "Daily demand of this location and everything below it, units/day.",
        ge=0,
        finite=True,
    ),
    Column(
        "echelon_demand_std",
        "number",
        "Standard deviation of the pooled daily demand (variances added), units/day.",
        ge=0,
        finite=True,
    ),
    Column("echelon_sale_days", "integer", "Days with a sale at this location or any location below it.", ge=0),
    Column("lead_time_mean", "number", "Lead time mean in days, at lead_time_level.", ge=0, finite=True),
    Column(
        "lead_time_std", "number", "Lead time sample standard deviation in days, at lead_time_level.", ge=0, finite=True
    ),
    Column(
        "lead_time_receipts",
        "integer",
        "Receipts behind the lead-time figures at the level used (0 for default).",
        ge=0,
    ),
    Column(
        "lead_time_level",
        "text",
        "Level the lead time comes from: pair, product, location or default.",
        isin=LEAD_TIME_LEVELS,
    ),
)

_MERGED_CHECKS: tuple[FrameCheck, ...] = (
    FrameCheck("sale_days_within_window", _sale_days_within_window),
    FrameCheck("echelon_demand_covers_own_demand", _echelon_covers_own),
    FrameCheck("demand_mean_is_total_over_window", _mean_is_total_over_window),
    FrameCheck("last_sale_date_iff_sold", _last_sale_iff_sold),
)

MERGED_DATASET = Table(
    name="merged_dataset",
    doc="one row per stocked (product, location) with costs, network, demand and lead time",
    schema_name="MergedDatasetSchema",
    schema_doc="``merged_dataset``: one row per stocked (product, location) with costs, network, demand, lead time.",
    columns=_MERGED_COLUMNS,
    key=("product_id", "location_id"),
    unique_key=True,
    strict=True,
    finite_as="named",
    checks=_MERGED_CHECKS,
)

_FORECAST_NAMES = FORECAST_MODELS + FORECAST_FALLBACKS


def _figure(name: str, doc: str, *, nullable: bool = False, finite: bool = False) -> Column:
    """A non-negative number (NULL allowed when ``nullable``; +-inf refused when ``finite``)."""
    return Column(name, "number", doc, nullable=nullable, ge=0, finite=finite)


DEMAND_FORECAST = Table(
    name="demand_forecast",
    doc="per stocked (product, location): the demand forecast over its horizon, its error variance, its accuracy",
    schema_name="DemandForecastSchema",
    schema_doc="``demand_forecast``: the forecast rate and error variance per stocked pair, and its accuracy.",
    columns=(
        carried(INVENTORY.column("product_id"), doc="Product id (key, with location_id)."),
        carried(INVENTORY.column("location_id"), doc="Stocking location id (key, with product_id)."),
        Column(
            "forecast_method",
            "text",
            "Model chosen for the series (window_mean, weekday_level, weekday_trend, croston_sba, tsb) or the "
            "rule used without one (none: no sale in the window; short_history: too few origins).",
            isin=_FORECAST_NAMES,
        ),
        Column("horizon_days", "integer", "H = round(lead_time_mean + review_days), at least 1: days forecast.", ge=1),
        Column("origins", "integer", "Rolling-origin forecasts the choice was judged on (0 for the rules).", ge=0),
        Column(
            "forecast_mean",
            "number",
            "Forecast demand at this location over the next H days / H, units/day.",
            ge=0,
            finite=True,
        ),
        Column(
            "forecast_variance",
            "number",
            "Mean squared error of the chosen model's H-day sums at the origins / H, units²/day.",
            ge=0,
            finite=True,
        ),
        Column(
            "echelon_forecast_mean",
            "number",
            "forecast_mean of this location plus every location below it, units/day.",
            ge=0,
            finite=True,
        ),
        Column(
            "echelon_forecast_variance",
            "number",
            "forecast_variance pooled like the mean (independent errors), units²/day.",
            ge=0,
            finite=True,
        ),
        _figure(
            "rmsse",
            "Root mean squared scaled error of the chosen model's H-day sums; NaN if not judged.",
            nullable=True,
            finite=True,
        ),
        _figure(
            "baseline_rmsse",
            "The same for the window mean (the baseline); NaN if not judged.",
            nullable=True,
            finite=True,
        ),
        Column(
            "pinball_quantile",
            "number",
            "Level tau the pinball losses are scored at: the row's service level (its ABC class's, as "
            "abc_risk_features assigns it), or accuracy_quantile where none was given.",
            gt=0,
            lt=1,
        ),
        _figure(
            "pinball_loss",
            "Pinball loss at pinball_quantile of the chosen model's quantile over H days, units; NaN if not judged.",
            nullable=True,
            finite=True,
        ),
        _figure(
            "baseline_pinball_loss", "The same for the window mean; NaN if not judged.", nullable=True, finite=True
        ),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
    strict=True,
    finite_as="named",
    checks=(FrameCheck("echelon_forecast_covers_own_forecast", _echelon_forecast_covers_own),),
)

ABC_RISK_FEATURES = Table(
    name="abc_risk_features",
    doc="`merged_dataset` plus classes, safety stock, targets, risk and waste",
    schema_name="FeaturesSchema",
    schema_doc="``abc_risk_features``: ``merged_dataset`` plus classes, safety stock, targets, risk and waste.",
    columns=_MERGED_COLUMNS
    + (
        Column(
            "annual_value",
            "number",
            "Product's annual consumption value: unit cost x 365 x daily direct demand, all locations.",
            ge=0,
            finite=True,
        ),
        Column("abc_class", "text", "ABC class of the product.", isin=ABC_CLASSES),
        Column(
            "demand_cv",
            "number",
            "CV of echelon daily demand (std / mean); NaN without demand.",
            nullable=True,
            ge=0,
            finite=True,
        ),
        Column("xyz_class", "text", "XYZ class from demand_cv; Z without demand.", isin=XYZ_CLASSES),
        Column(
            "forecast_method",
            "text",
            "demand_forecast's method for this row (window_mean when the old rule is configured).",
            isin=_FORECAST_NAMES,
        ),
        Column(
            "forecast_demand_mean",
            "number",
            "Echelon demand rate the targets use: demand_forecast's echelon_forecast_mean, units/day.",
            ge=0,
            finite=True,
        ),
        Column(
            "forecast_demand_std",
            "number",
            "sqrt(echelon_forecast_variance): the forecast error's spread per sqrt(day), units.",
            ge=0,
            finite=True,
        ),
        Column("service_level", "number", "Target cycle service level of the ABC class.", gt=0, lt=1),
        Column("z_value", "number", "Standard normal quantile of service_level.", finite=True),
        Column("review_days", "number", "Review period R, days.", ge=0, finite=True),
        Column("protection_days", "number", "Protection interval T = lead_time_mean + R, days.", ge=0, finite=True),
        Column("demand_over_protection", "number", "Mean echelon demand over T, units.", ge=0, finite=True),
        Column(
            "demand_std_over_protection",
            "number",
            "Standard deviation of the demand distribution over T that was used, units.",
            ge=0,
            finite=True,
        ),
        Column("safety_stock", "number", "Safety stock, units.", ge=0, finite=True),
        Column(
            "safety_stock_method",
            "text",
            "Distribution behind the safety stock: none, normal, poisson, negative_binomial.",
            isin=SAFETY_STOCK_METHODS,
        ),
        Column(
            "order_up_to",
            "number",
            "Order-up-to level: demand_over_protection + safety_stock.",
            ge=0,
            finite=True,
        ),
        Column(
            "reorder_point",
            "number",
            "Reorder point: mean echelon demand over the lead time + safety_stock.",
            ge=0,
            finite=True,
        ),
        Column("inventory_position", "number", "on_hand + on_order, units.", ge=0, finite=True),
        Column("days_of_cover", "number", "inventory_position / forecast_demand_mean, days; inf without demand.", ge=0),
        Column(
            "stockout_risk",
            "number",
            "P(demand over T > inventory_position) under the safety-stock distribution.",
            ge=0,
            le=1,
            finite=True,
        ),
        Column(
            "expected_waste_units",
            "number",
            "Units expiring before sale: max(0, position - demand x shelf life); 0 if not perishable.",
            ge=0,
            finite=True,
        ),
        Column("expected_waste_value", "number", "expected_waste_units x waste_cost.", ge=0, finite=True),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
    strict=True,
    finite_as="named",
    checks=_MERGED_CHECKS
    + (
        FrameCheck("one_abc_class_per_product", _one_abc_class),
        FrameCheck("no_demand_means_no_stock_and_no_risk", _no_demand),
        FrameCheck("order_up_to_is_mean_plus_safety_stock", _order_up_to),
        FrameCheck("days_of_cover_infinite_only_without_demand", _cover),
    ),
)

# --- the plan (docs/model.md, docs/plan-store.md) -----------------------------------------------------------


def _numbers_finite(df: pd.DataFrame) -> pd.Series:
    numbers = df.select_dtypes("number").drop(columns=["capacity_units"], errors="ignore")
    return pd.Series(np.isfinite(numbers.to_numpy(dtype=float)).all(axis=1), index=df.index)


def _order_value_consistent(df: pd.DataFrame) -> pd.Series:
    purchase = df["source_location_id"].isna()
    expected = np.where(purchase, df["order_qty"] * df["unit_cost"], 0.0)
    return pd.Series(np.isclose(df["order_value"], expected, rtol=1e-9, atol=1e-6), index=df.index)


def _plan(column: Column, doc: str) -> Column:
    """A features column as the plan carries it (finiteness is the plan's frame-wide check)."""
    return carried(column, doc=doc, finite=False)


PROCUREMENT_PLAN = Table(
    name="procurement_plan",
    doc="One row per (run_id, product_id, location_id): the plan of every committed run.",
    schema_name="ProcurementPlanSchema",
    schema_doc="The recommended inbound of one cycle per (product, location), with its explanation.",
    columns=(
        Column("product_id", "id", "Product.", min_length=1),
        Column("location_id", "id", "Receiving location.", min_length=1),
        Column(
            "source_location_id",
            "id",
            "Where the units come from: null = bought from the supplier (spends budget); "
            "else transferred from this parent location (free, limited by its on-hand stock).",
            nullable=True,
        ),
        _plan(LOCATIONS.column("echelon"), "Level of the location in the network (0 = top)."),
        Column("abc_class", "text", "ABC class of the product (from abc_risk_features)."),
        Column(
            "is_critical",
            "flag",
            "ABC class is one of the run's critical classes: position after >= safety stock is hard.",
        ),
        Column("is_perishable", "flag", "The product has a shelf life (waste is penalised)."),
        Column(
            "order_qty",
            "number",
            "Units to receive this cycle: whole order multiples, 0 or >= min_order_qty.",
            ge=0,
        ),
        Column(
            "order_value",
            "number",
            "order_qty x unit_cost for purchases; 0 for transfers (currency units).",
            ge=0,
        ),
        _plan(COSTS.column("unit_cost"), "Purchase price per unit."),
        _plan(COSTS.column("order_multiple"), "Case pack: order_qty is a whole number of these."),
        _plan(COSTS.column("min_order_qty"), "Minimum order quantity when ordering at all."),
        _plan(INVENTORY.column("on_hand"), "Units on hand before the plan."),
        _plan(INVENTORY.column("on_order"), "Units on open orders before the plan (NULL read as 0)."),
        Column(
            "transfers_out",
            "number",
            "Units this location's children pull from it in this plan (<= on_hand).",
            ge=0,
        ),
        _plan(LOCATIONS.column("capacity_units"), "Capacity of the location (all products), NaN = unlimited."),
        Column("position_before", "number", "on_hand + on_order before the plan.", ge=0),
        Column(
            "position_after",
            "number",
            "position_before + order_qty - transfers_out: the position the plan leaves.",
            ge=0,
        ),
        Column("order_up_to", "number", "Target position (order-up-to level) from the features.", ge=0),
        Column("safety_stock", "number", "Safety stock from the features.", ge=0),
        Column(
            "stockout_risk_before",
            "number",
            "P(demand over the protection period > position_before).",
            in_range=(0.0, 1.0),
        ),
        Column(
            "stockout_risk_after",
            "number",
            "P(demand over the protection period > position_after).",
            in_range=(0.0, 1.0),
        ),
        Column(
            "expected_shortfall_after",
            "number",
            "Expected lost sales over the protection interval after the plan, E[(D - y)+] under the row's demand "
            "distribution; a location that supplies others: of its echelon (its stock and everything below it) "
            "against the pooled demand.",
            ge=0,
        ),
        Column(
            "expected_waste_after",
            "number",
            "Perishables: expected units left unsold when the shelf life ends, E[(y - S)+] with S the demand "
            "over the shelf life (echelon for a supplying location); 0 otherwise.",
            ge=0,
        ),
        Column(
            "holding_cost",
            "number",
            "unit_cost x holding_cost_rate / 365 x review days x the expected stock left at the end of the "
            "interval (a supplying location: x position_after).",
            ge=0,
        ),
        Column("shortfall_cost", "number", "stockout_cost x expected_shortfall_after.", ge=0),
        Column("waste_cost", "number", "waste_cost x expected_waste_after.", ge=0),
        Column(
            "reason_code",
            "text",
            "Why the row got its quantity (docs/model.md, 'Reason codes').",
            isin=REASON_CODES,
        ),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
    strict=False,  # the writer adds run_id / planned_at
    checks=(
        FrameCheck(
            "numbers_finite",
            _numbers_finite,
            "Every number is finite (capacity_units may be NaN = unlimited).",
        ),
        FrameCheck(
            "order_value_consistent",
            _order_value_consistent,
            "order_value = order_qty x unit_cost for purchases, 0 for transfers.",
        ),
    ),
)
"""The ``procurement_plan`` frame (the plan asset's output and the rows the plan store writes)."""

PLAN_TABLE_FRONT: tuple[str, ...] = ("product_id", "location_id", "source_location_id", "order_qty", "order_value")
"""The plan table's first columns after ``run_id`` and ``planned_at`` (the rest in frame order)."""

_RUN_ID = Column("run_id", "id", "The run that wrote the row.")
_PLANNED_AT = Column("planned_at", "timestamp", "When the plan was made (UTC).")

PROCUREMENT_PLAN_ROWS = Table(
    name="procurement_plan",
    doc="One row per (run_id, product_id, location_id): the plan of every committed run.",
    columns=(
        _RUN_ID,
        _PLANNED_AT,
        *(PROCUREMENT_PLAN.column(n) for n in PLAN_TABLE_FRONT),
        *(c for c in PROCUREMENT_PLAN.columns if c.name not in PLAN_TABLE_FRONT),
    ),
    key=("run_id", "product_id", "location_id"),
    unique_key=True,
    sql_primary_key=("run_id", "product_id", "location_id"),
)
"""The plan store's ``procurement_plan`` table: ``run_id``, ``planned_at`` and the plan frame's columns."""

PROCUREMENT_PLAN_RUNS = Table(
    name="procurement_plan_runs",
    doc="One row per run that committed a plan.",
    columns=(
        replace(_RUN_ID, doc="The run that committed the plan.", sql_comment=False),
        _PLANNED_AT,
        Column(
            "commit_seq",
            "integer",
            "1 + the greatest commit_seq when the run committed: the commit order.",
            unique=True,
        ),
        Column("committed_at", "timestamp", "Writer's clock at the write (UTC)."),
        Column("status", "text", "optimal, or feasible_<limit> when accepted at a limit.", sql_comment=False),
        Column("budget", "number", "Budget of the cycle.", nullable=True, sql_comment=False),
        Column("spend", "number", "Purchase value of the plan.", nullable=True, sql_comment=False),
        Column("objective", "number", "Total cost of the plan.", nullable=True, sql_comment=False),
        Column("plan_rows", "integer", "Rows of the run in procurement_plan."),
        Column("solver", "text", "HiGHS method.", nullable=True, sql_comment=False),
        Column("solver_status", "text", "The solver's status.", nullable=True, sql_comment=False),
        Column("mip_gap", "number", "Relative MIP gap.", nullable=True, sql_comment=False),
        Column("solve_seconds", "number", "Seconds in the solver.", nullable=True, sql_comment=False),
        Column("build_seconds", "number", "Seconds building the model.", nullable=True, sql_comment=False),
        Column(
            "shadow_price_budget",
            "number",
            "Objective change per unit of budget.",
            nullable=True,
            sql_comment=False,
        ),
        Column("figures", "json", "The whole run dict as JSON."),
    ),
    key=("run_id",),
    unique_key=True,
    sql_primary_key=("run_id",),
    sql_indexes=(("ix_procurement_plan_runs_newest", ("planned_at", "commit_seq")),),
)

# --- the buyer's lists: purchase and transfer orders (docs/plan-store.md) ------------------------------------

_NAME_LENGTH = 200
_REASON_LENGTH = 255


def _name(name: str, doc: str) -> Column:
    return Column(name, "text", doc, length=_NAME_LENGTH)


def _order_columns(*party: Column) -> tuple[Column, ...]:
    """The columns of an order list: who supplies (``party``), what, where, how much, when and why."""
    return (
        *party,
        Column("product_id", "id", "Product.", min_length=1),
        _name("product_name", "Product name (costs.product_name; the product id when missing)."),
        Column("location_id", "id", "Receiving location.", min_length=1),
        _name("location_name", "Receiving location's name (locations.name; the location id when missing)."),
        Column("order_qty", "number", "Units to order (> 0): a whole number of order_multiple.", gt=0),
        Column("order_multiple", "number", "Case pack (units per pack).", gt=0),
        Column("packs", "integer", "order_qty / order_multiple: whole packs.", ge=1),
        Column("unit_cost", "number", "Purchase price per unit.", ge=0),
        Column("order_value", "number", "order_qty x unit_cost for purchases; 0 for transfers.", ge=0),
        Column("order_date", "day", "The run's planning day (the day the order is placed)."),
        Column(
            "lead_time_days",
            "integer",
            "Lead time in whole days: ceil(lead_time_mean) of the row's features.",
            ge=0,
        ),
        Column("expected_arrival", "day", "order_date + lead_time_days."),
        Column("reason_code", "text", "The plan row's reason code (docs/model.md).", isin=REASON_CODES),
        Column(
            "reason",
            "text",
            "The reason in words with its numbers, e.g. 'below target 146 by 52; budget exhausted after 40'.",
            length=_REASON_LENGTH,
        ),
    )


PURCHASE_ORDERS = Table(
    name="purchase_orders",
    doc="One row per purchase of the plan: a (product, location) bought from its supplier.",
    schema_name="PurchaseOrdersSchema",
    schema_doc="The plan's purchases (order_qty > 0, no source location), ready for a buyer.",
    columns=_order_columns(
        Column(
            "supplier_id",
            "id",
            "Supplier (costs.supplier_id); null when the source does not name one.",
            nullable=True,
        ),
        _name(
            "supplier_name", "Supplier's name (costs.supplier_name; the supplier id, or `no supplier`, when missing)."
        ),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
)
"""The ``purchase_orders`` asset's frame: the plan rows bought from suppliers, with names, dates and reasons."""

TRANSFER_ORDERS = Table(
    name="transfer_orders",
    doc="One row per transfer of the plan: a (product, location) replenished from its parent location.",
    schema_name="TransferOrdersSchema",
    schema_doc="The plan's transfers (order_qty > 0 from a source location), ready for the warehouse.",
    columns=_order_columns(
        Column(
            "source_location_id", "id", "Location that ships the units (the receiving location's parent).", min_length=1
        ),
        _name("source_location_name", "Source location's name (locations.name; the location id when missing)."),
    ),
    key=("product_id", "location_id"),
    unique_key=True,
)
"""The ``transfer_orders`` asset's frame: the plan rows transferred from a parent location."""


def _stored(frame: Table) -> Table:
    """``frame`` as the plan store keeps it: ``run_id`` first, keyed by run, product and location."""
    return Table(
        name=frame.name,
        doc=frame.doc.replace("One row per", "One row per run and", 1),
        columns=(
            Column("run_id", "id", "The run that wrote the row (its plan is in procurement_plan)."),
            *frame.columns,
        ),
        key=("run_id", *frame.key),
        unique_key=True,
        sql_primary_key=("run_id", *frame.key),
    )


PURCHASE_ORDERS_ROWS = _stored(PURCHASE_ORDERS)
"""The plan store's ``purchase_orders`` table: ``run_id`` and the frame's columns, written with the plan."""
TRANSFER_ORDERS_ROWS = _stored(TRANSFER_ORDERS)
"""The plan store's ``transfer_orders`` table: ``run_id`` and the frame's columns, written with the plan."""
ORDER_TABLES: dict[str, Table] = {t.name: t for t in (PURCHASE_ORDERS_ROWS, TRANSFER_ORDERS_ROWS)}
"""The order lists in the plan database, by name."""

FRAMES: dict[str, Table] = {
    **SOURCE_FRAMES,
    MERGED_DATASET.name: MERGED_DATASET,
    DEMAND_FORECAST.name: DEMAND_FORECAST,
    ABC_RISK_FEATURES.name: ABC_RISK_FEATURES,
    PROCUREMENT_PLAN.name: PROCUREMENT_PLAN,
    PURCHASE_ORDERS.name: PURCHASE_ORDERS,
    TRANSFER_ORDERS.name: TRANSFER_ORDERS,
}
"""Every frame passed between assets, by asset name."""

# --- the backtest (docs/backtest.md) ------------------------------------------------------------------------

BACKTEST_ALL = "all"
"""The ``abc_class`` / ``echelon`` of a total row of ``backtest_results``."""

_BACKTEST_ID = Column("backtest_id", "id", "The backtest that wrote the row.", min_length=1)
_POLICY = Column("policy", "text", "Name of the replayed policy (`plan`, `order_up_to`, `risk_ranked`, ...).")


def _count(name: str, doc: str) -> Column:
    return Column(name, "integer", doc, ge=0)


BACKTEST_RUNS = Table(
    name="backtest_runs",
    doc="One row per backtest written: its parameters, windows and counts.",
    columns=(
        replace(_BACKTEST_ID, doc="The backtest (CLI: a new UUID; asset: the Dagster run id).", sql_comment=False),
        Column("run_at", "timestamp", "When the backtest was run (UTC)."),
        Column("committed_at", "timestamp", "Writer's clock at the write (UTC)."),
        Column("weeks", "integer", "Held-out weeks: the last 7 x weeks days of the data window.", ge=1),
        Column("review_days", "integer", "Days between reviews (also the features' review period).", ge=1),
        Column(
            "policies",
            "text",
            "The replayed policies, comma-separated, in the order given.",
            length=255,
        ),
        Column("budget", "number", "Money for purchases at each review (`plan`, `risk_ranked`).", ge=0),
        Column("seed", "integer", "Seed of every lead-time draw."),
        Column("backorders", "flag", "False: unmet demand is lost; True: backordered."),
        Column("data_start", "day", "First day of the data window (sales read)."),
        Column("data_end", "day", "Last day of the data window (= last held-out day)."),
        Column("held_out_start", "day", "First held-out day (the first review)."),
        Column("held_out_end", "day", "Last held-out day."),
        Column("history_days", "integer", "Days of sales the features see at each review (rolling).", ge=1),
        Column("reviews", "integer", "Reviews in the held-out period.", ge=1),
        Column("pairs", "integer", "Simulated (product, location) pairs: the stocked ones.", ge=0),
        _figure("held_out_demand_units", "Recorded held-out sales of the stocked pairs (the demand replayed)."),
        _figure("unstocked_held_out_units", "Held-out sales of pairs not in inventory (ignored)."),
        Column("result_rows", "integer", "Rows of the backtest in backtest_results.", ge=0),
        Column("seconds", "number", "Seconds the backtest took (reading excluded).", nullable=True, ge=0),
        Column("figures", "json", "The whole run record (BacktestResult.run and the caller's facts) as JSON."),
    ),
    key=("backtest_id",),
    unique_key=True,
    sql_primary_key=("backtest_id",),
    sql_indexes=(("ix_backtest_runs_newest", ("run_at", "committed_at")),),
)
"""The plan database's ``backtest_runs``: one row per backtest."""

BACKTEST_RESULTS = Table(
    name="backtest_results",
    doc="One row per (backtest, policy, ABC class, echelon), totals as `all`: the backtest's figures.",
    columns=(
        _BACKTEST_ID,
        _POLICY,
        Column(
            "abc_class",
            "text",
            "ABC class of the pairs (at the first review), or `all` for every class.",
            isin=(*ABC_CLASSES, BACKTEST_ALL),
        ),
        Column("echelon", "text", "Echelon of the pairs' location as text (`0`, `1`, ...), or `all`."),
        _count("pairs", "Pairs in the group."),
        _figure("demand_units", "Held-out demand: sum of the recorded sales."),
        _figure("served_units", "Units served on the day of demand."),
        _figure("lost_units", "Demand not served on its day (with backorders: units backordered)."),
        _figure("lost_value", "lost_units x unit_cost."),
        _figure("stockout_cost", "lost_units x stockout_cost."),
        _figure("fill_rate", "served_units / demand_units; NULL without demand.", nullable=True),
        _count("demand_cycles", "Pair-reviews (a pair over one review period) with demand."),
        _count("stockout_cycles", "Those with at least one day short."),
        _figure(
            "cycle_service_level", "1 - stockout_cycles / demand_cycles; NULL without demand cycles.", nullable=True
        ),
        _figure("mean_on_hand_value", "Mean end-of-day on-hand value over the held-out days."),
        _figure("holding_cost", "End-of-day on-hand value x holding_cost_rate / 365, summed over the days."),
        _figure("waste_units", "Units expired (perishables)."),
        _figure("waste_value", "waste_units x waste_cost."),
        _figure("spend", "Purchases x unit_cost, at the review they were placed."),
        _count("orders", "Pair-reviews with a positive order (purchases and transfers)."),
        _count("purchase_orders", "Pair-reviews with a purchase."),
        _count("transfer_orders", "Pair-reviews with a transfer from the parent."),
        _figure("units_purchased", "Units bought from suppliers."),
        _figure("units_transferred", "Units transferred from parents."),
        _figure("backlog_filled_units", "Backordered units served later (0 with lost sales)."),
    ),
    key=("backtest_id", "policy", "abc_class", "echelon"),
    unique_key=True,
    sql_primary_key=("backtest_id", "policy", "abc_class", "echelon"),
)
"""The plan database's ``backtest_results`` (``BacktestResult.results`` with the backtest id)."""

BACKTEST_WEEKLY = Table(
    name="backtest_weekly",
    doc="One row per (backtest, policy, held-out week): demand, served units and fill rate.",
    columns=(
        _BACKTEST_ID,
        _POLICY,
        Column("week", "integer", "Held-out week, 1 = days 0..6.", ge=1),
        Column("week_start", "day", "First day of the week."),
        _figure("demand_units", "Held-out demand in the week."),
        _figure("served_units", "Units served on the day of demand in the week."),
        _figure("fill_rate", "served_units / demand_units; NULL without demand.", nullable=True),
    ),
    key=("backtest_id", "policy", "week"),
    unique_key=True,
    sql_primary_key=("backtest_id", "policy", "week"),
)
"""The plan database's ``backtest_weekly`` (``BacktestResult.weekly`` with the backtest id)."""

BACKTEST_TABLES: dict[str, Table] = {t.name: t for t in (BACKTEST_RUNS, BACKTEST_RESULTS, BACKTEST_WEEKLY)}
"""The backtest's tables in the plan database, by name."""

# --- the budget frontier (docs/model.md, "Budget frontier") ------------------------------------------------

BUDGET_FRONTIER = Table(
    name="budget_frontier",
    doc="One row per (run, budget): the plan re-solved at that budget and what it buys.",
    columns=(
        Column("run_id", "id", "The Dagster run that computed the frontier.", min_length=1),
        Column("point", "integer", "1 = the smallest budget; the last point is the saturation budget.", ge=1),
        _figure("budget", "Budget of the point, $."),
        Column("is_configured", "flag", "The point is the run's configured budget."),
        _figure("spend", "Purchases of the plan at this budget, $."),
        Column("expected_cost", "number", "Expected holding + lost sales + expiry of that plan, $.", finite=True),
        _figure("expected_lost_units", "Expected lost sales of the stores (rows that supply no other), units."),
        _figure("expected_lost_value", "Those units x unit_cost, $."),
        Column(
            "expected_fill_rate",
            "number",
            "1 - expected lost / expected demand of the stores.",
            in_range=(0.0, 1.0),
        ),
        _figure(
            "expected_dc_shortfall_units",
            "Expected pooled demand the supplying locations (DCs) cannot cover over their replenishment "
            "interval: what purchases buy in a DC -> store network, units.",
        ),
        _count("rows_at_risk", "Rows whose stock-out risk after the plan exceeds 50 %."),
        _figure("shadow_price", "Expected cost saved per extra $ of budget at this point (0: does not bind)."),
        Column("status", "text", "Solver status of the point (`optimal`, `feasible_time_limit`, ...)."),
        _figure("saturation_budget", "Spend of the plan when money is no limit: more budget buys nothing, $."),
    ),
    key=("run_id", "point"),
    unique_key=True,
    sql_primary_key=("run_id", "point"),
)
"""The plan database's ``budget_frontier`` (``optimization.frontier.BudgetFrontier.points`` with the run id)."""
