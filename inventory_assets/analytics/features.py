"""``abc_risk_features``: ABC/XYZ classes, safety stock, targets, stock-out risk and waste per row.

Composes :mod:`abc`, :mod:`safety_stock` and :mod:`risk` over the ``merged_dataset`` frame. Upper
echelons are sized from the pooled (``echelon_*``) demand; see ``docs/features.md`` for every formula.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.analytics.abc import (
    ABC_CLASSES,
    XYZ_CLASSES,
    abc_classes,
    annual_value,
    demand_cv,
    product_codes,
    xyz_classes,
)
from inventory_assets.analytics.merge import MERGED_COLUMNS
from inventory_assets.analytics.risk import stockout_risk
from inventory_assets.analytics.safety_stock import (
    is_intermittent,
    protection_demand,
    safety_stock,
)
from inventory_assets.contract import spec
from inventory_assets.contract.spec import SAFETY_STOCK_METHODS as METHODS
from inventory_assets.parallel import THREADS_DOC, thread_count

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURES_COLUMNS",
    "FeatureParameters",
    "FeatureSummary",
    "ServiceClasses",
    "service_classes",
    "compute_features",
    "summarize_features",
    "pareto_table",
    "riskiest_items",
]

FEATURE_COLUMNS: tuple[str, ...] = tuple(spec.ABC_RISK_FEATURES.column_names[len(MERGED_COLUMNS) :])
"""The columns ``abc_risk_features`` adds to ``merged_dataset`` (``contract.spec.ABC_RISK_FEATURES``)."""
FEATURES_COLUMNS = MERGED_COLUMNS + FEATURE_COLUMNS
"""All columns of ``abc_risk_features``, in order."""


@dataclass(frozen=True)
class FeatureParameters:
    """Knobs of ``abc_risk_features``. Flat fields so they map one-to-one onto a ``dg.Config``."""

    abc_a_cutoff: float = field(
        default=0.80,
        metadata={
            "doc": ("A: the top products up to (and including the one crossing) this share of cumulative annual value.")
        },
    )
    abc_b_cutoff: float = field(
        default=0.95,
        metadata={
            "doc": ("B: the next products up to this share of cumulative annual value; C: the rest (and zero value).")
        },
    )
    xyz_x_cutoff: float = field(
        default=0.5,
        metadata={"doc": ("X: coefficient of variation of echelon *daily* demand <= this.")},
    )
    xyz_y_cutoff: float = field(
        default=1.0,
        metadata={"doc": ("Y: CV <= this; Z: above, or no demand. Daily CVs are ~sqrt(30) times monthly ones.")},
    )
    service_level_a: float = field(
        default=0.99,
        metadata={
            "doc": ("Target cycle service level P(no stock-out in a replenishment cycle) of class A, in (0, 1).")
        },
    )
    service_level_b: float = field(
        default=0.95,
        metadata={"doc": ("Target cycle service level of class B.")},
    )
    service_level_c: float = field(
        default=0.90,
        metadata={"doc": ("Target cycle service level of class C.")},
    )
    review_days: float = field(
        default=7.0,
        metadata={"doc": ("Review period R in days; the protection interval is T = lead time + R.")},
    )
    intermittent_adi: float = field(
        default=1.32,
        metadata={
            "doc": (
                "An item is intermittent (discrete distribution) when window_days / echelon_sale_days exceeds this "
                "average inter-demand interval (Syntetos-Boylan cut-off 1.32: sales on fewer than 76 % of days)."
            )
        },
    )
    monotone_discrete_safety_stock: bool = field(
        default=True,
        metadata={
            "doc": (
                "Round the dispersion up to a grid and take the running maximum so that the discrete safety stock "
                "never falls when variability rises (see docs/features.md). False: the plain quantile."
            )
        },
    )
    dispersion_grid_ratio: float = field(
        default=1.2,
        metadata={"doc": ("Step of the dispersion grid (variance/mean ratios 1, rho, rho², ...); > 1.")},
    )
    at_risk_threshold: float = field(
        default=0.5,
        metadata={"doc": ('A row is "at risk" in the summary when stockout_risk > this.')},
    )
    riskiest_count: int = field(
        default=20,
        metadata={"doc": ("Rows in the summary's preview of the riskiest items.")},
    )
    threads: int = field(
        default=0,
        metadata={"doc": f"{THREADS_DOC} The features are the same for every value."},
    )

    def __post_init__(self) -> None:
        if not 0 < self.abc_a_cutoff <= self.abc_b_cutoff <= 1:
            raise ValueError("need 0 < abc_a_cutoff <= abc_b_cutoff <= 1")
        if not 0 <= self.xyz_x_cutoff <= self.xyz_y_cutoff:
            raise ValueError("need 0 <= xyz_x_cutoff <= xyz_y_cutoff")
        for name in ("service_level_a", "service_level_b", "service_level_c"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
        if not (np.isfinite(self.review_days) and 0 <= self.review_days <= spec.MAX_WINDOW_DAYS):
            raise ValueError(f"review_days must be between 0 and {spec.MAX_WINDOW_DAYS}, got {self.review_days!r}")
        if not self.intermittent_adi >= 1:
            raise ValueError("intermittent_adi must be >= 1")
        if not self.dispersion_grid_ratio > 1:
            raise ValueError("dispersion_grid_ratio must be > 1")
        if not 0 <= self.at_risk_threshold < 1:
            raise ValueError("at_risk_threshold must be in [0, 1)")
        if self.riskiest_count < 0:
            raise ValueError("riskiest_count must be >= 0")
        thread_count(self.threads)

    @property
    def service_levels(self) -> dict[str, float]:
        return {"A": self.service_level_a, "B": self.service_level_b, "C": self.service_level_c}


def _forecast_columns(merged: pd.DataFrame, forecast: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(method, mean, std)`` of the echelon demand rate the targets use: ``demand_forecast``'s pooled
    forecast, or without one the window mean and sample standard deviation (``window_mean``)."""
    if forecast is None:
        mean = merged["echelon_demand_mean"].to_numpy(dtype=float)
        method = np.where(merged["demand_total"].to_numpy(dtype=float) > 0, "window_mean", "none").astype(object)
        return method, mean, merged["echelon_demand_std"].to_numpy(dtype=float)
    same = len(forecast) == len(merged) and all(
        # compared as Arrow text, not as numpy unicode arrays (0.9 s for a million rows' two ids)
        bool((pd.array(forecast[key], dtype="str") == pd.array(merged[key], dtype="str")).all())
        for key in ("product_id", "location_id")
    )
    if not same:
        raise ValueError("demand_forecast does not hold the rows of merged_dataset in its order")
    return (
        forecast["forecast_method"].to_numpy(dtype=object),
        forecast["echelon_forecast_mean"].to_numpy(dtype=float),
        np.sqrt(forecast["echelon_forecast_variance"].to_numpy(dtype=float)),
    )


@dataclass(frozen=True)
class ServiceClasses:
    """Per row of ``merged_dataset``: the product's annual consumption value, its ABC class and the row's
    target service level (:func:`service_classes`)."""

    annual_value: np.ndarray
    abc_class: np.ndarray
    service_level: np.ndarray


def service_classes(merged: pd.DataFrame, params: FeatureParameters | None = None) -> ServiceClasses:
    """ABC class per product on direct demand (window mean x unit cost x 365, all locations) and each row's
    service level by its class: the one rule ``abc_risk_features`` and the forecast's accuracy share."""
    params = params or FeatureParameters()
    codes, _ = product_codes(merged["product_id"])
    values = annual_value(codes, merged["demand_mean"].to_numpy(dtype=float), merged["unit_cost"].to_numpy(dtype=float))
    abc = abc_classes(values, params.abc_a_cutoff, params.abc_b_cutoff)[codes]
    level_of = params.service_levels
    service = np.select([abc == "A", abc == "B"], [level_of["A"], level_of["B"]], default=level_of["C"])
    return ServiceClasses(values[codes], abc, service.astype(float))


def compute_features(
    merged: pd.DataFrame, params: FeatureParameters | None = None, forecast: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``abc_risk_features`` from ``merged_dataset`` (columns ``FEATURES_COLUMNS``, same row order).

    ``forecast``: ``demand_forecast`` (same rows, same order); its pooled rate and error spread replace
    the window's echelon mean and standard deviation in every target. None: the window's (``window_mean``).
    """
    params = params or FeatureParameters()
    missing = [c for c in MERGED_COLUMNS if c not in merged.columns]
    if missing:
        raise ValueError(f"merged_dataset is missing columns {missing}")
    out = merged.loc[:, list(MERGED_COLUMNS)]  # copy-on-write: the columns set below never reach ``merged``
    if len(out) == 0:
        return _empty_features(out)

    def col(name: str) -> np.ndarray:
        return out[name].to_numpy(dtype=float)

    # ABC per product on direct demand; XYZ per row on echelon demand (both from the window's history).
    classes = service_classes(out, params)
    abc, service = classes.abc_class, classes.service_level
    cv = demand_cv(col("echelon_demand_std"), col("echelon_demand_mean"))
    xyz = xyz_classes(cv, params.xyz_x_cutoff, params.xyz_y_cutoff)
    method, mu, sigma = _forecast_columns(out, forecast)

    t, mean_t, var_t = protection_demand(mu, sigma, col("lead_time_mean"), col("lead_time_std"), params.review_days)
    intermittent = is_intermittent(col("echelon_sale_days"), col("window_days"), params.intermittent_adi)
    ss = safety_stock(
        mean_t,
        var_t,
        intermittent,
        service,
        monotone=params.monotone_discrete_safety_stock,
        dispersion_grid_ratio=params.dispersion_grid_ratio,
        threads=params.threads,
    )

    position = col("on_hand") + np.nan_to_num(col("on_order"), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(mu > 0, position / np.where(mu > 0, mu, 1.0), np.inf)
    shelf = col("shelf_life_days")
    perishable = np.isfinite(shelf) & (shelf > 0)
    waste_units = np.where(perishable, np.maximum(0.0, position - mu * np.where(perishable, shelf, 0.0)), 0.0)

    out["annual_value"] = classes.annual_value
    out["abc_class"] = pd.array(abc, dtype=str)
    out["demand_cv"] = cv
    out["xyz_class"] = pd.array(xyz, dtype=str)
    out["forecast_method"] = pd.array(method.astype(str), dtype=str)
    out["forecast_demand_mean"] = mu
    out["forecast_demand_std"] = sigma
    out["service_level"] = service
    out["z_value"] = ss.z
    out["review_days"] = float(params.review_days)
    out["protection_days"] = t
    out["demand_over_protection"] = mean_t
    out["demand_std_over_protection"] = ss.std
    out["safety_stock"] = ss.safety_stock
    out["safety_stock_method"] = pd.array(ss.method, dtype=str)
    out["order_up_to"] = mean_t + ss.safety_stock
    out["reorder_point"] = mu * col("lead_time_mean") + ss.safety_stock
    out["inventory_position"] = position
    out["days_of_cover"] = cover
    out["stockout_risk"] = stockout_risk(out, position, threads=params.threads)
    out["expected_waste_units"] = waste_units
    out["expected_waste_value"] = waste_units * col("waste_cost")
    return out


def _empty_features(out: pd.DataFrame) -> pd.DataFrame:
    floats = [
        c for c in FEATURE_COLUMNS if c not in ("abc_class", "xyz_class", "forecast_method", "safety_stock_method")
    ]
    for c in floats:
        out[c] = pd.Series(dtype=float)
    for c in ("abc_class", "xyz_class", "forecast_method", "safety_stock_method"):
        out[c] = pd.Series(dtype=str)
    return out.loc[:, list(FEATURES_COLUMNS)]


# ---- summary (pure data; the asset turns it into Dagster metadata) ------------------------------------


@dataclass(frozen=True)
class FeatureSummary:
    """Figures for the ``abc_risk_features`` materialization."""

    rows: int
    products: int
    abc_products: dict[str, int]
    """Products per ABC class."""
    abc_value_share: dict[str, float]
    """Share of total annual value per ABC class (0..1)."""
    xyz_rows: dict[str, int]
    safety_stock_methods: dict[str, int]
    items_at_risk: int
    """Rows with stockout_risk > at_risk_threshold."""
    at_risk_threshold: float
    mean_stockout_risk: float
    expected_waste_units: float
    expected_waste_value: float
    total_annual_value: float
    safety_stock_value: float
    """Sum of safety_stock * unit_cost (money tied up in safety stock)."""
    pareto: pd.DataFrame = field(repr=False)
    """`pareto_table` of the features (``reporting.markdown.pareto_markdown`` renders it)."""
    riskiest: pd.DataFrame = field(repr=False)

    def numbers(self) -> dict[str, float | int]:
        """Flat numeric figures (for numeric metadata the UI plots across runs)."""
        out: dict[str, float | int] = {
            "rows": self.rows,
            "products": self.products,
            "items_at_risk": self.items_at_risk,
            "mean_stockout_risk": self.mean_stockout_risk,
            "expected_waste_units": self.expected_waste_units,
            "expected_waste_value": self.expected_waste_value,
            "total_annual_value": self.total_annual_value,
            "safety_stock_value": self.safety_stock_value,
        }
        out.update({f"abc_{k}_products": v for k, v in self.abc_products.items()})
        out.update({f"abc_{k}_value_share": v for k, v in self.abc_value_share.items()})
        out.update({f"xyz_{k}_rows": v for k, v in self.xyz_rows.items()})
        out.update({f"method_{k}_rows": v for k, v in self.safety_stock_methods.items()})
        return out

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["riskiest"] = self.riskiest.to_dict(orient="records")
        return out


def _products(features: pd.DataFrame) -> pd.DataFrame:
    """One row per product: ``product_id``, ``annual_value``, ``abc_class`` (sorted by value, then id)."""
    per = features.loc[:, ["product_id", "annual_value", "abc_class"]].drop_duplicates("product_id")
    return per.sort_values(["annual_value", "product_id"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def pareto_table(
    features: pd.DataFrame, points: tuple[float, ...] = (1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
) -> pd.DataFrame:
    """Cumulative share of annual value held by the top x % of products, at each x in ``points``.

    Columns: ``top_products_pct``, ``products``, ``cumulative_value_pct``, ``class_of_last`` (the ABC
    class of the last product included).
    """
    per = _products(features)
    n = len(per)
    if n == 0:
        return pd.DataFrame(
            {
                "top_products_pct": pd.Series(dtype=float),
                "products": pd.Series(dtype=np.int64),
                "cumulative_value_pct": pd.Series(dtype=float),
                "class_of_last": pd.Series(dtype=str),
            }
        )
    cum = per["annual_value"].cumsum().to_numpy()
    total = cum[-1]
    pct = np.asarray(points, dtype=float)
    counts = np.minimum(n, np.maximum(1, np.ceil(n * pct / 100.0 - 1e-9).astype(np.int64)))
    share = cum[counts - 1] / total if total > 0 else np.zeros(len(counts))
    table = pd.DataFrame(
        {
            "top_products_pct": pct,
            "products": counts,
            "cumulative_value_pct": np.round(100.0 * share, 2),
            "class_of_last": pd.array(per["abc_class"].to_numpy()[counts - 1], dtype=str),
        }
    )
    return table.drop_duplicates("products", keep="first").reset_index(drop=True)


RISKIEST_COLUMNS = (
    "product_id",
    "location_id",
    "abc_class",
    "xyz_class",
    "stockout_risk",
    "inventory_position",
    "order_up_to",
    "safety_stock",
    "safety_stock_method",
    "echelon_demand_mean",
    "days_of_cover",
    "annual_value",
)


def riskiest_items(features: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` rows with the highest stock-out risk (ties: higher annual value, then key)."""
    if n <= 0 or len(features) == 0:
        return features.loc[:0, list(RISKIEST_COLUMNS)].iloc[:0].reset_index(drop=True)
    candidates = features.nlargest(n, "stockout_risk", keep="all")
    ordered = candidates.sort_values(
        ["stockout_risk", "annual_value", "product_id", "location_id"],
        ascending=[False, False, True, True],
        kind="stable",
    )
    return ordered.loc[:, list(RISKIEST_COLUMNS)].head(n).reset_index(drop=True)


def _counts(values: pd.Series, keys: tuple[str, ...]) -> dict[str, int]:
    counts = values.value_counts()
    return {k: int(counts.get(k, 0)) for k in keys}


def summarize_features(features: pd.DataFrame, params: FeatureParameters | None = None) -> FeatureSummary:
    """Counts per class, items at risk, expected waste, a markdown Pareto chart and the riskiest rows."""
    params = params or FeatureParameters()
    per = _products(features)
    total_value = float(per["annual_value"].sum())
    value_by_class = per.groupby("abc_class")["annual_value"].sum()
    risk = features["stockout_risk"].to_numpy(dtype=float)
    return FeatureSummary(
        rows=len(features),
        products=len(per),
        abc_products=_counts(per["abc_class"], ABC_CLASSES),
        abc_value_share={
            k: (float(value_by_class.get(k, 0.0)) / total_value if total_value > 0 else 0.0) for k in ABC_CLASSES
        },
        xyz_rows=_counts(features["xyz_class"], XYZ_CLASSES),
        safety_stock_methods=_counts(features["safety_stock_method"], METHODS),
        items_at_risk=int((risk > params.at_risk_threshold).sum()),
        at_risk_threshold=float(params.at_risk_threshold),
        mean_stockout_risk=float(risk.mean()) if len(risk) else 0.0,
        expected_waste_units=float(features["expected_waste_units"].sum()),
        expected_waste_value=float(features["expected_waste_value"].sum()),
        total_annual_value=total_value,
        safety_stock_value=float((features["safety_stock"] * features["unit_cost"]).sum()),
        pareto=pareto_table(features),
        riskiest=riskiest_items(features, params.riskiest_count),
    )
