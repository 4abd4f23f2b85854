"""The demand forecast (Dagster-free): candidate models vectorised over many series, chosen per series by
rolling-origin evaluation (``docs/forecast.md``)."""

from inventory_assets.forecast.core import (
    FALLBACK_METHODS,
    FORECAST_COLUMNS,
    FORECAST_METHODS,
    ForecastParameters,
    ForecastReport,
    SeriesFit,
    accuracy_table,
    example_series,
    fit_series,
    forecast_demand,
    pair_series,
)

__all__ = [
    "FALLBACK_METHODS",
    "FORECAST_COLUMNS",
    "FORECAST_METHODS",
    "ForecastParameters",
    "ForecastReport",
    "SeriesFit",
    "accuracy_table",
    "example_series",
    "fit_series",
    "forecast_demand",
    "pair_series",
]
