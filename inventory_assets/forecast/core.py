"""``demand_forecast``: per stocked (product, location), the demand expected over its protection interval
and the variance of that sum, from a model chosen per series by rolling-origin evaluation.

    forecast, report = forecast_demand(sales, merged, window_start=..., window_end=..., params=ForecastParameters())

For each row of ``merged_dataset`` the daily sales of the window form one series. Every candidate of
:data:`~inventory_assets.forecast.models.MODELS` forecasts the sum over the row's horizon
``H = round(lead_time_mean + review_days)`` (at least 1) from every origin ``t`` of the window, using the
days before ``t`` only; the errors at the origins that have ``H`` days of actuals after them rank the
candidates, and the row takes the one with the smallest mean squared error. The forecast the plan reads
is the chosen model's sum at the end of the window, as a rate ``forecast_mean = sum / H`` (units/day); its
variance is the chosen model's mean squared error over the same origins, as ``forecast_variance = MSE / H``
(units²/day), so that ``T x forecast_variance`` is the error variance of the ``T``-day sum at ``T = H``.
Upper echelons pool: ``echelon_forecast_mean`` and ``echelon_forecast_variance`` add the rows below
(independent errors). ``method: window_mean`` skips all of this and returns ``merged_dataset``'s window mean
and sample variance (today's rule, for the backtest to compare). Every rule and fallback:
``docs/forecast.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from inventory_assets.analytics.demand import combine_duplicate_days, day_offsets, pool_to_ancestors
from inventory_assets.analytics.merge import pair_lookup
from inventory_assets.analytics.safety_stock import is_intermittent
from inventory_assets.contract import spec
from inventory_assets.contract.ids import positions
from inventory_assets.forecast.models import INTERMITTENT_MODELS, MODELS, Series, SmootherParameters
from inventory_assets.forecast.models import global_weekday_profile as _global_profile
from inventory_assets.parallel import THREADS_DOC, thread_count, thread_map

__all__ = [
    "FORECAST_METHODS",
    "FALLBACK_METHODS",
    "FORECAST_COLUMNS",
    "ForecastParameters",
    "ForecastReport",
    "forecast_demand",
    "pair_series",
    "accuracy_table",
    "example_series",
    "fit_series",
    "SeriesFit",
]

FORECAST_METHODS: tuple[str, ...] = ("auto", "window_mean")
"""``auto``: the model chosen per series; ``window_mean``: today's rule for every series."""
FALLBACK_METHODS: tuple[str, ...] = ("none", "short_history")
"""Rows no candidate is evaluated on: no sale in the window; too few origins (docs/forecast.md)."""
FORECAST_COLUMNS: tuple[str, ...] = tuple(spec.DEMAND_FORECAST.column_names)

INTERMITTENT_ADI = 1.32
"""Syntetos-Boylan cut-off on the average inter-demand interval: Croston/SBA and TSB are candidates above it."""
LAUNCH_GRACE_DAYS = 7
"""A product whose first sale in the window (at any location) comes after this day was launched in it."""
_BLOCK_ROWS = 12_500
"""Series one thread forecasts together (memory: about 40 arrays of rows x window days float64 per block,
0.4 GB at 90 days). Blocks this small keep more of their work in the CPU's caches: at a million series
one thread took 16.4 s with them against 22.8 s with blocks of 50,000 (docs/scaling-benchmarks.md)."""


@dataclass(frozen=True)
class ForecastParameters:
    """Knobs of ``demand_forecast``. Flat fields so they map one-to-one onto a ``dg.Config``."""

    forecast_method: str = field(
        default="auto",
        metadata={
            "doc": (
                "auto: per series, the candidate with the smallest rolling-origin error (docs/forecast.md); "
                "window_mean: the mean and sample standard deviation of the window's daily sales (the old rule)."
            )
        },
    )
    review_days: float = field(
        default=7.0,
        metadata={
            "doc": (
                "Review period R in days: the forecast horizon is round(lead time + R). Keep it equal to the "
                "features' review_days (the backtest sets both)."
            )
        },
    )
    warmup_days: int = field(
        default=28,
        metadata={"doc": "Days of history before the first origin of the rolling evaluation."},
    )
    min_origins: int = field(
        default=7,
        metadata={
            "doc": (
                "Origins a series needs (each with a full horizon of actuals after it, at least 7 days after "
                "its first sale) for a model to be chosen; with fewer, the short-history rule applies."
            )
        },
    )
    short_history_min_days: int = field(
        default=14,
        metadata={
            "doc": (
                "Short-history rule for a product launched in the window: units sold since the pair's first sale "
                "over at least this many days."
            )
        },
    )
    selection_margin: float = field(
        default=0.25,
        metadata={
            "doc": (
                "A candidate replaces the window mean only when its mean squared error is lower by at least this "
                "share (0: the smallest error wins; guards against choosing on noise)."
            )
        },
    )
    accuracy_quantile: float = field(
        default=0.95,
        metadata={
            "doc": (
                "Quantile of the accuracy report's pinball loss for rows given no service level of their own "
                "(the asset scores each row at its ABC class's service level; docs/forecast.md)."
            )
        },
    )
    threads: int = field(
        default=0,
        metadata={"doc": f"{THREADS_DOC} The forecast is the same for every value."},
    )

    def __post_init__(self) -> None:
        if self.forecast_method not in FORECAST_METHODS:
            raise ValueError(f"forecast_method must be one of {FORECAST_METHODS}, got {self.forecast_method!r}")
        if not (np.isfinite(self.review_days) and 0 <= self.review_days <= spec.MAX_WINDOW_DAYS):
            raise ValueError(f"review_days must be between 0 and {spec.MAX_WINDOW_DAYS}, got {self.review_days!r}")
        if not 1 <= self.warmup_days <= spec.MAX_WINDOW_DAYS:
            raise ValueError(f"warmup_days must be between 1 and {spec.MAX_WINDOW_DAYS}, got {self.warmup_days!r}")
        if not 2 <= self.min_origins <= spec.MAX_WINDOW_DAYS:
            raise ValueError(f"min_origins must be between 2 and {spec.MAX_WINDOW_DAYS}, got {self.min_origins!r}")
        if not 1 <= self.short_history_min_days <= spec.MAX_WINDOW_DAYS:
            raise ValueError(
                f"short_history_min_days must be between 1 and {spec.MAX_WINDOW_DAYS}, "
                f"got {self.short_history_min_days!r}"
            )
        if not 0 <= self.selection_margin < 1:
            raise ValueError("selection_margin must be in [0, 1)")
        if not 0 < self.accuracy_quantile < 1:
            raise ValueError("accuracy_quantile must be strictly between 0 and 1")
        thread_count(self.threads)


@dataclass(frozen=True)
class ForecastReport:
    """Figures for the ``demand_forecast`` materialization (pure data)."""

    rows: int
    window_days: int
    forecast_method: str
    methods: dict[str, int]
    """Rows per chosen method (fallbacks included)."""
    intermittent_rows: int
    accuracy: pd.DataFrame = field(repr=False)
    """:func:`accuracy_table` by method."""
    examples: pd.DataFrame | None = field(default=None, repr=False)
    """:func:`example_series` of the forecast (``auto`` only; None for ``window_mean``)."""

    def numbers(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {"rows": self.rows, "intermittent_rows": self.intermittent_rows}
        out.update({f"method_{k}_rows": v for k, v in self.methods.items()})
        return out


@dataclass(frozen=True)
class PairSeries:
    """The window's daily sales of the rows of ``merged_dataset`` as (row, day, units), one entry per
    (row, day) with a sale, sorted by row; and the rows' ancestors (for pooling)."""

    row: np.ndarray
    day: np.ndarray
    quantity: np.ndarray
    n_rows: int
    window_days: int
    ancestors: list[np.ndarray]
    """For each distance 1, 2, ...: the row of the same product at that ancestor (-1 when not stocked)."""

    def block(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), window_days) daily units of ``rows`` (increasing row numbers)."""
        y = np.zeros((len(rows), self.window_days))
        if len(rows) == 0:
            return y
        a, b = np.searchsorted(self.row, [rows[0], rows[-1] + 1])
        at = np.searchsorted(rows, self.row[a:b])
        mine = rows[np.minimum(at, len(rows) - 1)] == self.row[a:b]
        y[at[mine], self.day[a:b][mine]] = self.quantity[a:b][mine]
        return y


def pair_series(sales: pd.DataFrame, merged: pd.DataFrame, window_start: Any, window_end: Any) -> PairSeries:
    """Map the daily sales onto the rows of ``merged_dataset`` (sales of unstocked pairs and days outside the
    window are left out, as ``merge_dataset`` does) and find each row's ancestor rows."""
    start = pd.Timestamp(window_start).normalize()
    n_days = int((pd.Timestamp(window_end).normalize() - start).days) + 1
    if n_days < 1:
        raise ValueError(f"window_end {window_end} is before window_start {window_start}")
    products = pd.Index(pd.unique(merged["product_id"].astype(str)))
    parents = merged["parent_location_id"].astype(object)
    loc_values = pd.unique(np.concatenate([merged["location_id"].astype(str).to_numpy(), parents.dropna().astype(str)]))
    locations = pd.Index(loc_values)
    n_loc = max(len(locations), 1)
    m_prod = positions(products, merged["product_id"].astype(str))
    m_loc = positions(locations, merged["location_id"].astype(str))
    keys = m_prod.astype(np.int64) * n_loc + m_loc
    lookup = pair_lookup(pd.Index(keys), len(products), n_loc)
    n_rows = len(merged)

    if len(sales):
        day = day_offsets(sales["sale_date"], start)
        s_prod = positions(products, sales["product_id"].astype(str))
        s_loc = positions(locations, sales["location_id"].astype(str))
        quantity = pd.to_numeric(sales["quantity"]).astype("float64").to_numpy()
        row = np.full(len(day), -1, dtype=np.int64)
        ok = (day >= 0) & (day < n_days) & (s_prod >= 0) & (s_loc >= 0) & np.isfinite(quantity)
        row[ok] = lookup(s_prod[ok].astype(np.int64) * n_loc + s_loc[ok])
        keep = row >= 0
        row, day, quantity, _ = combine_duplicate_days(row[keep], day[keep], quantity[keep], n_days)
        order = np.lexsort((day, row))
        row, day, quantity = row[order], day[order], quantity[order]
    else:
        row, day, quantity = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))

    # ancestors through the location chain (each location's parent, as merged_dataset states it)
    parent_of = np.full(n_loc, -1, dtype=np.int64)
    has_parent = parents.notna().to_numpy()
    parent_of[m_loc[has_parent]] = locations.get_indexer(parents[has_parent].astype(str))
    ancestors: list[np.ndarray] = []
    current = m_loc.astype(np.int64)
    for _ in range(n_loc):
        current = np.where(current >= 0, parent_of[np.maximum(current, 0)], -1)
        if not (current >= 0).any():
            break
        target = np.full(n_rows, -1, dtype=np.int64)
        at = current >= 0
        target[at] = lookup(m_prod[at].astype(np.int64) * n_loc + current[at])
        if (target >= 0).any():
            ancestors.append(target)
    return PairSeries(row, day, quantity, n_rows, n_days, ancestors)


@dataclass
class SeriesFit:
    """Per-series results of :func:`fit_series` (one entry per row of its ``y``)."""

    method: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    origins: np.ndarray
    rmsse: np.ndarray
    baseline_rmsse: np.ndarray
    pinball: np.ndarray
    baseline_pinball: np.ndarray


def _fallback(
    y: np.ndarray, first_sale: np.ndarray, launched: np.ndarray, min_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Short-history rule. A product launched in the window (``launched``): rate = units since the pair's
    first sale / max(days since it, ``min_days``), variance the sample variance (ddof=1) of those days, or
    the rate (Poisson) when fewer than 2. Otherwise the window's mean and sample variance (the old rule)."""
    n = y.shape[1]
    first = np.where(launched, first_sale, 0)
    days = n - first
    live = np.arange(n)[None, :] >= first[:, None]
    total = y.sum(axis=1)
    rate = np.where(launched, total / np.maximum(np.maximum(days, min_days), 1), total / n)
    mean_live = total / np.maximum(days, 1)
    sq = np.where(live, (y - mean_live[:, None]) ** 2, 0.0).sum(axis=1)
    var = np.where(days >= 2, sq / np.maximum(days - 1, 1), rate)
    return rate, var


def fit_series(
    y: np.ndarray,
    horizon: np.ndarray | int,
    params: ForecastParameters | None = None,
    *,
    global_profile: np.ndarray | None = None,
    launch_day: np.ndarray | None = None,
    quantile: np.ndarray | float | None = None,
) -> SeriesFit:
    """Choose, per row of ``y`` (daily units, one column per day), the candidate with the smallest
    rolling-origin error over ``horizon`` days and return its forecast rate and error variance.

    ``global_profile``: the weekday profile of all series (``models.global_weekday_profile`` of the daily
    totals); default: the profile of ``y``'s own totals. ``launch_day``: per row, the first day its product
    sold anywhere (default: the row's own first sale); the short-history rule treats a product whose first
    sale comes after :data:`LAUNCH_GRACE_DAYS` as launched in the window. ``quantile``: per row (or one for
    all), the level of the pinball loss (default ``params.accuracy_quantile``)."""
    params = params or ForecastParameters()
    y = np.asarray(y, dtype=float)
    h = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (y.shape[0],))
    if global_profile is None:
        global_profile = _global_profile(y.sum(axis=0))
    if launch_day is None:
        launch_day = _first_sale(y)
    tau = _quantiles(quantile, y.shape[0], params)
    return _fit_block(Series(y, h, global_profile, SmootherParameters()), params, np.asarray(launch_day), tau)


def _quantiles(quantile: np.ndarray | float | None, rows: int, params: ForecastParameters) -> np.ndarray:
    """Per row, the pinball loss's level: ``quantile`` (broadcast), or ``params.accuracy_quantile``."""
    level = params.accuracy_quantile if quantile is None else quantile
    tau = np.broadcast_to(np.asarray(level, dtype=float), (rows,))
    if not ((tau > 0) & (tau < 1)).all():
        raise ValueError("every pinball quantile (service level) must be strictly between 0 and 1")
    return tau


def _first_sale(y: np.ndarray) -> np.ndarray:
    """Per row, the first day with a sale (``n`` when none)."""
    sold = y > 0
    return np.where(sold.any(axis=1), sold.argmax(axis=1), y.shape[1])


def _fit_block(s: Series, params: ForecastParameters, launch_day: np.ndarray, quantile: np.ndarray) -> SeriesFit:
    y = s.y
    rows, n = y.shape
    actual = s.actual_sums()  # (rows, n + 1), NaN past the window
    first = _first_sale(y)
    any_sale = first < n
    t = np.arange(n + 1)[None, :]
    valid = np.isfinite(actual) & (t >= params.warmup_days) & (t >= first[:, None] + 7)
    origins = valid.sum(axis=1)
    intermittent = np.flatnonzero(is_intermittent((y > 0).sum(axis=1), n, INTERMITTENT_ADI))

    # every candidate's errors at the valid origins (0 elsewhere) and its forecast at the end of the window
    names = list(MODELS)
    mse = np.full((len(names), rows), np.inf)
    final = np.zeros((len(names), rows))
    errors: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    for k, name in enumerate(names):
        if name in INTERMITTENT_MODELS:
            if len(intermittent) == 0:
                errors.append((None, None))
                continue
            rows_k: np.ndarray | None = intermittent
            sub = Series(y[intermittent], s.horizon[intermittent], s.global_profile, s.params)
            act, ok = actual[intermittent], valid[intermittent]
        else:
            rows_k, sub, act, ok = None, s, actual, valid
        err = MODELS[name](sub)
        at = slice(None) if rows_k is None else rows_k
        final[k, at] = err[:, n]
        np.subtract(act, err, out=err)
        err[~ok] = 0.0
        mse[k, at] = np.einsum("ij,ij->i", err, err) / np.maximum(origins[at], 1)
        errors.append((rows_k, err))
    score = mse.copy()
    score[1:] /= 1.0 - params.selection_margin
    best = np.argmin(score, axis=0)  # ties: the earlier candidate (the baseline first)
    pick = np.arange(rows)
    method = np.array(names, dtype=object)[best]
    mean = final[best, pick] / s.horizon
    variance = mse[best, pick] / s.horizon
    chosen = np.zeros_like(actual)
    for k, (rows_k, err_k) in enumerate(errors):
        if err_k is None:
            continue
        if rows_k is None:
            mine = best == k
            chosen[mine] = err_k[mine]
        else:
            mine = best[rows_k] == k
            chosen[rows_k[mine]] = err_k[mine]

    short = origins < params.min_origins
    if short.any():
        launched = launch_day[short] > LAUNCH_GRACE_DAYS
        rate, var = _fallback(y[short], first[short], launched, params.short_history_min_days)
        mean[short], variance[short] = rate, var
        method[short] = "short_history"
    method[~any_sale] = "none"
    mean[~any_sale] = 0.0
    variance[~any_sale] = 0.0
    judged = any_sale & ~short
    baseline = errors[0][1]
    assert baseline is not None
    scoring = _Scoring.of(s, valid, origins)
    rmsse, pinball = scoring.score(chosen, quantile)
    base_rmsse, base_pinball = scoring.score(baseline, quantile)
    nan = np.nan
    return SeriesFit(
        method=method,
        mean=np.maximum(mean, 0.0),
        variance=np.maximum(variance, 0.0),
        origins=np.where(any_sale, origins, 0),
        rmsse=np.where(judged, rmsse, nan),
        baseline_rmsse=np.where(judged, base_rmsse, nan),
        pinball=np.where(judged, pinball, nan),
        baseline_pinball=np.where(judged, base_pinball, nan),
    )


@dataclass(frozen=True)
class _Scoring:
    """What the accuracy figures of a block share, computed once: the RMSSE scale per row, the origins that
    calibrate a quantile's spread (the first half of each row's) and those that score it (the second)."""

    scale: np.ndarray
    origins: np.ndarray
    calibrate: np.ndarray
    evaluate: np.ndarray

    @classmethod
    def of(cls, s: Series, valid: np.ndarray, origins: np.ndarray) -> _Scoring:
        rows, n = s.y.shape
        scale = (np.diff(s.y, axis=1) ** 2).mean(axis=1) * s.horizon if n > 1 else np.zeros(rows)
        calibrate = valid & (np.cumsum(valid, axis=1) <= (origins // 2)[:, None])
        return cls(scale, origins, calibrate, valid & ~calibrate)

    def score(self, err: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rmsse, pinball)`` per row from the errors ``actual - forecast`` at the valid origins (0 elsewhere).

        RMSSE: ``sqrt(MSE / (H x mean squared day-to-day change of the series))`` (NaN for a constant series).
        Pinball at the row's level ``tau``: the quantile ``forecast + z_tau sigma`` with ``sigma`` the root
        mean squared error of the calibrating origins, scored on the others (NaN when there are none)."""
        mse = np.einsum("ij,ij->i", err, err) / np.maximum(self.origins, 1)
        n_cal = np.maximum(self.calibrate.sum(axis=1), 1)
        sigma = np.sqrt(np.where(self.calibrate, err * err, 0.0).sum(axis=1) / n_cal)
        t = tau[:, None]
        shifted = err - (stats.norm.ppf(tau) * sigma)[:, None]
        loss = np.where(self.evaluate, np.maximum(t * shifted, (t - 1) * shifted), 0.0).sum(axis=1)
        n_eval = self.evaluate.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rmsse = np.where(self.scale > 0, np.sqrt(mse / np.where(self.scale > 0, self.scale, 1.0)), np.nan)
            pinball = np.where(n_eval > 0, loss / np.maximum(n_eval, 1), np.nan)
        return rmsse, pinball


def _product_launch_days(ps: PairSeries, merged: pd.DataFrame) -> np.ndarray:
    """Per row, the first day of the window on which its product sold at any location (``n`` if never)."""
    codes, _ = pd.factorize(merged["product_id"].astype(str))
    first_of_row = np.full(ps.n_rows, ps.window_days, dtype=np.int64)
    np.minimum.at(first_of_row, ps.row, ps.day)
    first_of_product = np.full(int(codes.max()) + 1 if len(codes) else 0, ps.window_days, dtype=np.int64)
    np.minimum.at(first_of_product, codes, first_of_row)
    return first_of_product[codes]


def _horizon(merged: pd.DataFrame, review_days: float) -> np.ndarray:
    lead = pd.to_numeric(merged["lead_time_mean"]).astype("float64").to_numpy()
    return np.maximum(np.rint(np.nan_to_num(lead) + review_days), 1).astype(np.int64)


def forecast_demand(
    sales: pd.DataFrame,
    merged: pd.DataFrame,
    *,
    window_start: Any,
    window_end: Any,
    params: ForecastParameters | None = None,
    service_level: np.ndarray | None = None,
) -> tuple[pd.DataFrame, ForecastReport]:
    """The ``demand_forecast`` frame (columns ``FORECAST_COLUMNS``, the rows of ``merged`` in its order)
    and its report. ``sales`` is the ``sales`` asset's daily frame; the window is ``merged_dataset``'s.
    ``service_level``: per row of ``merged``, the level its pinball loss is scored at (the asset gives each
    row its ABC class's service level); default ``params.accuracy_quantile`` for every row."""
    params = params or ForecastParameters()
    n = len(merged)
    if service_level is not None and len(service_level) != n:
        raise ValueError(f"service_level has {len(service_level)} values for {n} rows")
    tau = _quantiles(service_level, n, params)
    n_days = int((pd.Timestamp(window_end).normalize() - pd.Timestamp(window_start).normalize()).days) + 1
    horizon = _horizon(merged, params.review_days)
    out = pd.DataFrame(
        {
            "product_id": merged["product_id"].to_numpy(),
            "location_id": merged["location_id"].to_numpy(),
        }
    )
    examples_of: PairSeries | None = None
    if params.forecast_method == "window_mean":  # merged_dataset's own statistics, pooled as it pooled them
        mean = merged["demand_mean"].to_numpy(dtype=float)
        variance = merged["demand_std"].to_numpy(dtype=float) ** 2
        method = np.where(merged["demand_total"].to_numpy(dtype=float) > 0, "window_mean", "none").astype(object)
        nan = np.full(n, np.nan)
        fit = SeriesFit(method, mean, variance, np.zeros(n, dtype=np.int64), nan, nan, nan, nan)
        echelon_mean = merged["echelon_demand_mean"].to_numpy(dtype=float)
        echelon_variance = merged["echelon_demand_std"].to_numpy(dtype=float) ** 2
        sale_days = merged["sale_days"].to_numpy(dtype=np.int64)
    else:
        ps = pair_series(sales, merged, window_start, window_end)
        day_totals = np.bincount(ps.day, weights=ps.quantity, minlength=n_days)
        profile = _global_profile(day_totals)
        smoothing = SmootherParameters()
        launch = _product_launch_days(ps, merged)
        nan = np.full(n, np.nan)
        fit = SeriesFit(
            np.full(n, "none", dtype=object),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n, dtype=np.int64),
            nan,
            nan.copy(),
            nan.copy(),
            nan.copy(),
        )  # rows without a sale of their own: no demand
        sold = np.unique(ps.row)  # only these are fitted (a DC that sells nothing itself is pooled below)
        blocks = [sold[lo : lo + _BLOCK_ROWS] for lo in range(0, len(sold), _BLOCK_ROWS)]

        def fit_rows(rows: np.ndarray) -> SeriesFit:
            block = Series(ps.block(rows), horizon[rows], profile, smoothing)
            return _fit_block(block, params, launch[rows], tau[rows])

        for rows, part in zip(blocks, thread_map(fit_rows, blocks, params.threads), strict=True):
            for name in SeriesFit.__dataclass_fields__:
                getattr(fit, name)[rows] = getattr(part, name)
        examples_of = ps
        echelon_mean = pool_to_ancestors(fit.mean, ps.ancestors)
        echelon_variance = pool_to_ancestors(fit.variance, ps.ancestors)
        sale_days = np.bincount(ps.row, minlength=n) if n else np.zeros(0, dtype=np.int64)
    out["forecast_method"] = pd.array(fit.method.astype(str), dtype=str)
    out["horizon_days"] = horizon
    out["origins"] = fit.origins.astype(np.int64)
    out["pinball_quantile"] = tau.astype(float)
    out["forecast_mean"] = fit.mean
    out["forecast_variance"] = fit.variance
    out["echelon_forecast_mean"] = echelon_mean
    out["echelon_forecast_variance"] = echelon_variance
    out["rmsse"] = fit.rmsse
    out["baseline_rmsse"] = fit.baseline_rmsse
    out["pinball_loss"] = fit.pinball
    out["baseline_pinball_loss"] = fit.baseline_pinball
    out = out.loc[:, list(FORECAST_COLUMNS)]
    counts = out["forecast_method"].value_counts()
    report = ForecastReport(
        rows=n,
        window_days=n_days,
        forecast_method=params.forecast_method,
        methods={m: int(counts.get(m, 0)) for m in (*MODELS, *FALLBACK_METHODS)},
        intermittent_rows=int(is_intermittent(sale_days, n_days, INTERMITTENT_ADI).sum()),
        accuracy=accuracy_table(out, None),
        examples=None if examples_of is None else _examples(examples_of, merged, out, params, window_start, 1),
    )
    return out, report


def accuracy_table(forecast: pd.DataFrame, by: str | list[str] | None) -> pd.DataFrame:
    """Mean RMSSE and pinball loss of the chosen model against the window-mean baseline, per ``by`` group
    and chosen method, over the rows a model was chosen on (the fallbacks are not evaluated).

    Columns: the ``by`` columns, ``forecast_method``, ``series``, ``rmsse``, ``baseline_rmsse``,
    ``pinball_loss``, ``baseline_pinball_loss`` (means over the group's series with a figure).
    """
    keys = ([by] if isinstance(by, str) else list(by or [])) + ["forecast_method"]
    judged = forecast.loc[forecast["rmsse"].notna() | forecast["pinball_loss"].notna()]
    figures = ["rmsse", "baseline_rmsse", "pinball_loss", "baseline_pinball_loss"]
    if len(judged) == 0:
        return pd.DataFrame({**{k: pd.Series(dtype=str) for k in keys}, "series": pd.Series(dtype=np.int64)}).assign(
            **{f: pd.Series(dtype=float) for f in figures}
        )
    grouped = judged.groupby(keys, sort=True, observed=True)
    table = grouped[figures].mean()
    table.insert(0, "series", grouped.size())
    return table.reset_index()


def example_series(
    sales: pd.DataFrame,
    merged: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    window_start: Any,
    window_end: Any,
    params: ForecastParameters | None = None,
    per_method: int = 1,
) -> pd.DataFrame:
    """Representative series for a chart: for each chosen model, the ``per_method`` rows with the most units
    sold. Long frame, one row per (series, day): ``series`` (``product@location
    (method)``), ``date``, ``actual`` (units sold that day), ``forecast`` (the chosen model's rate
    forecast made the evening before, ``sum over H / H``, units/day) and ``final`` (the rate the plan uses,
    on the last day only)."""
    params = params or ForecastParameters()
    ps = pair_series(sales, merged, window_start, window_end)
    return _examples(ps, merged, forecast, params, window_start, per_method)


def _examples(
    ps: PairSeries,
    merged: pd.DataFrame,
    forecast: pd.DataFrame,
    params: ForecastParameters,
    window_start: Any,
    per_method: int,
) -> pd.DataFrame:
    """:func:`example_series` from the sales already mapped onto the rows."""
    totals = np.bincount(ps.row, weights=ps.quantity, minlength=ps.n_rows)
    method = forecast["forecast_method"].to_numpy(dtype=str)
    picked: list[int] = []
    for name in MODELS:
        rows = np.flatnonzero(method == name)
        if len(rows):
            picked.extend(rows[np.argsort(-totals[rows], kind="stable")[:per_method]].tolist())
    horizon = _horizon(merged, params.review_days)
    day_totals = np.bincount(ps.day, weights=ps.quantity, minlength=ps.window_days)
    profile = _global_profile(day_totals)
    dates = pd.date_range(pd.Timestamp(window_start).normalize(), periods=ps.window_days, freq="D")
    frames = []
    for r in picked:
        series = Series(ps.block(np.array([r])), horizon[r : r + 1], profile, SmootherParameters())
        path = MODELS[method[r]](series)[0] / horizon[r]
        label = f"{merged['product_id'].iloc[r]}@{merged['location_id'].iloc[r]} ({method[r]})"
        final = np.full(ps.window_days, np.nan)
        final[-1] = float(forecast["forecast_mean"].iloc[r])
        frames.append(
            pd.DataFrame(
                {
                    "series": label,
                    "date": dates,
                    "actual": series.y[0],
                    "forecast": path[: ps.window_days],
                    "final": final,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ("series", "date", "actual", "forecast", "final")})
    return pd.concat(frames, ignore_index=True)
