"""Feature assets: the merged dataset and the ABC/XYZ, safety-stock and stock-out-risk features.

Thin wiring around ``inventory_assets.analytics`` (pure pandas/numpy/scipy); each output is validated by
its pandera schema in a blocking check, so a frame that breaks its invariants never reaches the plan.
"""

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

import inventory_assets.analytics
import inventory_assets.contract
import inventory_assets.forecast
from inventory_assets.analytics import features as feature_core
from inventory_assets.analytics import merge as merge_core
from inventory_assets.contract import plausibility, spec
from inventory_assets.contract.frames import DemandForecastSchema, FeaturesSchema, MergedDatasetSchema
from inventory_assets.contract.network import NetworkError
from inventory_assets.contract.sales import SalesFrame
from inventory_assets.contract.validation import validate_frame
from inventory_assets.defs import constants, versions
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.metadata import frame_metadata, png_markdown, validation_check_result
from inventory_assets.forecast import core as forecast_core
from inventory_assets.reporting.charts import abc_pareto_png, forecast_examples_png
from inventory_assets.reporting.markdown import markdown_table, pareto_markdown

KINDS = {"pandas", "pandera"}
KEY = ["product_id", "location_id"]
AssetEvents = Iterator[dg.Output | dg.AssetCheckResult]


if TYPE_CHECKING:  # classes made at run time: type checkers see their base
    MergeConfig = ParametersConfig
    ForecastConfig = ParametersConfig
    FeatureConfig = ParametersConfig
else:
    MergeConfig = config_class(  # defaults from INVENTORY_MERGE_<KNOB> when set (docs/operations.md)
        "MergeConfig",
        merge_core.MergeParameters,
        doc="How lead times are found where receipts are few.",
        env_prefix="INVENTORY_MERGE_",
    )
    ForecastConfig = config_class(  # defaults from INVENTORY_FORECAST_<KNOB> when set (docs/operations.md)
        "ForecastConfig",
        forecast_core.ForecastParameters,
        doc="The demand forecast: per-series model choice or the window mean (docs/forecast.md).",
        env_prefix="INVENTORY_FORECAST_",
    )
    FeatureConfig = config_class(  # defaults from INVENTORY_FEATURES_<KNOB> when set (docs/operations.md)
        "FeatureConfig",
        feature_core.FeatureParameters,
        doc="ABC/XYZ cut-offs, service levels and the review period (docs/features.md).",
        env_prefix="INVENTORY_FEATURES_",
    )


def _check_spec(asset: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=f"{asset}_valid", asset=asset, blocking=True, description=description)


_SALES_DEMAND = {"sales": dg.AssetIn(metadata={"columns": list(spec.SALES_DEMAND_COLUMNS)})}
"""The sales frame as the demand steps read it: its four demand columns only (defs/storage.py)."""


@dg.asset(
    group_name=constants.FEATURES_GROUP,
    kinds=KINDS,
    ins=_SALES_DEMAND,
    check_specs=[
        _check_spec("merged_dataset", "One row per stocked pair, finite non-negative figures (schema)."),
        dg.AssetCheckSpec(
            name=constants.MERGED_USABLE_CHECK,
            asset="merged_dataset",
            blocking=True,
            description="Plausibility gate (docs/data-contract.md): some of the window's sales reach a stocked "
            "(product, location); with none, every demand would be zero and the plan would buy nothing.",
        ),
    ],
    code_version=versions.code_version(__name__, inventory_assets.analytics, inventory_assets.contract),
    owners=versions.OWNERS,
    tags=versions.tags("feature"),
)
def merged_dataset(
    context: dg.AssetExecutionContext,
    config: MergeConfig,
    sales: SalesFrame,
    inventory: pd.DataFrame,
    costs: pd.DataFrame,
    locations: pd.DataFrame,
    receipts: pd.DataFrame,
) -> AssetEvents:
    """One row per stocked (product, location): its stock, costs, place in the network, direct and
    echelon demand statistics over the sales window (days without sales count as zero) and lead-time
    statistics from receipts (with the fall-back level used). Sales of pairs that are not stocked are
    left out and counted in the metadata."""
    if sales.window is None:  # the sales check failed (no sales): blocked upstream, refused here too
        raise dg.Failure(description="sales holds no window: the source returned no sales", allow_retries=False)
    try:
        merged, report = merge_core.merge_dataset(
            sales.frame,
            inventory,
            costs,
            locations,
            receipts,
            window_start=sales.window.start,
            window_end=sales.window.end,
            **dataclasses.asdict(config.parameters()),
        )
    except (merge_core.MissingCostsError, merge_core.UnknownLocationsError, NetworkError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    result = validate_frame("merged_dataset", merged, MergedDatasetSchema, KEY)
    facts = report.as_dict()
    metadata = frame_metadata(result.frame, spec.MERGED_DATASET)
    metadata.update(
        {
            "window_start": dg.MetadataValue.text(facts["window_start"]),
            "window_end": dg.MetadataValue.text(facts["window_end"]),
            "window_days": dg.MetadataValue.int(report.window_days),
            "products": dg.MetadataValue.int(report.products),
            "stocked_pairs_without_sales": dg.MetadataValue.int(report.stocked_pairs_without_sales),
            "unstocked_sales_pairs": dg.MetadataValue.int(report.unstocked_sales_pairs),
            "unstocked_sales_units": dg.MetadataValue.float(float(report.unstocked_sales_units)),
            "receipts_used": dg.MetadataValue.int(report.receipts_used),
            "lead_time_levels": dg.MetadataValue.json(facts["lead_time_levels"]),
            "unjoined": dg.MetadataValue.json(
                {
                    "stocked_pairs_without_sales_sample": facts["stocked_pairs_without_sales_sample"],
                    "unstocked_sales_sample": facts["unstocked_sales_sample"],
                    "sales_rows_outside_window": facts["sales_rows_outside_window"],
                    "receipts_ignored": facts["receipts_ignored"],
                }
            ),
        }
    )
    if report.unstocked_sales_pairs:
        context.log.warning(
            f"{report.unstocked_sales_pairs} (product, location) pairs with sales are not stocked; "
            f"their {report.unstocked_sales_units:,.0f} units are left out"
        )
    yield dg.Output(result.frame, metadata=metadata)
    yield validation_check_result(result, check_name="merged_dataset_valid")
    units = float(pd.to_numeric(sales.frame["quantity"], errors="coerce").clip(lower=0).sum())
    problems = plausibility.usable_sales_problems(result.frame, units)
    yield dg.AssetCheckResult(
        check_name=constants.MERGED_USABLE_CHECK,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "the window's sales reach stocked pairs",
        metadata={
            "sale_units": dg.MetadataValue.float(units),
            "units_reaching_stocked_pairs": dg.MetadataValue.float(float(result.frame["demand_total"].sum())),
        },
    )


@dg.asset(
    group_name=constants.FEATURES_GROUP,
    kinds=KINDS,
    ins=_SALES_DEMAND,
    check_specs=[
        _check_spec(
            "demand_forecast",
            "One row per stocked pair, a known method, finite non-negative rates and variances (schema).",
        )
    ],
    code_version=versions.code_version(
        __name__, inventory_assets.forecast, inventory_assets.analytics, inventory_assets.contract
    ),
    owners=versions.OWNERS,
    tags=versions.tags("feature"),
)
def demand_forecast(config: ForecastConfig, sales: SalesFrame, merged_dataset: pd.DataFrame) -> AssetEvents:
    """Per stocked (product, location): the demand forecast over its horizon (lead time + review period)
    as a rate, and the variance of the forecast's error, from the model chosen for the series by
    rolling-origin evaluation (window mean, weekday-profile smoothers, Croston/SBA and TSB for
    intermittent series), pooled up the network; with its accuracy against the window mean, the pinball
    loss at each row's service level (its ABC class's, with the features' settings as the environment sets
    them: INVENTORY_FEATURES_*)."""
    if sales.window is None:
        raise dg.Failure(description="sales holds no window: the source returned no sales", allow_retries=False)
    params = config.parameters()
    start, end = sales.window.start, sales.window.end
    levels = feature_core.service_classes(merged_dataset, FeatureConfig().parameters()).service_level
    forecast, report = forecast_core.forecast_demand(
        sales.frame, merged_dataset, window_start=start, window_end=end, params=params, service_level=levels
    )
    result = validate_frame("demand_forecast", forecast, DemandForecastSchema, KEY)
    metadata = frame_metadata(result.frame, spec.DEMAND_FORECAST)
    metadata.update({name: dg.MetadataValue.int(int(v)) for name, v in report.numbers().items()})
    metadata["forecast_method"] = dg.MetadataValue.text(params.forecast_method)
    metadata["accuracy_by_method"] = dg.MetadataValue.md(markdown_table(report.accuracy, len(report.accuracy)))
    if report.examples is not None:
        metadata["examples_chart"] = png_markdown(
            forecast_examples_png(report.examples), "Daily sales and the forecast rate of representative series"
        )
    yield dg.Output(result.frame, metadata=metadata)
    yield validation_check_result(result, check_name="demand_forecast_valid")


@dg.asset(
    group_name=constants.FEATURES_GROUP,
    kinds=KINDS,
    check_specs=[
        _check_spec(
            "abc_risk_features",
            "Classes in their sets, risk in [0, 1], non-negative stocks, finite numbers, one row per key (schema).",
        )
    ],
    code_version=versions.code_version(
        __name__, inventory_assets.analytics, inventory_assets.forecast, inventory_assets.contract
    ),
    owners=versions.OWNERS,
    tags=versions.tags("feature"),
)
def abc_risk_features(
    context: dg.AssetExecutionContext,
    config: FeatureConfig,
    merged_dataset: pd.DataFrame,
    demand_forecast: pd.DataFrame,
) -> AssetEvents:
    """Per stocked (product, location): ABC class by annual consumption value, XYZ class by demand
    variability, service level and z, protection interval, safety stock (normal, Poisson or negative
    binomial, named per row), order-up-to level, reorder point, inventory position, days of cover,
    stock-out risk and the expected waste of perishables, all from the demand forecast. Upper echelons
    use the pooled forecast of everything they supply."""
    params = config.parameters()
    features = feature_core.compute_features(merged_dataset, params, demand_forecast)
    result = validate_frame("abc_risk_features", features, FeaturesSchema, KEY)
    summary = feature_core.summarize_features(result.frame, params)
    metadata = frame_metadata(result.frame, spec.ABC_RISK_FEATURES)
    metadata.update(
        {
            name: dg.MetadataValue.float(float(v)) if isinstance(v, float) else dg.MetadataValue.int(int(v))
            for name, v in summary.numbers().items()
        }
    )
    metadata["pareto_chart"] = png_markdown(
        abc_pareto_png(result.frame, a_cutoff=params.abc_a_cutoff, b_cutoff=params.abc_b_cutoff),
        "Pareto of annual consumption value by ABC class",
    )
    metadata["pareto"] = dg.MetadataValue.md(pareto_markdown(summary.pareto, params.abc_a_cutoff, params.abc_b_cutoff))
    metadata["riskiest_items"] = dg.MetadataValue.md(markdown_table(summary.riskiest, params.riskiest_count))
    metadata["safety_stock_methods"] = dg.MetadataValue.json(summary.safety_stock_methods)
    # The forecast scored each row at its service level as the environment sets it; a run config that
    # changes the features' classes or levels for this asset alone leaves some rows scored at another.
    other = int((demand_forecast["pinball_quantile"].to_numpy() != result.frame["service_level"].to_numpy()).sum())
    metadata["forecast_pinball_at_other_service_level_rows"] = dg.MetadataValue.int(other)
    if other:
        context.log.warning(
            f"{other:,} rows' forecast pinball loss is scored at a level other than their service level: "
            "this run's FeatureConfig differs from the INVENTORY_FEATURES_* settings demand_forecast used"
        )
    classes = demand_forecast.assign(abc_class=result.frame["abc_class"], xyz_class=result.frame["xyz_class"])
    for by in ("abc_class", "xyz_class"):
        table = forecast_core.accuracy_table(classes, by)
        metadata[f"forecast_accuracy_by_{by}"] = dg.MetadataValue.md(markdown_table(table, len(table)))
    yield dg.Output(result.frame, metadata=metadata)
    yield validation_check_result(result, check_name="abc_risk_features_valid")


FEATURE_ASSETS = [merged_dataset, demand_forecast, abc_risk_features]
