"""The rolling-origin backtest: replay each policy over the held-out weeks of real sales.

    result = run_backtest(sales, inventory, costs, locations, receipts, BacktestParameters(budget=50_000))
    result.results   # per policy x ABC class x echelon (and "all"): the figures of docs/backtest.md
    result.weekly    # weekly fill rate per policy
    result.run       # one record of the run (parameters, windows, counts)

The last ``7 x weeks`` days of the data window are held out. At each review day (every ``review_days``
from the first held-out day) the features are recomputed with ``merge_dataset`` + ``forecast_demand`` +
``compute_features`` from the ``history_days`` of sales ending the day before (and the receipts received
before it), with each policy's simulated stock as the position; the policy orders; the days up to the next review are
simulated (:mod:`inventory_assets.backtest.simulate`). All policies see the same demand and the same
lead-time draws. Conventions and formulas: ``docs/backtest.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.analytics.demand import day_offsets
from inventory_assets.analytics.features import FeatureParameters, compute_features
from inventory_assets.analytics.merge import merge_dataset
from inventory_assets.backtest.errors import BacktestInputError, BacktestPolicyError
from inventory_assets.backtest.lead_times import LeadTimeSampler, build_lead_time_sampler
from inventory_assets.backtest.policies import DEFAULT_POLICIES, POLICIES, Orders, Policy, PolicyInput
from inventory_assets.backtest.results import PairAccounts, summarize_results, weekly_fill_rate
from inventory_assets.backtest.simulate import DailyRecord, Simulation, shelf_days
from inventory_assets.contract import spec
from inventory_assets.forecast.core import ForecastParameters, forecast_demand
from inventory_assets.optimization.params import DEFAULT_BUDGET, PlanParameters

__all__ = ["BacktestParameters", "BacktestResult", "run_backtest", "DEFAULT_HISTORY_DAYS"]

DEFAULT_HISTORY_DAYS = 90
"""Feature window when ``history_days`` is None and the data has that much before the first origin
(the production default of the sales source)."""

_QTY_TOL = 1e-6


@dataclass(frozen=True)
class BacktestParameters:
    """Knobs of one backtest (flat where they map onto a ``dg.Config``)."""

    weeks: int = 8
    """Held-out weeks: the last ``7 x weeks`` days of the data window."""
    review_days: int = 7
    """Days between reviews; also the features' review period R."""
    history_days: int | None = None
    """Feature window (days of sales ending the day before each review). None: ``min(90, days of data
    before the first held-out day)``."""
    min_history_days: int = 14
    """Shortest feature window accepted."""
    budget: float = DEFAULT_BUDGET
    """Money for purchases at each review (``plan`` and ``risk_ranked``)."""
    seed: int = 0
    """Seed of the lead-time draws."""
    backorders: bool = False
    """False: unmet demand is lost; True: it is backordered and served first when stock arrives."""
    min_receipts: int = 3
    default_lead_time_days: float = 7.0
    default_lead_time_std_days: float = 2.0
    transfer_lead_time_days: float | None = None
    """None: a transfer's lead time is drawn from the receiving pair's receipts like a purchase's; a number:
    every transfer takes that many days (rounded)."""
    features: FeatureParameters = field(default_factory=FeatureParameters)
    """Feature knobs; ``review_days`` is replaced by :attr:`review_days`."""
    forecast: ForecastParameters = field(default_factory=ForecastParameters)
    """Forecast knobs (``forecast_method``: ``auto`` or ``window_mean``); ``review_days`` is replaced by
    :attr:`review_days`."""
    plan: PlanParameters = field(default_factory=PlanParameters)
    """The plan as configured; ``budget`` is replaced by :attr:`budget`."""
    options: dict[str, Any] = field(default_factory=dict)
    """Passed to every policy as ``PolicyInput.options``."""

    def __post_init__(self) -> None:
        if not 1 <= self.weeks <= spec.MAX_WINDOW_DAYS // 7:
            raise BacktestInputError(f"weeks must be between 1 and {spec.MAX_WINDOW_DAYS // 7}, got {self.weeks}")
        if not 1 <= self.review_days <= spec.MAX_WINDOW_DAYS:
            raise BacktestInputError(
                f"review_days must be between 1 and {spec.MAX_WINDOW_DAYS}, got {self.review_days}"
            )
        if self.min_history_days < 2:
            raise BacktestInputError("min_history_days must be >= 2 (a daily standard deviation needs two days)")
        if self.history_days is not None and self.history_days > spec.MAX_WINDOW_DAYS:
            raise BacktestInputError(f"history_days must be at most {spec.MAX_WINDOW_DAYS}, got {self.history_days}")
        if self.history_days is not None and self.history_days < self.min_history_days:
            raise BacktestInputError(
                f"history_days={self.history_days} is too short for the features (at least {self.min_history_days})"
            )
        if not (np.isfinite(self.budget) and self.budget >= 0):
            raise BacktestInputError(f"budget must be finite and >= 0, got {self.budget}")
        if self.transfer_lead_time_days is not None and not 0 <= self.transfer_lead_time_days <= spec.MAX_WINDOW_DAYS:
            raise BacktestInputError(
                "transfer_lead_time_days must be between 0 and "
                f"{spec.MAX_WINDOW_DAYS}, got {self.transfer_lead_time_days}"
            )

    @property
    def held_out_days(self) -> int:
        return 7 * self.weeks


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything one backtest produced (pure data; the wiring writes ``run`` and ``results``)."""

    run: dict[str, Any]
    results: pd.DataFrame
    weekly: pd.DataFrame
    orders: pd.DataFrame
    """One row per order placed: policy, review date, product, location, kind, quantity, value, lead
    days, arrival date."""
    pairs: pd.DataFrame
    """The simulated pairs in row order: product_id, location_id, abc_class (first review), echelon."""
    daily: dict[str, DailyRecord] | None = None
    """Per policy, the per-day per-pair flows (``record_daily=True`` only)."""


@dataclass(frozen=True, eq=False)
class _Setup:
    first: pd.Timestamp
    last: pd.Timestamp
    data_start: pd.Timestamp
    history_days: int
    reviews: list[int]
    sales: pd.DataFrame


def _day(value: Any, name: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise BacktestInputError(f"{name} is missing")
    return ts.normalize()


def _setup(sales: pd.DataFrame, params: BacktestParameters, window_start: Any, window_end: Any) -> _Setup:
    if len(sales) == 0 and (window_start is None or window_end is None):
        raise BacktestInputError("no sales at all: nothing to hold out")
    dates = pd.to_datetime(sales["sale_date"]) if len(sales) else pd.Series([], dtype="datetime64[ns]")
    start = _day(window_start if window_start is not None else sales.attrs.get("window_start", dates.min()), "start")
    end = _day(window_end if window_end is not None else sales.attrs.get("window_end", dates.max()), "end")
    held = params.held_out_days
    if held < params.review_days:
        raise BacktestInputError(f"{held} held-out days are fewer than one review period ({params.review_days} days)")
    first = end - pd.Timedelta(days=held - 1)
    available = int((first - start).days)
    history = params.history_days if params.history_days is not None else min(DEFAULT_HISTORY_DAYS, available)
    if history > available or history < params.min_history_days:
        raise BacktestInputError(
            f"the feature window is too short: {available} day(s) of data before the first held-out day "
            f"{first.date()} (data {start.date()}..{end.date()}, {held} held-out days); the features need "
            f"{max(history, params.min_history_days)} (history_days={params.history_days}, "
            f"min_history_days={params.min_history_days})"
        )
    day = dates.dt.normalize()
    held_mask = ((day >= first) & (day <= end)).to_numpy()
    if not (sales["quantity"].to_numpy(dtype=float)[held_mask] > 0).any():
        raise BacktestInputError(f"no sales in the held-out period {first.date()}..{end.date()}")
    keep = ((day >= first - pd.Timedelta(days=history)) & (day <= end)).to_numpy()
    used = sales.loc[keep, ["sale_date", "product_id", "location_id", "quantity"]].reset_index(drop=True)
    return _Setup(
        first=first,
        last=end,
        data_start=start,
        history_days=history,
        reviews=list(range(0, held, params.review_days)),
        sales=used,
    )


def _pair_codes(
    product: np.ndarray, location: np.ndarray, pair_product: np.ndarray, pair_location: np.ndarray
) -> np.ndarray:
    """Row of each (product, location) among the pairs, -1 when not a pair."""
    key = pd.MultiIndex.from_arrays([pair_product.astype(str), pair_location.astype(str)])
    return np.asarray(key.get_indexer(pd.MultiIndex.from_arrays([product.astype(str), location.astype(str)])))


def _daily_matrix(sales: pd.DataFrame, rows: np.ndarray, first: pd.Timestamp, n_days: int, n: int) -> np.ndarray:
    """Units sold per (day, pair) from day ``first`` for ``n_days`` days (unstocked pairs dropped)."""
    offset = day_offsets(sales["sale_date"], first) if len(sales) else np.array([], dtype=np.int64)
    ok = (rows >= 0) & (offset >= 0) & (offset < n_days)
    out = np.zeros((n_days, n))
    np.add.at(out, (offset[ok], rows[ok]), sales["quantity"].to_numpy(dtype=float)[ok])
    return out


@dataclass(eq=False)
class _PolicyRun:
    name: str
    policy: Policy
    sim: Simulation
    acc: PairAccounts
    period_demand: np.ndarray
    period_short: np.ndarray
    period_served: np.ndarray
    orders: list[pd.DataFrame] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)


class _Backtest:
    """The state of one run (kept in one place so each step is a small method)."""

    def __init__(self, sources: dict[str, pd.DataFrame], params: BacktestParameters, setup: _Setup) -> None:
        self.src, self.params, self.setup = sources, params, setup
        self.fparams = replace(params.features, review_days=float(params.review_days))
        self.forecast_params = replace(params.forecast, review_days=float(params.review_days))
        self.n_days = params.held_out_days
        merged0 = self.merged(0)
        self.merged0 = merged0
        self.n = len(merged0)
        if self.n == 0:
            raise BacktestInputError("`inventory` is empty: no pair to simulate")
        self.product = merged0["product_id"].to_numpy(dtype=str)
        self.location = merged0["location_id"].to_numpy(dtype=str)
        parent_loc = merged0["parent_location_id"].astype(object).where(merged0["parent_location_id"].notna(), None)
        has_parent = parent_loc.notna().to_numpy()
        self.parent_row = np.full(self.n, -1, dtype=np.int64)
        self.parent_row[has_parent] = _pair_codes(
            self.product[has_parent], parent_loc[has_parent].to_numpy(dtype=str), self.product, self.location
        )
        self.unit_cost = merged0["unit_cost"].to_numpy(dtype=float)
        self.shelf = shelf_days(merged0["shelf_life_days"].to_numpy(dtype=float))
        s = setup.sales
        self.sale_rows = _pair_codes(
            s["product_id"].to_numpy(), s["location_id"].to_numpy(), self.product, self.location
        )
        self.demand = _daily_matrix(s, self.sale_rows, setup.first, self.n_days, self.n)
        if not (self.demand > 0).any():
            raise BacktestInputError(
                f"no sales of stocked pairs in the held-out period {setup.first.date()}..{setup.last.date()}"
            )
        self.sampler: LeadTimeSampler = build_lead_time_sampler(
            sources["receipts"],
            self.product,
            self.location,
            sources["locations"],
            min_receipts=params.min_receipts,
            default_mean_days=params.default_lead_time_days,
            default_std_days=params.default_lead_time_std_days,
        )

    def window(self, review_day: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        day = self.setup.first + pd.Timedelta(days=review_day)
        return day - pd.Timedelta(days=self.setup.history_days), day - pd.Timedelta(days=1)

    def merged(self, review_day: int) -> pd.DataFrame:
        start, end = self.window(review_day)
        receipts = self.src["receipts"]
        known = (pd.to_datetime(receipts["received_at"]) <= end).to_numpy() if len(receipts) else []
        merged, _ = merge_dataset(
            self.setup.sales,
            self.src["inventory"],
            self.src["costs"],
            self.src["locations"],
            receipts.loc[known].reset_index(drop=True) if len(receipts) else receipts,
            window_start=start,
            window_end=end,
            min_receipts=self.params.min_receipts,
            default_lead_time_days=self.params.default_lead_time_days,
            default_lead_time_std_days=self.params.default_lead_time_std_days,
        )
        return merged

    def sold_before_first(self) -> np.ndarray:
        """Recorded sales per pair in the ``review_days`` before the first held-out day."""
        s = self.setup.sales
        offset = day_offsets(s["sale_date"], self.setup.first)
        ok = (self.sale_rows >= 0) & (offset < 0) & (offset >= -self.params.review_days)
        return np.bincount(self.sale_rows[ok], s["quantity"].to_numpy(dtype=float)[ok], minlength=self.n)

    def start(self, name: str, policy: Policy, record: bool) -> _PolicyRun:
        sim = Simulation(
            self.merged0["on_hand"].to_numpy(dtype=float),
            self.shelf,
            self.n_days,
            backorders=self.params.backorders,
            record=record,
        )
        on_order = self.merged0["on_order"].to_numpy(dtype=float)
        rows = np.flatnonzero(on_order > 0)
        if len(rows):  # the same draws for every policy
            rng = np.random.default_rng([self.params.seed, 0])
            u_lead, u_left = rng.random(self.n), rng.random(self.n)
            lead = self.sampler.draw(rows, u_lead[rows])
            arrival = np.floor(u_left[rows] * np.maximum(lead, 1)).astype(np.int64)
            sim.preload(rows, on_order[rows], arrival)
        zeros = np.zeros(self.n)
        return _PolicyRun(name, policy, sim, PairAccounts.zeros(self.n, self.n_days), zeros.copy(), zeros > 0, zeros)

    def forecast(self, review_day: int, merged: pd.DataFrame) -> pd.DataFrame:
        """The demand forecast at a review, from the same window of sales as the merge."""
        start, end = self.window(review_day)
        frame, _ = forecast_demand(
            self.setup.sales, merged, window_start=start, window_end=end, params=self.forecast_params
        )
        return frame

    def features_for(self, merged: pd.DataFrame, forecast: pd.DataFrame, run: _PolicyRun) -> pd.DataFrame:
        frame = merged.copy()
        frame["on_hand"] = run.sim.on_hand
        frame["on_order"] = np.maximum(run.sim.on_order - run.sim.backlog, 0.0)
        return compute_features(frame, self.fparams, forecast)

    def review(
        self, r: int, t: int, merged: pd.DataFrame, forecast: pd.DataFrame, run: _PolicyRun, sold: np.ndarray
    ) -> None:
        features = self.features_for(merged, forecast, run)
        day = self.setup.first + pd.Timedelta(days=t)
        inp = PolicyInput(
            features=features,
            day=day,
            review=r,
            parent_row=self.parent_row,
            sold_last_period=sold,
            budget=float(self.params.budget),
            plan_parameters=self.params.plan,
            options=self.params.options,
        )
        orders = run.policy(inp)
        qty, transfer = self.check_orders(run, orders)
        run.infos.append(dict(orders.info))
        u = np.random.default_rng([self.params.seed, 1, r]).random(self.n)
        self.execute(run, qty, transfer, u, day)

    def check_orders(self, run: _PolicyRun, orders: Orders) -> tuple[np.ndarray, np.ndarray]:
        qty = np.asarray(orders.quantity, dtype=float)
        transfer = np.asarray(orders.transfer, dtype=bool)
        if qty.shape != (self.n,) or transfer.shape != (self.n,):
            raise BacktestPolicyError(f"{run.name}: orders must have one entry per pair ({self.n})")
        if not np.isfinite(qty).all() or (qty < 0).any():
            raise BacktestPolicyError(f"{run.name}: order quantities must be finite and >= 0")
        qty = np.where(qty > _QTY_TOL, qty, 0.0)
        orphan = transfer & (qty > 0) & (self.parent_row < 0)
        if orphan.any():
            raise BacktestPolicyError(f"{run.name}: {int(orphan.sum())} transfer(s) to rows without a parent row")
        t_rows = np.flatnonzero(transfer & (qty > 0))
        out = np.bincount(self.parent_row[t_rows], qty[t_rows], minlength=self.n)
        over = out > run.sim.on_hand + _QTY_TOL * np.maximum(1.0, run.sim.on_hand)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise BacktestPolicyError(
                f"{run.name}: transfers from {self.product[i]}@{self.location[i]} ({out[i]:g}) exceed its on hand "
                f"({run.sim.on_hand[i]:g}); {int(over.sum())} parent row(s) over"
            )
        return qty, transfer

    def lead_days(self, rows: np.ndarray, transfer: bool, u: np.ndarray) -> np.ndarray:
        fixed = self.params.transfer_lead_time_days
        if transfer and fixed is not None:
            return np.full(len(rows), int(round(fixed)), dtype=np.int64)
        return self.sampler.draw(rows, u[rows])

    def execute(self, run: _PolicyRun, qty: np.ndarray, transfer: np.ndarray, u: np.ndarray, day: pd.Timestamp) -> None:
        sim, acc = run.sim, run.acc
        t_rows = np.flatnonzero(transfer & (qty > 0))
        p_rows = np.flatnonzero(~transfer & (qty > 0))
        logs = []
        if len(t_rows):
            parents = self.parent_row[t_rows]
            out = np.bincount(parents, qty[t_rows], minlength=self.n)
            givers = np.flatnonzero(out > 0)
            origin_sum = np.zeros(self.n)
            origin_sum[givers] = sim.transfer_out(givers, out[givers])
            mean_origin = origin_sum[parents] / out[parents]
            lead = self.lead_days(t_rows, True, u)
            arrival = sim.schedule(t_rows, qty[t_rows], lead, qty[t_rows] * mean_origin)
            acc.add_orders(t_rows, qty[t_rows], transfer=True, unit_cost=self.unit_cost)
            logs.append((t_rows, "transfer", lead, arrival))
        if len(p_rows):
            lead = self.lead_days(p_rows, False, u)
            arrival = sim.schedule(p_rows, qty[p_rows], lead)
            acc.add_orders(p_rows, qty[p_rows], transfer=False, unit_cost=self.unit_cost)
            logs.append((p_rows, "purchase", lead, arrival))
        for rows, kind, lead, arrival in logs:
            run.orders.append(
                pd.DataFrame(
                    {
                        "policy": run.name,
                        "review_date": day,
                        "product_id": self.product[rows],
                        "location_id": self.location[rows],
                        "kind": kind,
                        "quantity": qty[rows],
                        "value": np.where(kind == "purchase", qty[rows] * self.unit_cost[rows], 0.0),
                        "lead_days": lead,
                        "arrival_date": self.setup.first + pd.to_timedelta(arrival, unit="D"),
                    }
                )
            )

    def close_period(self, run: _PolicyRun) -> None:
        run.acc.close_period(run.period_demand, run.period_short)
        run.period_demand[:] = 0.0
        run.period_short[:] = False
        run.period_served[:] = 0.0


def run_backtest(
    sales: pd.DataFrame,
    inventory: pd.DataFrame,
    costs: pd.DataFrame,
    locations: pd.DataFrame,
    receipts: pd.DataFrame,
    params: BacktestParameters | None = None,
    *,
    policies: tuple[str, ...] | list[str] = DEFAULT_POLICIES,
    registry: dict[str, Policy] | None = None,
    window_start: Any = None,
    window_end: Any = None,
    record_daily: bool = False,
) -> BacktestResult:
    """Replay ``policies`` (names in ``registry``, default :data:`POLICIES`) over the held-out weeks.

    ``sales``: the daily frame (``sale_date``, ``product_id``, ``location_id``, ``quantity``); the data
    window is ``[window_start, window_end]`` (default ``sales.attrs``, else the first and last sale day).
    The other frames are the validated sources as ``merge_dataset`` takes them.

    Raises :class:`BacktestInputError` (a ``ValueError``) before simulating anything when the held-out
    period is shorter than one review, the feature window is too short, or the held-out period has no
    sales; the merge's own errors (missing costs, unknown locations, a network cycle) propagate.
    """
    params = params or BacktestParameters()
    registry = POLICIES if registry is None else registry
    names = list(policies)
    unknown = [p for p in names if p not in registry]
    if unknown or not names or len(set(names)) != len(names):
        raise BacktestInputError(f"policies must be distinct names among {sorted(registry)}; got {names}")
    setup = _setup(sales, params, window_start, window_end)
    sources = {"inventory": inventory, "costs": costs, "locations": locations, "receipts": receipts}
    bt = _Backtest(sources, params, setup)
    runs = [bt.start(name, registry[name], record_daily) for name in names]
    reviews = set(setup.reviews)
    first_sold = bt.sold_before_first()
    abc = None
    for t in range(bt.n_days):
        for run in runs:
            run.sim.begin_day(t)
        if t in reviews:
            r = setup.reviews.index(t)
            merged = bt.merged0 if r == 0 else bt.merged(t)
            forecast = bt.forecast(t, merged)
            for run in runs:
                sold = first_sold if r == 0 else run.period_served.copy()
                if r > 0:
                    bt.close_period(run)
                bt.review(r, t, merged, forecast, run, sold)
            if abc is None:
                abc = bt.features_for(merged, forecast, runs[0])["abc_class"].to_numpy(dtype=str)
        for run in runs:
            served, short = run.sim.sell(bt.demand[t])
            run.period_demand += bt.demand[t]
            run.period_short |= short > _QTY_TOL
            run.period_served += served
            run.acc.add_day(t, bt.demand[t], served, short, run.sim)
    for run in runs:
        bt.close_period(run)
    return _result(bt, runs, abc if abc is not None else np.full(bt.n, "C"), record_daily)


def _result(bt: _Backtest, runs: list[_PolicyRun], abc: np.ndarray, record_daily: bool) -> BacktestResult:
    m0 = bt.merged0
    pairs = pd.DataFrame(
        {
            "product_id": bt.product,
            "location_id": bt.location,
            "abc_class": abc,
            "echelon": m0["echelon"].to_numpy(dtype=np.int64),
        }
    )
    costs = {c: m0[c].to_numpy(dtype=float) for c in ("unit_cost", "holding_cost_rate", "stockout_cost", "waste_cost")}
    results = summarize_results({r.name: r.acc for r in runs}, pairs, costs, bt.n_days)
    weekly = weekly_fill_rate({r.name: r.acc for r in runs}, bt.setup.first)
    order_frames = [f for r in runs for f in r.orders]
    orders = pd.concat(order_frames, ignore_index=True) if order_frames else _empty_orders()
    p, s = bt.params, bt.setup
    run_record: dict[str, Any] = {
        "weeks": p.weeks,
        "review_days": p.review_days,
        "policies": [r.name for r in runs],
        "budget": float(p.budget),
        "seed": int(p.seed),
        "backorders": bool(p.backorders),
        "data_start": s.data_start.date().isoformat(),
        "data_end": s.last.date().isoformat(),
        "held_out_start": s.first.date().isoformat(),
        "held_out_end": s.last.date().isoformat(),
        "history_days": s.history_days,
        "review_dates": [(s.first + pd.Timedelta(days=t)).date().isoformat() for t in s.reviews],
        "pairs": bt.n,
        "held_out_demand_units": float(bt.demand.sum()),
        "unstocked_held_out_units": float(
            bt.setup.sales["quantity"]
            .to_numpy(dtype=float)[(bt.sale_rows < 0) & (day_offsets(bt.setup.sales["sale_date"], s.first) >= 0)]
            .sum()
        ),
        "lead_time_levels": {str(k): int(v) for k, v in pd.Series(bt.sampler.level).value_counts().items()},
        "plan_critical_relaxed_reviews": {
            r.name: int(sum(bool(i.get("critical_relaxed", False)) for i in r.infos)) for r in runs
        },
    }
    daily = {r.name: r.sim.record for r in runs if r.sim.record is not None} if record_daily else None
    return BacktestResult(run=run_record, results=results, weekly=weekly, orders=orders, pairs=pairs, daily=daily)


def _empty_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "policy": pd.Series(dtype=str),
            "review_date": pd.Series(dtype="datetime64[ns]"),
            "product_id": pd.Series(dtype=str),
            "location_id": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            "quantity": pd.Series(dtype=float),
            "value": pd.Series(dtype=float),
            "lead_days": pd.Series(dtype=np.int64),
            "arrival_date": pd.Series(dtype="datetime64[ns]"),
        }
    )
