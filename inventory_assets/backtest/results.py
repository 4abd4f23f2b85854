"""Accounts of a backtest per pair, and the result tables per policy, ABC class and echelon.

Every figure is a sum over pairs of per-pair sums (so a total is the sum of its classes), except the
ratios, which are computed from the sums of their group (``docs/backtest.md`` gives each formula):

- ``fill_rate = served_units / demand_units`` (NaN without demand);
- ``cycle_service_level = 1 - stockout_cycles / demand_cycles``: share of pair-reviews with demand in
  which no day's demand went short (NaN without any such pair-review).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from inventory_assets.backtest.simulate import Simulation

__all__ = ["RESULT_COLUMNS", "PairAccounts", "summarize_results", "weekly_fill_rate"]

DAYS_PER_YEAR = 365.0

RESULT_COLUMNS = (
    "policy",
    "abc_class",
    "echelon",
    "pairs",
    "demand_units",
    "served_units",
    "lost_units",
    "lost_value",
    "stockout_cost",
    "fill_rate",
    "demand_cycles",
    "stockout_cycles",
    "cycle_service_level",
    "mean_on_hand_value",
    "holding_cost",
    "waste_units",
    "waste_value",
    "spend",
    "orders",
    "purchase_orders",
    "transfer_orders",
    "units_purchased",
    "units_transferred",
    "backlog_filled_units",
)


@dataclass(eq=False)
class PairAccounts:
    """Running per-pair sums of one policy's simulation (and per-day totals for the weekly figures)."""

    demand: np.ndarray
    served: np.ndarray
    short: np.ndarray
    expired: np.ndarray
    on_hand_days: np.ndarray
    """Sum over days of the end-of-day on hand (units x days)."""
    backlog_filled: np.ndarray
    purchase_orders: np.ndarray
    transfer_orders: np.ndarray
    units_purchased: np.ndarray
    units_transferred: np.ndarray
    spend: np.ndarray
    demand_cycles: np.ndarray
    stockout_cycles: np.ndarray
    demand_by_day: np.ndarray
    served_by_day: np.ndarray

    @classmethod
    def zeros(cls, n: int, n_days: int) -> PairAccounts:
        values = {f.name: np.zeros(n) for f in fields(cls)}
        values["demand_by_day"] = np.zeros(n_days)
        values["served_by_day"] = np.zeros(n_days)
        return cls(**values)

    def add_day(self, t: int, demand: np.ndarray, served: np.ndarray, short: np.ndarray, sim: Simulation) -> None:
        self.demand += demand
        self.served += served
        self.short += short
        self.expired += sim.expired_today
        self.on_hand_days += sim.on_hand
        self.backlog_filled += sim.backlog_filled_today
        self.demand_by_day[t] = float(demand.sum())
        self.served_by_day[t] = float(served.sum())

    def add_orders(self, rows: np.ndarray, quantity: np.ndarray, *, transfer: bool, unit_cost: np.ndarray) -> None:
        if transfer:
            self.transfer_orders[rows] += 1
            self.units_transferred[rows] += quantity
        else:
            self.purchase_orders[rows] += 1
            self.units_purchased[rows] += quantity
            self.spend[rows] += quantity * unit_cost[rows]

    def close_period(self, period_demand: np.ndarray, period_short: np.ndarray) -> None:
        """End of a review period: a pair with demand in it is a cycle; a stock-out cycle if any day went short."""
        cycle = period_demand > 0
        self.demand_cycles += cycle
        self.stockout_cycles += cycle & period_short


_SUMS = (
    "pairs",
    "demand_units",
    "served_units",
    "lost_units",
    "lost_value",
    "stockout_cost",
    "demand_cycles",
    "stockout_cycles",
    "mean_on_hand_value",
    "holding_cost",
    "waste_units",
    "waste_value",
    "spend",
    "orders",
    "purchase_orders",
    "transfer_orders",
    "units_purchased",
    "units_transferred",
    "backlog_filled_units",
)


def _per_pair(acc: PairAccounts, pairs: pd.DataFrame, costs: dict[str, np.ndarray], n_days: int) -> pd.DataFrame:
    unit = costs["unit_cost"]
    frame = pd.DataFrame(
        {
            "abc_class": pairs["abc_class"].to_numpy(dtype=str),
            "echelon": pairs["echelon"].astype(str).to_numpy(),
            "pairs": 1.0,
            "demand_units": acc.demand,
            "served_units": acc.served,
            "lost_units": acc.short,
            "lost_value": acc.short * unit,
            "stockout_cost": acc.short * costs["stockout_cost"],
            "demand_cycles": acc.demand_cycles,
            "stockout_cycles": acc.stockout_cycles,
            "mean_on_hand_value": acc.on_hand_days * unit / n_days,
            "holding_cost": acc.on_hand_days * unit * costs["holding_cost_rate"] / DAYS_PER_YEAR,
            "waste_units": acc.expired,
            "waste_value": acc.expired * costs["waste_cost"],
            "spend": acc.spend,
            "orders": acc.purchase_orders + acc.transfer_orders,
            "purchase_orders": acc.purchase_orders,
            "transfer_orders": acc.transfer_orders,
            "units_purchased": acc.units_purchased,
            "units_transferred": acc.units_transferred,
            "backlog_filled_units": acc.backlog_filled,
        }
    )
    return frame


def _groups(frame: pd.DataFrame) -> pd.DataFrame:
    sums = list(_SUMS)
    cells = frame.groupby(["abc_class", "echelon"], sort=True)[sums].sum().reset_index()
    by_class = frame.groupby("abc_class", sort=True)[sums].sum().reset_index().assign(echelon="all")
    by_echelon = frame.groupby("echelon", sort=True)[sums].sum().reset_index().assign(abc_class="all")
    total = frame[sums].sum().to_frame().T.assign(abc_class="all", echelon="all")
    return pd.concat([total, by_class, by_echelon, cells], ignore_index=True)


def summarize_results(
    accounts: dict[str, PairAccounts], pairs: pd.DataFrame, costs: dict[str, np.ndarray], n_days: int
) -> pd.DataFrame:
    """One row per policy x (abc_class | ``all``) x (echelon | ``all``): columns :data:`RESULT_COLUMNS`."""
    parts = []
    for name, acc in accounts.items():
        table = _groups(_per_pair(acc, pairs, costs, n_days))
        table.insert(0, "policy", name)
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        demand = out["demand_units"].to_numpy(dtype=float)
        cycles = out["demand_cycles"].to_numpy(dtype=float)
        out["fill_rate"] = np.where(demand > 0, out["served_units"].to_numpy(dtype=float) / demand, np.nan)
        out["cycle_service_level"] = np.where(
            cycles > 0, 1.0 - out["stockout_cycles"].to_numpy(dtype=float) / cycles, np.nan
        )
    for column in ("pairs", "demand_cycles", "stockout_cycles", "orders", "purchase_orders", "transfer_orders"):
        out[column] = out[column].astype(np.int64)
    out["echelon"] = out["echelon"].astype(str)
    return out.loc[:, list(RESULT_COLUMNS)]


def weekly_fill_rate(accounts: dict[str, PairAccounts], first_day: pd.Timestamp) -> pd.DataFrame:
    """Per policy and held-out week (days ``7(w-1) .. 7w-1``): demand, served, fill rate."""
    parts = []
    for name, acc in accounts.items():
        n_days = len(acc.demand_by_day)
        week = np.arange(n_days) // 7
        demand = np.bincount(week, acc.demand_by_day)
        served = np.bincount(week, acc.served_by_day)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(demand > 0, served / np.where(demand > 0, demand, 1.0), np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "policy": name,
                    "week": np.arange(1, len(demand) + 1),
                    "week_start": first_day + pd.to_timedelta(7 * np.arange(len(demand)), unit="D"),
                    "demand_units": demand,
                    "served_units": served,
                    "fill_rate": rate,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
