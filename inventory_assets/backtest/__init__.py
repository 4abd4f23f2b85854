"""The backtest core (no Dagster, no I/O): replay replenishment policies over held-out weeks of sales.

Entry point: ``run_backtest(sales, inventory, costs, locations, receipts, BacktestParameters(...))``.
Layers: :mod:`simulate` (the day-by-day stock), :mod:`lead_times` (seeded lead-time draws),
:mod:`policies` (one signature, a registry by name), :mod:`run` (the rolling origin), :mod:`results`
(the tables). Conventions and formulas: ``docs/backtest.md``.
"""

from inventory_assets.backtest.errors import BacktestError, BacktestInputError, BacktestPolicyError
from inventory_assets.backtest.policies import DEFAULT_POLICIES, POLICIES, Orders, Policy, PolicyInput
from inventory_assets.backtest.results import RESULT_COLUMNS
from inventory_assets.backtest.run import BacktestParameters, BacktestResult, run_backtest

__all__ = [
    "DEFAULT_POLICIES",
    "POLICIES",
    "RESULT_COLUMNS",
    "BacktestError",
    "BacktestInputError",
    "BacktestParameters",
    "BacktestPolicyError",
    "BacktestResult",
    "Orders",
    "Policy",
    "PolicyInput",
    "run_backtest",
]
