"""Pandera models of the ``features`` frames: ``merged_dataset`` and ``abc_risk_features``.

Column contract: ``docs/frames.md``; formulas: ``docs/features.md``. Every check is meant to be
blocking. Frames are validated with ``lazy=True`` so one report lists every failure. pandera's own
``ge``/``gt`` accept ``inf``, hence the explicit ``finite`` checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from inventory_assets.analytics.lead_time import LEAD_TIME_LEVELS
from inventory_assets.analytics.safety_stock import METHODS as SAFETY_STOCK_METHODS

__all__ = ["MergedDatasetSchema", "FeaturesSchema"]

_LEVELS = list(LEAD_TIME_LEVELS)
_METHODS = list(SAFETY_STOCK_METHODS)
_TOL = 1e-9


def _close(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).abs() <= _TOL * (1.0 + b.abs())


class MergedDatasetSchema(pa.DataFrameModel):
    """``merged_dataset``: one row per stocked (product, location) with costs, network, demand, lead time."""

    product_id: Series[str] = pa.Field(description="Product id (key, with location_id).")
    location_id: Series[str] = pa.Field(description="Stocking location id (key, with product_id).")
    on_hand: Series[float] = pa.Field(ge=0, description="Units on hand at the snapshot.")
    on_order: Series[float] = pa.Field(ge=0, description="Units on open orders (NULL read as 0).")
    as_of: Series[pd.Timestamp] = pa.Field(description="Inventory snapshot day.")
    unit_cost: Series[float] = pa.Field(gt=0, description="Purchase price per unit.")
    holding_cost_rate: Series[float] = pa.Field(ge=0, description="Annual holding cost as a fraction of unit cost.")
    stockout_cost: Series[float] = pa.Field(ge=0, description="Penalty per unit of demand not covered.")
    waste_cost: Series[float] = pa.Field(ge=0, description="Loss per unit that expires.")
    shelf_life_days: Series[float] = pa.Field(
        gt=0, nullable=True, description="Shelf life in days; NaN = not perishable."
    )
    min_order_qty: Series[float] = pa.Field(ge=0, description="Minimum order quantity (NULL read as 0).")
    order_multiple: Series[float] = pa.Field(
        gt=0, description="Case pack: orders are multiples of it (NULL read as 1)."
    )
    echelon: Series[int] = pa.Field(ge=0, description="Network level of the location; 0 = top.")
    parent_location_id: Series[str] = pa.Field(
        nullable=True, description="Location that replenishes this one; null = buys from suppliers."
    )
    capacity_units: Series[float] = pa.Field(
        ge=0, nullable=True, description="Most units the location can hold; NaN = unlimited."
    )
    window_days: Series[int] = pa.Field(ge=1, description="Days in the sales history window (both ends included).")
    demand_total: Series[float] = pa.Field(ge=0, description="Units sold at this location in the window.")
    demand_mean: Series[float] = pa.Field(
        ge=0, description="Direct daily demand mean, units/day (days without sales count as 0)."
    )
    demand_std: Series[float] = pa.Field(
        ge=0, description="Direct daily demand sample standard deviation (ddof=1), units/day."
    )
    sale_days: Series[int] = pa.Field(ge=0, description="Days in the window with a sale at this location.")
    last_sale_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, description="Last day with a sale in the window; NaT when never sold."
    )
    echelon_demand_mean: Series[float] = pa.Field(
        ge=0, description="Daily demand of this location and everything below it, units/day."
    )
    echelon_demand_std: Series[float] = pa.Field(
        ge=0, description="Standard deviation of the pooled daily demand (variances added), units/day."
    )
    echelon_sale_days: Series[int] = pa.Field(
        ge=0, description="Days with a sale at this location or any location below it."
    )
    lead_time_mean: Series[float] = pa.Field(ge=0, description="Lead time mean in days, at lead_time_level.")
    lead_time_std: Series[float] = pa.Field(
        ge=0, description="Lead time sample standard deviation in days, at lead_time_level."
    )
    lead_time_receipts: Series[int] = pa.Field(
        ge=0, description="Receipts behind the lead-time figures at the level used (0 for default)."
    )
    lead_time_level: Series[str] = pa.Field(
        isin=_LEVELS, description="Level the lead time comes from: pair, product, location or default."
    )

    class Config:
        unique = ["product_id", "location_id"]
        strict = True
        coerce = True

    @pa.check(
        "on_hand",
        "on_order",
        "unit_cost",
        "holding_cost_rate",
        "stockout_cost",
        "waste_cost",
        "shelf_life_days",
        "min_order_qty",
        "order_multiple",
        "capacity_units",
        "demand_total",
        "demand_mean",
        "demand_std",
        "echelon_demand_mean",
        "echelon_demand_std",
        "lead_time_mean",
        "lead_time_std",
        name="finite",
    )
    def _finite(cls, series: pd.Series) -> pd.Series:
        return ~np.isinf(series.astype(float))

    @pa.dataframe_check(name="sale_days_within_window")
    def _sale_days(cls, df: pd.DataFrame) -> pd.Series:
        return (df["sale_days"] <= df["echelon_sale_days"]) & (df["echelon_sale_days"] <= df["window_days"])

    @pa.dataframe_check(name="echelon_demand_covers_own_demand")
    def _echelon_covers_own(cls, df: pd.DataFrame) -> pd.Series:
        return (df["echelon_demand_mean"] >= df["demand_mean"] * (1 - _TOL)) & (
            df["echelon_demand_std"] >= df["demand_std"] * (1 - _TOL)
        )

    @pa.dataframe_check(name="demand_mean_is_total_over_window")
    def _mean_total(cls, df: pd.DataFrame) -> pd.Series:
        return _close(df["demand_mean"] * df["window_days"], df["demand_total"])

    @pa.dataframe_check(name="last_sale_date_iff_sold")
    def _last_sale(cls, df: pd.DataFrame) -> pd.Series:
        return df["last_sale_date"].isna() == (df["sale_days"] == 0)


class FeaturesSchema(MergedDatasetSchema):
    """``abc_risk_features``: ``merged_dataset`` plus classes, safety stock, targets, risk and waste."""

    annual_value: Series[float] = pa.Field(
        ge=0, description="Product's annual consumption value: unit cost x 365 x daily direct demand, all locations."
    )
    abc_class: Series[str] = pa.Field(isin=["A", "B", "C"], description="ABC class of the product.")
    demand_cv: Series[float] = pa.Field(
        ge=0, nullable=True, description="CV of echelon daily demand (std / mean); NaN without demand."
    )
    xyz_class: Series[str] = pa.Field(isin=["X", "Y", "Z"], description="XYZ class from demand_cv; Z without demand.")
    service_level: Series[float] = pa.Field(gt=0, lt=1, description="Target cycle service level of the ABC class.")
    z_value: Series[float] = pa.Field(description="Standard normal quantile of service_level.")
    review_days: Series[float] = pa.Field(ge=0, description="Review period R, days.")
    protection_days: Series[float] = pa.Field(ge=0, description="Protection interval T = lead_time_mean + R, days.")
    demand_over_protection: Series[float] = pa.Field(ge=0, description="Mean echelon demand over T, units.")
    demand_std_over_protection: Series[float] = pa.Field(
        ge=0, description="Standard deviation of the demand distribution over T that was used, units."
    )
    safety_stock: Series[float] = pa.Field(ge=0, description="Safety stock, units.")
    safety_stock_method: Series[str] = pa.Field(
        isin=_METHODS, description="Distribution behind the safety stock: none, normal, poisson, negative_binomial."
    )
    order_up_to: Series[float] = pa.Field(ge=0, description="Order-up-to level: demand_over_protection + safety_stock.")
    reorder_point: Series[float] = pa.Field(
        ge=0, description="Reorder point: mean echelon demand over the lead time + safety_stock."
    )
    inventory_position: Series[float] = pa.Field(ge=0, description="on_hand + on_order, units.")
    days_of_cover: Series[float] = pa.Field(
        ge=0, description="inventory_position / echelon_demand_mean, days; inf without demand."
    )
    stockout_risk: Series[float] = pa.Field(
        ge=0, le=1, description="P(demand over T > inventory_position) under the safety-stock distribution."
    )
    expected_waste_units: Series[float] = pa.Field(
        ge=0, description="Units expiring before sale: max(0, position - demand x shelf life); 0 if not perishable."
    )
    expected_waste_value: Series[float] = pa.Field(ge=0, description="expected_waste_units x waste_cost.")

    class Config:
        unique = ["product_id", "location_id"]
        strict = True
        coerce = True

    @pa.check(
        "annual_value",
        "demand_cv",
        "z_value",
        "review_days",
        "protection_days",
        "demand_over_protection",
        "demand_std_over_protection",
        "safety_stock",
        "order_up_to",
        "reorder_point",
        "inventory_position",
        "stockout_risk",
        "expected_waste_units",
        "expected_waste_value",
        name="finite",
    )
    def _finite_features(cls, series: pd.Series) -> pd.Series:
        return ~np.isinf(series.astype(float))

    @pa.dataframe_check(name="one_abc_class_per_product")
    def _one_class(cls, df: pd.DataFrame) -> pd.Series:
        per = df.groupby("product_id", sort=False)
        return (per["abc_class"].transform("nunique") == 1) & (per["annual_value"].transform("nunique") == 1)

    @pa.dataframe_check(name="no_demand_means_no_stock_and_no_risk")
    def _no_demand(cls, df: pd.DataFrame) -> pd.Series:
        none = df["safety_stock_method"] == "none"
        no_demand = df["echelon_demand_mean"] <= 0
        return (none == no_demand) & (~none | ((df["safety_stock"] == 0) & (df["stockout_risk"] == 0)))

    @pa.dataframe_check(name="order_up_to_is_mean_plus_safety_stock")
    def _order_up_to(cls, df: pd.DataFrame) -> pd.Series:
        return _close(df["order_up_to"], df["demand_over_protection"] + df["safety_stock"])

    @pa.dataframe_check(name="days_of_cover_infinite_only_without_demand")
    def _cover(cls, df: pd.DataFrame) -> pd.Series:
        return ~np.isinf(df["days_of_cover"]) | (df["echelon_demand_mean"] <= 0)
