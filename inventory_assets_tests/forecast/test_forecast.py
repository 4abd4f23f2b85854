"""The demand forecast: each candidate against hand-computed values, the choice, no leakage, the
fallbacks, the pooling up the network and the hand-over to the features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.analytics.features import compute_features
from inventory_assets.analytics.merge import merge_dataset
from inventory_assets.contract.frames import DemandForecastSchema, FeaturesSchema
from inventory_assets.forecast import ForecastParameters, accuracy_table, fit_series, forecast_demand
from inventory_assets.forecast.core import (
    _global_profile,
    _horizon,
    _product_launch_days,
    _Scoring,
    example_series,
    pair_series,
)
from inventory_assets.forecast.models import (
    INIT_DAYS,
    MODELS,
    Series,
    SmootherParameters,
    damped_sum,
    global_weekday_profile,
)

from ..analytics.test_merge import make_sources

PROFILE = np.array([0.8, 0.7, 0.9, 1.0, 1.2, 1.6, 0.8])  # by position in the week of the window; mean 1.0


def series(y, horizon=7, params: SmootherParameters | None = None) -> Series:
    y = np.atleast_2d(np.asarray(y, dtype=float))
    return Series(y, np.full(len(y), horizon), global_weekday_profile(y.sum(axis=0)), params or SmootherParameters())


# ---- each candidate against a hand computation ---------------------------------------------------------


def test_window_mean_is_the_mean_of_the_days_before_each_origin():
    y = [2.0, 0.0, 4.0, 6.0]
    out = MODELS["window_mean"](series(y, horizon=3))[0]
    assert out == pytest.approx([0.0, 6.0, 3.0, 6.0, 9.0])  # 3 x (0, 2, 1, 2, 3)


def test_croston_sba_by_hand():
    # demand days 2, 6, 8, 11 (intervals from 1: 3, 4, 2, 3), sizes 3, 2, 5, 1; alpha 0.1:
    # z: 3 -> 2.9 -> 3.11 -> 2.899; q: 3 -> 3.1 -> 2.99 -> 2.991; rate (1 - 0.05) z / q.
    y = [0, 0, 3, 0, 0, 0, 2, 0, 5, 0, 0, 1, 0, 0]
    out = MODELS["croston_sba"](series(y, horizon=1))[0]
    assert out[:3] == pytest.approx([0.0, 0.0, 0.0])
    assert out[3] == pytest.approx(0.95 * 3 / 3)
    assert out[7] == pytest.approx(0.95 * 2.9 / 3.1)
    assert out[9] == pytest.approx(0.95 * 3.11 / 2.99)
    assert out[14] == pytest.approx(0.95 * 2.899 / 2.991)


# statsforecast 2.0.1 (CrostonSBA(), TSB(alpha_d, alpha_p)) on float64 input, computed once and pinned here
# (the library is not a dependency: numba and 470 MB for two reference numbers).
STATSFORECAST = [
    ([0, 0, 3, 0, 0, 0, 2, 0, 5, 0, 0, 1, 0, 0], "croston_sba", {}, 0.9207790036776997),
    ([0, 0, 3, 0, 0, 0, 2, 0, 5, 0, 0, 1, 0, 0], "tsb", {"tsb_alpha": 0.1, "tsb_beta": 0.1}, 0.6356340141164912),
    ([0, 0, 3, 0, 0, 0, 2, 0, 5, 0, 0, 1, 0, 0], "tsb", {"tsb_alpha": 0.3, "tsb_beta": 0.2}, 0.6753572642488321),
    ([0, 0, 0, 0, 4], "croston_sba", {}, 0.76),
    ([0, 0, 0, 0, 4], "tsb", {"tsb_alpha": 0.1, "tsb_beta": 0.1}, 0.4),
    ([4, 0, 0, 0, 0], "croston_sba", {}, 3.8),
    ([4, 0, 0, 0, 0], "tsb", {"tsb_alpha": 0.1, "tsb_beta": 0.1}, 2.6244),
    ([0, 0, 0, 0, 0], "croston_sba", {}, 0.0),
    ([0, 0, 0, 0, 0], "tsb", {"tsb_alpha": 0.1, "tsb_beta": 0.1}, 0.0),
]


@pytest.mark.parametrize(("y", "name", "knobs", "expected"), STATSFORECAST)
def test_intermittent_methods_match_statsforecast(y, name, knobs, expected):
    out = MODELS[name](series(y, horizon=1, params=SmootherParameters(**knobs)))[0]
    assert out[-1] == pytest.approx(expected, abs=1e-12)


def test_tsb_by_hand():
    # alpha (size) 0.1, beta (probability) 0.05; p starts at day 0's indicator (0), d at the first demand (4).
    y = [0, 4, 0, 0, 2]
    out = MODELS["tsb"](series(y, horizon=2))[0]
    p1 = 0.05
    p2 = p1 - 0.05 * p1
    p3 = p2 - 0.05 * p2
    p4 = p3 + 0.05 * (1 - p3)
    d4 = 4 + 0.1 * (2 - 4)
    assert out == pytest.approx([0.0, 0.0, 2 * 4.0 * p1, 2 * 4 * p2, 2 * 4 * p3, 2 * d4 * p4])


def test_damped_trend_multiplier():
    phi = 0.9
    h = 4
    expected = sum(sum(phi**j for j in range(1, k + 1)) for k in range(1, h + 1))
    assert damped_sum(phi, np.array([h]))[0] == pytest.approx(expected)
    assert damped_sum(1.0, np.array([3]))[0] == pytest.approx(6.0)


def test_smoothers_start_from_the_running_mean_then_smooth():
    y = np.full(30, 5.0)
    y[20] = 15.0  # one spike after the start-up days
    flat = np.ones((6, 7))  # a flat profile for all series, and a prior that pins each series to it
    s = Series(y[None, :], np.array([1]), flat, SmootherParameters(weekday_prior_units=1e12))
    level = MODELS["weekday_level"](s)[0]
    assert level[INIT_DAYS] == pytest.approx(5.0)
    assert level[21] == pytest.approx(5.0 + 0.1 * 10.0)
    assert level[22] == pytest.approx(6.0 + 0.1 * (5.0 - 6.0))


# ---- what the choice must get right --------------------------------------------------------------------


def test_a_constant_series_forecasts_its_constant_with_zero_error_variance():
    fit = fit_series(np.full((1, 60), 3.0), 9)
    assert fit.method[0] == "window_mean"  # every candidate is exact; the tie goes to the baseline
    assert fit.mean[0] == pytest.approx(3.0)
    assert fit.variance[0] == pytest.approx(0.0, abs=1e-18)


def test_a_pure_weekday_pattern_is_recovered():
    days = 84
    y = 10.0 * np.tile(PROFILE, days // 7)[None, :]
    fit = fit_series(y, 10)
    assert fit.method[0] == "weekday_level"
    # the next 10 days start on position 0 again (84 = 12 weeks): 10 x (sum of one week + first 3 days)
    expected = 10.0 * (PROFILE.sum() + PROFILE[:3].sum()) / 10
    assert fit.mean[0] == pytest.approx(expected)
    assert fit.variance[0] == pytest.approx(0.0, abs=1e-12)
    baseline = fit_series(y, 10, ForecastParameters())  # the window mean would err by the weekday mix
    assert baseline.baseline_rmsse[0] > 0 and fit.rmsse[0] == pytest.approx(0.0, abs=1e-9)


def test_a_trend_is_followed_where_the_window_mean_lags():
    t = np.arange(90)
    y = (5.0 + 0.1 * t)[None, :]
    fit = fit_series(y, 14)
    assert fit.method[0] == "weekday_trend"
    truth = np.mean(5.0 + 0.1 * np.arange(90, 104))
    assert abs(fit.mean[0] - truth) < 0.15 * truth
    assert abs(y.mean() - truth) > 0.3 * truth  # what the old rule would have said


def test_intermittent_methods_only_for_intermittent_series():
    rng = np.random.default_rng(1)
    regular = rng.poisson(8.0, (50, 90)).astype(float)
    fit = fit_series(regular, 7)
    assert not set(fit.method) & {"croston_sba", "tsb"}
    lumpy = np.where(rng.random((50, 90)) < 0.08, rng.integers(3, 12, (50, 90)), 0).astype(float)
    fit = fit_series(lumpy, 7)
    assert set(fit.method) & {"croston_sba", "tsb"}


@pytest.mark.parametrize("name", list(MODELS))
def test_no_model_sees_the_future(name):
    rng = np.random.default_rng(7)
    y = rng.poisson(2.0, (20, 70)).astype(float) * (rng.random((20, 70)) < 0.6)
    for t0 in (20, 35, 50):
        corrupted = y.copy()
        corrupted[:, t0:] = rng.poisson(40.0, corrupted[:, t0:].shape)
        profile = global_weekday_profile(y.sum(axis=0))  # the profile of all series, also causal (own test)
        clean = MODELS[name](Series(y, np.full(20, 7), profile, SmootherParameters()))
        dirty = MODELS[name](Series(corrupted, np.full(20, 7), profile, SmootherParameters()))
        np.testing.assert_array_equal(clean[:, : t0 + 1], dirty[:, : t0 + 1])


def test_the_global_profile_uses_only_whole_weeks_before_each_origin():
    totals = np.arange(1.0, 36.0)
    profile = global_weekday_profile(totals)
    changed = totals.copy()
    changed[21:] = 1000.0
    again = global_weekday_profile(changed)
    np.testing.assert_array_equal(profile[:4], again[:4])  # rows 0..3 use days 0..20 at most
    assert profile[0] == pytest.approx(np.ones(7))


def test_the_choice_and_its_variance_use_only_the_window():
    rng = np.random.default_rng(3)
    y = rng.poisson(3.0, (10, 80)).astype(float)
    a = fit_series(y, 7)
    b = fit_series(np.concatenate([y, np.zeros((10, 0))], axis=1), 7)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.variance, b.variance)


# ---- bad input: a documented fallback each, never a crash or a NaN ----------------------------------------


def test_fallbacks_for_short_and_empty_series():
    y = np.zeros((4, 60))
    y[1, 30] = 5.0  # a single sale, early enough to be judged
    y[2, 57] = 6.0  # a new product: a few days of history
    y[3, 50:] = 2.0  # a new product selling daily for 10 days
    fit = fit_series(y, 7)
    assert fit.method[0] == "none" and fit.mean[0] == 0 and fit.variance[0] == 0
    assert fit.method[1] not in ("none", "short_history")
    assert fit.method[2] == "short_history"
    assert fit.mean[2] == pytest.approx(6.0 / 14)  # 3 days since the first sale, at least 14
    assert fit.variance[2] == pytest.approx(12.0)  # sample variance of (6, 0, 0)
    assert fit.method[3] == "short_history"
    assert fit.mean[3] == pytest.approx(20.0 / 14)
    for values in (fit.mean, fit.variance):
        assert np.isfinite(values).all() and (values >= 0).all()


def test_a_window_too_short_for_any_origin_uses_the_short_history_rule():
    y = np.array([[1.0, 0.0, 3.0]])
    fit = fit_series(y, 7)
    assert fit.method[0] == "short_history"
    assert fit.mean[0] == pytest.approx(4.0 / 3)  # a product selling from day 0: the window's mean
    assert fit.variance[0] == pytest.approx(np.var([1.0, 0.0, 3.0], ddof=1))


def test_a_late_first_sale_of_an_old_product_keeps_the_window_mean():
    y = np.zeros((2, 60))
    y[:, 55] = 6.0
    fit = fit_series(y, 7, launch_day=np.array([0, 55]))  # the product sold elsewhere from day 0; a launch
    assert list(fit.method) == ["short_history", "short_history"]
    assert fit.mean == pytest.approx([6.0 / 60, 6.0 / 14])


def test_negative_days_do_not_give_a_negative_forecast():
    y = np.full((1, 60), 1.0)
    y[0, 40:] = -3.0  # returns booked as negative sales
    fit = fit_series(y, 7)
    assert fit.mean[0] >= 0 and fit.variance[0] >= 0 and np.isfinite(fit.variance[0])


# ---- the frame: rows of merged_dataset, pooling, the old rule, the hand-over to the features ---------------


def _sources_with_history(days: int = 70) -> tuple[dict[str, pd.DataFrame], pd.Timestamp, pd.Timestamp]:
    src = make_sources()
    start = pd.Timestamp("2025-01-01")
    end = start + pd.Timedelta(days=days - 1)
    dates = pd.date_range(start, end, freq="D")
    rng = np.random.default_rng(5)
    s1 = pd.DataFrame({"sale_date": dates, "product_id": "P1", "location_id": "S1", "quantity": 4.0})
    s2 = pd.DataFrame(
        {"sale_date": dates, "product_id": "P1", "location_id": "S2", "quantity": rng.poisson(0.3, days) * 3.0}
    )
    s3 = pd.DataFrame({"sale_date": dates[-3:], "product_id": "P3", "location_id": "S2", "quantity": 2.0})
    unstocked = pd.DataFrame({"sale_date": dates[:5], "product_id": "P2", "location_id": "S2", "quantity": 9.0})
    sales = pd.concat([s1, s2, s3, unstocked], ignore_index=True)
    src["sales"] = sales.loc[sales["quantity"] > 0].reset_index(drop=True)
    return src, start, end


def _merged(src, start, end) -> pd.DataFrame:
    tables = (src[name] for name in ("sales", "inventory", "costs", "locations", "receipts"))
    return merge_dataset(*tables, window_start=start, window_end=end)[0]


def test_forecast_frame_rows_pooling_and_schema():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    frame, report = forecast_demand(src["sales"], merged, window_start=start, window_end=end)
    DemandForecastSchema.validate(frame, lazy=True)
    assert frame[["product_id", "location_id"]].equals(merged[["product_id", "location_id"]])
    by = frame.set_index(["product_id", "location_id"])
    assert by.loc[("P1", "S1"), "forecast_mean"] == pytest.approx(4.0)
    assert by.loc[("P1", "S1"), "forecast_variance"] == pytest.approx(0.0, abs=1e-12)
    assert by.loc[("P1", "DC"), "forecast_method"] == "none"  # the DC sells nothing itself
    assert by.loc[("P1", "DC"), "echelon_forecast_mean"] == pytest.approx(
        by.loc[("P1", "S1"), "forecast_mean"] + by.loc[("P1", "S2"), "forecast_mean"]
    )
    assert by.loc[("P1", "DC"), "echelon_forecast_variance"] == pytest.approx(
        by.loc[("P1", "S1"), "forecast_variance"] + by.loc[("P1", "S2"), "forecast_variance"]
    )
    assert by.loc[("P3", "S2"), "forecast_method"] == "short_history"
    assert by.loc[("P2", "S1"), "forecast_method"] == "none"  # its sales were at S2, where it is not stocked
    assert report.rows == len(merged) and sum(report.methods.values()) == len(merged)
    assert by.loc[("P1", "S1"), "horizon_days"] == round(
        merged.set_index(["product_id", "location_id"]).loc[("P1", "S1"), "lead_time_mean"] + 7
    )


def test_window_mean_method_reproduces_the_old_features_exactly():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    old = compute_features(merged)
    frame, _ = forecast_demand(
        src["sales"],
        merged,
        window_start=start,
        window_end=end,
        params=ForecastParameters(forecast_method="window_mean"),
    )
    pd.testing.assert_frame_equal(compute_features(merged, forecast=frame), old)


def test_features_take_the_forecast():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    frame, _ = forecast_demand(src["sales"], merged, window_start=start, window_end=end)
    features = compute_features(merged, forecast=frame)
    FeaturesSchema.validate(features, lazy=True)
    np.testing.assert_allclose(features["forecast_demand_mean"], frame["echelon_forecast_mean"])
    np.testing.assert_allclose(features["forecast_demand_std"] ** 2, frame["echelon_forecast_variance"])
    s1 = features.set_index(["product_id", "location_id"]).loc[("P1", "S1")]
    # a perfectly regular series: demand over T is 4 T, the only spread is the lead time's
    assert s1["demand_over_protection"] == pytest.approx(4.0 * s1["protection_days"])
    assert s1["demand_std_over_protection"] == pytest.approx(4.0 * s1["lead_time_std"])
    with pytest.raises(ValueError, match="rows of merged_dataset"):
        compute_features(merged, forecast=frame.iloc[::-1].reset_index(drop=True))
    with pytest.raises(ValueError, match="rows of merged_dataset"):
        compute_features(merged, forecast=frame.iloc[:-1])
    # the ids are compared as text, whatever their dtype
    as_objects = frame.astype({"product_id": object, "location_id": object})
    pd.testing.assert_frame_equal(compute_features(merged, forecast=as_objects), features)


def test_accuracy_table_and_examples():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    frame, report = forecast_demand(src["sales"], merged, window_start=start, window_end=end)
    table = accuracy_table(frame.assign(abc_class="A"), "abc_class")
    assert list(table.columns[:3]) == ["abc_class", "forecast_method", "series"]
    judged = frame["rmsse"].notna() | frame["pinball_loss"].notna()
    assert table["series"].sum() == judged.sum() > 0
    examples = example_series(src["sales"], merged, frame, window_start=start, window_end=end)
    assert set(examples.columns) == {"series", "date", "actual", "forecast", "final"}
    assert examples.groupby("series").size().eq(70).all()
    assert report.accuracy["series"].sum() == table["series"].sum()


def test_missing_quantities_and_days_outside_the_window_are_left_out():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    clean, _ = forecast_demand(src["sales"], merged, window_start=start, window_end=end)
    extra = pd.DataFrame(
        {
            "sale_date": [start, end + pd.Timedelta(days=3), start - pd.Timedelta(days=1)],
            "product_id": ["P1", "P1", "P1"],
            "location_id": ["S1", "S1", "S1"],
            "quantity": [np.nan, 50.0, 50.0],
        }
    )
    dirty, _ = forecast_demand(
        pd.concat([src["sales"], extra], ignore_index=True), merged, window_start=start, window_end=end
    )
    pd.testing.assert_frame_equal(clean, dirty)
    assert np.isfinite(dirty[["forecast_mean", "forecast_variance"]].to_numpy()).all()


def test_empty_sales_give_no_demand_everywhere():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    frame, _ = forecast_demand(src["sales"].iloc[:0], merged, window_start=start, window_end=end)
    assert (frame["forecast_method"] == "none").all()
    assert (frame[["forecast_mean", "forecast_variance"]] == 0).all().all()


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="forecast_method"):
        ForecastParameters(forecast_method="prophet")
    with pytest.raises(ValueError, match="accuracy_quantile"):
        ForecastParameters(accuracy_quantile=1.0)


# ---- the pinball loss at each row's service level ---------------------------------------------------------


def test_pinball_loss_by_hand_at_each_rows_own_level():
    # Two rows with the same errors: origins 0-1 calibrate (errors 1, -1: sigma 1), origins 2-3 score (2, 0).
    err = np.array([[1.0, -1.0, 2.0, 0.0], [1.0, -1.0, 2.0, 0.0]])
    calibrate = np.array([[True, True, False, False]] * 2)
    scoring = _Scoring(scale=np.ones(2), origins=np.full(2, 4), calibrate=calibrate, evaluate=~calibrate)
    _, pinball = scoring.score(err, np.array([0.5, 0.9]))
    # tau 0.5: the quantile is the forecast (z 0): mean(0.5 x 2, 0.5 x 0) = 0.5
    # tau 0.9: z = 1.2815516; e - z = 0.7184484 -> 0.9 x 0.7184484; -1.2815516 -> 0.1 x 1.2815516
    assert pinball[0] == pytest.approx(0.5, abs=1e-12)
    assert pinball[1] == pytest.approx((0.9 * 0.7184484 + 0.1 * 1.2815516) / 2, abs=1e-6)


def test_forecast_scores_each_row_at_the_service_level_it_is_given():
    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)
    levels = np.where(merged["location_id"].to_numpy(dtype=str) == "S2", 0.99, 0.8)
    frame, _ = forecast_demand(src["sales"], merged, window_start=start, window_end=end, service_level=levels)
    DemandForecastSchema.validate(frame, lazy=True)
    np.testing.assert_array_equal(frame["pinball_quantile"].to_numpy(), levels)
    default, _ = forecast_demand(src["sales"], merged, window_start=start, window_end=end)
    assert (default["pinball_quantile"] == ForecastParameters().accuracy_quantile).all()
    # the forecast itself does not depend on the level it is scored at; the loss does
    pd.testing.assert_frame_equal(
        frame.drop(columns=["pinball_quantile", "pinball_loss", "baseline_pinball_loss"]),
        default.drop(columns=["pinball_quantile", "pinball_loss", "baseline_pinball_loss"]),
    )
    s2 = (merged["location_id"] == "S2").to_numpy() & frame["pinball_loss"].notna().to_numpy()
    assert s2.any() and not np.allclose(frame.loc[s2, "pinball_loss"], default.loc[s2, "pinball_loss"])
    # the same as scoring that row alone at its level
    row = int(np.flatnonzero(s2)[0])
    by_row = _sources_row_fit(src, merged, start, end, row, 0.99)
    assert frame["pinball_loss"].iloc[row] == pytest.approx(by_row, rel=1e-12)
    with pytest.raises(ValueError, match="service_level has"):
        forecast_demand(src["sales"], merged, window_start=start, window_end=end, service_level=levels[:-1])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        forecast_demand(
            src["sales"], merged, window_start=start, window_end=end, service_level=np.where(levels > 0.9, 1.0, 0.5)
        )


def _sources_row_fit(src, merged, start, end, row: int, level: float) -> float:
    """``fit_series`` on one row's daily series at ``level`` (the same global profile and launch day)."""
    ps = pair_series(src["sales"], merged, start, end)
    profile = _global_profile(np.bincount(ps.day, weights=ps.quantity, minlength=ps.window_days))
    fit = fit_series(
        ps.block(np.array([row])),
        _horizon(merged, 7.0)[row : row + 1],
        global_profile=profile,
        launch_day=_product_launch_days(ps, merged)[row : row + 1],
        quantile=level,
    )
    return float(fit.pinball[0])


def test_the_forecast_is_the_same_in_any_blocks_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Series are fitted in blocks of rows, by several threads at once: the frame and the report do not
    depend on how the rows are cut or how many threads fit them."""
    import inventory_assets.forecast.core as forecast_core

    src, start, end = _sources_with_history()
    merged = _merged(src, start, end)

    def forecast(block_rows: int, threads: int) -> tuple[pd.DataFrame, dict[str, int]]:
        monkeypatch.setattr(forecast_core, "_BLOCK_ROWS", block_rows)
        frame, report = forecast_demand(
            src["sales"], merged, window_start=start, window_end=end, params=ForecastParameters(threads=threads)
        )
        return frame, report.methods

    whole, methods = forecast(50_000, 1)
    assert whole["forecast_method"].nunique() > 2  # several models chosen: the blocks differ
    for block_rows, threads in ((1, 1), (2, 1), (2, 2), (3, 4), (50_000, 0)):
        frame, by_method = forecast(block_rows, threads)
        pd.testing.assert_frame_equal(frame, whole)
        assert by_method == methods
    with pytest.raises(ValueError, match="threads must be >= 0"):
        ForecastParameters(threads=-1)
