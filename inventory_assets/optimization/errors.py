"""Domain errors raised by the procurement-plan optimization core.

Every error is a :class:`PlanError`, so the Dagster wiring can turn the whole
family into a non-retried failure (`dg.Failure(allow_retries=False)`): none of
them goes away by running the same data again.
"""

from __future__ import annotations

from collections.abc import Sequence


class PlanError(Exception):
    """Base class of every error of the procurement-plan core."""


class PlanDataError(PlanError):
    """The features frame cannot be turned into a model (missing columns, bad values)."""


class PlanInfeasibleError(PlanError):
    """No plan satisfies the hard constraints.

    Attributes:
        family: the constraint family at fault (``budget``, ``transfer_limit``,
            ``capacity``, ``critical_minimum``, ``replenishment`` or, from HiGHS's
            irreducible infeasible subset, any row/column family of the model).
        product_ids: the products involved (may be truncated to the first few dozen).
        money_needed: for ``family == "budget"``: what the critical safety stocks cost.
        money_available: for ``family == "budget"``: the budget.
    """

    def __init__(
        self,
        message: str,
        *,
        family: str,
        product_ids: Sequence[str] = (),
        money_needed: float | None = None,
        money_available: float | None = None,
    ) -> None:
        super().__init__(message)
        self.family = family
        self.product_ids = tuple(product_ids)
        self.money_needed = money_needed
        self.money_available = money_available


class PlanSolveError(PlanError):
    """HiGHS stopped without a usable solution (error, unbounded, limit without a feasible point)."""


class PlanRoundingError(PlanError):
    """The LP-relaxation rounding rule could not restore every hard constraint."""
