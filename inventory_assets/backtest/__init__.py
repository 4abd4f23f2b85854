"""The backtest core (no Dagster, no I/O): replay replenishment policies over held-out weeks of sales.

Entry point: ``run_backtest(sales, inventory, costs, locations, receipts, BacktestParameters(...))``.
Layers: :mod:`simulate` (the day-by-day stock), :mod:`lead_times` (seeded lead-time draws),
:mod:`policies` (one signature, a registry by name), :mod:`run` (the rolling origin), :mod:`results`
(the tables), :mod:`settings` (the flat run-time knobs), :mod:`compare` (the policies side by side).
Conventions and formulas: ``docs/backtest.md``.
"""

from inventory_assets.backtest.compare import COMPARISON_COLUMNS, comparison, format_comparison
from inventory_assets.backtest.errors import BacktestError, BacktestInputError, BacktestPolicyError
from inventory_assets.backtest.policies import DEFAULT_POLICIES, POLICIES, Orders, Policy, PolicyInput
from inventory_assets.backtest.results import RESULT_COLUMNS
from inventory_assets.backtest.run import BacktestParameters, BacktestResult, run_backtest
from inventory_assets.backtest.settings import BacktestSettings, check_policies, sales_days_needed

__all__ = [
    "COMPARISON_COLUMNS",
    "DEFAULT_POLICIES",
    "POLICIES",
    "RESULT_COLUMNS",
    "BacktestError",
    "BacktestInputError",
    "BacktestParameters",
    "BacktestPolicyError",
    "BacktestResult",
    "BacktestSettings",
    "Orders",
    "Policy",
    "PolicyInput",
    "check_policies",
    "comparison",
    "format_comparison",
    "run_backtest",
    "sales_days_needed",
]
