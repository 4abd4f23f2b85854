"""The run-time knobs of a backtest as one flat dataclass (what the CLI and the ``dg.Config`` set).

``BacktestParameters`` nests ``FeatureParameters`` and ``PlanParameters`` and carries free ``options``;
a run-time config needs flat fields. :class:`BacktestSettings` holds the knobs a planner sets (the policies,
the held-out weeks, the budget, the seed, ...) with the defaults of ``BacktestParameters`` and
``PlanParameters`` (never restated), :data:`FIELD_DOCS` their descriptions, and
:meth:`BacktestSettings.parameters` builds the core's parameters (whose own checks run).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from inventory_assets.backtest.errors import BacktestInputError
from inventory_assets.backtest.policies import DEFAULT_POLICIES, POLICIES
from inventory_assets.backtest.run import DEFAULT_HISTORY_DAYS, BacktestParameters
from inventory_assets.optimization.params import PlanParameters

__all__ = ["FIELD_DOCS", "BacktestSettings", "check_policies", "sales_days_needed"]

_BT = BacktestParameters()
_PLAN = PlanParameters()


def check_policies(policies: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``policies`` as a tuple if they are distinct known names; else :class:`BacktestInputError`."""
    names = tuple(str(p).strip() for p in policies)
    unknown = [p for p in names if p not in POLICIES]
    if not names or unknown or len(set(names)) != len(names):
        problem = f"unknown {unknown}" if unknown else ("none given" if not names else "a name is repeated")
        raise BacktestInputError(
            f"policies must be distinct names among {', '.join(sorted(POLICIES))}: {problem} (got {list(names)})"
        )
    return names


@dataclass(frozen=True)
class BacktestSettings:
    """The knobs of one backtest run from the CLI or the asset (defaults: ``BacktestParameters``)."""

    policies: tuple[str, ...] = DEFAULT_POLICIES
    weeks: int = _BT.weeks
    review_days: int = _BT.review_days
    history_days: int | None = _BT.history_days
    min_history_days: int = _BT.min_history_days
    budget: float = _BT.budget
    seed: int = _BT.seed
    backorders: bool = _BT.backorders
    min_receipts: int = _BT.min_receipts
    default_lead_time_days: float = _BT.default_lead_time_days
    default_lead_time_std_days: float = _BT.default_lead_time_std_days
    transfer_lead_time_days: float | None = _BT.transfer_lead_time_days
    critical_classes: tuple[str, ...] = _PLAN.critical_classes
    plan_time_limit_seconds: float = _PLAN.time_limit_seconds
    plan_relax_integrality: bool = _PLAN.relax_integrality
    forecast_method: str = _BT.forecast.forecast_method

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", check_policies(self.policies))
        object.__setattr__(self, "critical_classes", tuple(str(c) for c in self.critical_classes))
        self.parameters()  # the core's checks, before anything is read

    def parameters(self) -> BacktestParameters:
        """The core's parameters (``BacktestParameters.__post_init__`` checks them)."""
        try:
            plan = replace(
                _PLAN,
                critical_classes=self.critical_classes,
                time_limit_seconds=self.plan_time_limit_seconds,
                relax_integrality=self.plan_relax_integrality,
            )
        except ValueError as error:
            raise BacktestInputError(f"plan settings: {error}") from None
        try:
            forecast = replace(_BT.forecast, forecast_method=self.forecast_method)
        except ValueError as error:
            raise BacktestInputError(f"forecast settings: {error}") from None
        return BacktestParameters(
            weeks=self.weeks,
            review_days=self.review_days,
            history_days=self.history_days,
            min_history_days=self.min_history_days,
            budget=float(self.budget),
            seed=self.seed,
            backorders=self.backorders,
            min_receipts=self.min_receipts,
            default_lead_time_days=self.default_lead_time_days,
            default_lead_time_std_days=self.default_lead_time_std_days,
            transfer_lead_time_days=self.transfer_lead_time_days,
            plan=plan,
            forecast=forecast,
        )


def sales_days_needed(params: BacktestParameters) -> int:
    """Days of sales to read, ending at the latest sale day: the held-out weeks plus the feature window
    (``history_days``, or the default 90 days when None; a shorter history is clipped to the data and
    ``run_backtest`` then takes what there is)."""
    history = params.history_days if params.history_days is not None else DEFAULT_HISTORY_DAYS
    return params.held_out_days + history


FIELD_DOCS: dict[str, str] = {
    "policies": f"Policies replayed side by side on the same demand, among {', '.join(sorted(POLICIES))} "
    "(docs/backtest.md, 'Policies').",
    "weeks": "Held-out weeks: the last 7 x weeks days of sales are replayed. Default 8.",
    "review_days": "Days between reviews; also the features' review period R. Default 7.",
    "history_days": "Days of sales the features see at each review (a window that rolls with the review); "
    "null: min(90, days of data before the first held-out day).",
    "min_history_days": "Shortest feature window accepted; a shorter one is refused. Default 14.",
    "budget": "Money for supplier purchases at each review, for `plan` and `risk_ranked` (currency units). "
    "Default 100,000.",
    "seed": "Seed of every lead-time draw: the same seed gives the same numbers.",
    "backorders": "False: demand not served on its day is lost; true: it is backordered and served first when "
    "stock arrives.",
    "min_receipts": "Receipts a (product, location) needs for its own lead-time statistics (and draws); fewer "
    "fall back to the product, location or default level, as in the features.",
    "default_lead_time_days": "Lead time (days) where no receipts exist at any level.",
    "default_lead_time_std_days": "Standard deviation (days) of the default lead time.",
    "transfer_lead_time_days": "null: a transfer's lead time is drawn from the receiving pair's receipts; a "
    "number: every transfer takes that many days.",
    "critical_classes": "ABC classes the `plan` policy must keep at or above safety stock (hard constraint; "
    "relaxed at a review where it is infeasible, and counted). Default ['A'].",
    "plan_time_limit_seconds": "Time limit of each `plan` solve (HiGHS), seconds.",
    "plan_relax_integrality": "Solve each `plan` review as the rounded LP relaxation instead of the exact MIP "
    "(faster, not exact).",
    "forecast_method": "The demand forecast at each review: auto (the model chosen per series, docs/forecast.md) "
    "or window_mean (the window's mean and standard deviation). Default auto.",
}
assert set(FIELD_DOCS) == {f.name for f in fields(BacktestSettings)}, "every field needs a description"
