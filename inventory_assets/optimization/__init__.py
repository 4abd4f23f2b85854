"""The procurement-plan optimization core (no Dagster): data -> model -> guarded HiGHS solve -> plan.

Entry point: `plan_procurement(features, PlanParameters(...)) -> PlanResult(plan, summary)`.
The model is documented in docs/model.md.
"""

from inventory_assets.optimization.data import PlanData, build_plan_data
from inventory_assets.optimization.errors import (
    PlanDataError,
    PlanError,
    PlanInfeasibleError,
    PlanRoundingError,
    PlanSolveError,
)
from inventory_assets.optimization.extract import PLAN_COLUMNS, PlanSummary, extract_plan
from inventory_assets.optimization.model import build_model
from inventory_assets.optimization.params import DEFAULT_BUDGET, FIELD_DOCS, PlanParameters
from inventory_assets.optimization.plan import PlanResult, build_lp, plan_procurement
from inventory_assets.optimization.reasons import REASON_CODES

__all__ = [
    "DEFAULT_BUDGET",
    "FIELD_DOCS",
    "PLAN_COLUMNS",
    "REASON_CODES",
    "PlanData",
    "PlanDataError",
    "PlanError",
    "PlanInfeasibleError",
    "PlanParameters",
    "PlanResult",
    "PlanRoundingError",
    "PlanSolveError",
    "PlanSummary",
    "build_lp",
    "build_model",
    "build_plan_data",
    "extract_plan",
    "plan_procurement",
]
