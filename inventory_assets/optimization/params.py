"""Run-time parameters of the procurement plan (mirrored by the Dagster `PlanConfig`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from inventory_assets.contract.spec import ABC_CLASSES, MAX_WINDOW_DAYS

DEFAULT_BUDGET = 100_000.0
"""Procurement budget of one cycle in currency units (the second seed's $100,000)."""

OBJECTIVES: tuple[str, ...] = ("expected_cost", "target_gap")
"""What the plan minimises (docs/model.md, "Objective"): ``expected_cost`` prices expected lost sales,
leftover stock and expiry under each row's demand distribution; ``target_gap`` is the earlier
deterministic gap to the order-up-to level (kept so that the backtest can compare the two)."""


@dataclass(frozen=True)
class PlanParameters:
    """The knobs of one planning run; every field has a safe default.

    Each field states its default and its description (``metadata["doc"]``) once; the Dagster wiring
    derives ``PlanConfig`` from them (``defs/config.py``).
    """

    budget: float = field(
        default=DEFAULT_BUDGET,
        metadata={
            "doc": (
                "Most money the cycle may spend on supplier purchases, in currency units (transfers between "
                "locations are free). Default 100,000."
            )
        },
    )

    objective: str = field(
        default="expected_cost",
        metadata={
            "doc": (
                "What the plan minimises: 'expected_cost' (expected lost sales, leftover stock and expiry under "
                "each row's demand distribution, docs/model.md) or 'target_gap' (the earlier deterministic gap to "
                "the order-up-to level). Default 'expected_cost'."
            )
        },
    )

    critical_classes: tuple[str, ...] = field(
        default=("A",),
        metadata={
            "doc": (
                "ABC classes whose items must end the cycle at or above their safety stock; a hard constraint on the "
                "rows a plan can bring there (rows that cannot, for want of parent stock or capacity, are reported "
                "with reason critical_unreachable). Default ['A']."
            )
        },
    )

    review_period_days: float | None = field(
        default=None,
        metadata={
            "doc": (
                "Days the holding cost is charged for; null uses each row's review_days from the features (the "
                "period the order-up-to levels were computed for)."
            )
        },
    )

    time_limit_seconds: float = field(
        default=300.0,
        metadata={
            "doc": (
                "Wall-clock limit of the HiGHS solve in seconds; a feasible plan found by then is accepted and "
                "reported as such."
            )
        },
    )

    mip_rel_gap: float = field(
        default=1e-4,
        metadata={"doc": ("Relative MIP gap at which HiGHS stops (0.0001 = within 0.01% of optimal).")},
    )

    threads: int = field(
        default=0,
        metadata={
            "doc": (
                "Threads of HiGHS and of the expected-cost pricing of the rows (whose figures are the same for "
                "any number); 0: HiGHS chooses its own, the pricing takes one per CPU this process may use."
            )
        },
    )

    relax_integrality: bool = field(
        default=False,
        metadata={
            "doc": (
                "Solve the LP relaxation and round each order to its pack and MOQ with the documented rule instead "
                "of solving the exact MIP (faster, not exact)."
            )
        },
    )

    mip_max_rows: int | None = field(
        default=20_000,
        metadata={
            "doc": (
                "Largest plan, in (product, location) rows, solved as the exact MIP; a larger one is solved as the "
                "LP relaxation and rounded, as with relax_integrality (the exact MIP's time at these sizes is in "
                "docs/benchmarks.md). null: always the exact MIP. Default 20,000."
            )
        },
    )

    relaxed_gap_limit: float = field(
        default=0.005,
        metadata={
            "doc": (
                "Largest proven gap accepted from the rounded LP relaxation (rows above mip_max_rows, or "
                "relax_integrality): the rounded plan's cost above the relaxation's bound, as a share of it. Above "
                "it, or when the rounding cannot keep a hard rule, HiGHS solves the exact MIP from the rounded plan "
                "within time_limit_seconds. Default 0.005 (0.5 %)."
            )
        },
    )

    def relaxes(self, n_rows: int) -> bool:
        """Whether a plan of ``n_rows`` rows is solved as the rounded LP relaxation."""
        return self.relax_integrality or (self.mip_max_rows is not None and n_rows > self.mip_max_rows)

    def __post_init__(self) -> None:
        # Accept any iterable of class labels, store an immutable tuple.
        object.__setattr__(self, "critical_classes", tuple(str(c) for c in self.critical_classes))
        unknown = [c for c in self.critical_classes if c not in ABC_CLASSES]
        if unknown:
            raise ValueError(f"critical_classes must be among {list(ABC_CLASSES)}, got {unknown}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {self.objective!r}")
        if not (isinstance(self.budget, (int, float)) and math.isfinite(self.budget) and self.budget >= 0):
            raise ValueError(f"budget must be a finite number >= 0, got {self.budget!r}")
        if self.review_period_days is not None and not (
            math.isfinite(self.review_period_days) and 0 < self.review_period_days <= MAX_WINDOW_DAYS
        ):
            raise ValueError(
                f"review_period_days must be > 0 and at most {MAX_WINDOW_DAYS}, or None, "
                f"got {self.review_period_days!r}"
            )
        if not (math.isfinite(self.time_limit_seconds) and self.time_limit_seconds > 0):
            raise ValueError(f"time_limit_seconds must be > 0, got {self.time_limit_seconds!r}")
        if not (0 <= self.mip_rel_gap < 1):
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap!r}")
        if math.isnan(self.relaxed_gap_limit) or self.relaxed_gap_limit < 0:
            raise ValueError(f"relaxed_gap_limit must be >= 0, got {self.relaxed_gap_limit!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads!r}")
        if self.mip_max_rows is not None and self.mip_max_rows < 0:
            raise ValueError(f"mip_max_rows must be >= 0 or None, got {self.mip_max_rows!r}")


FIELD_DOCS: dict[str, str] = {f.name: f.metadata["doc"] for f in fields(PlanParameters)}
"""Each knob's description (the ``doc`` of its field), shown by the ``dg.Config`` made from these parameters."""

__all__ = ["DEFAULT_BUDGET", "FIELD_DOCS", "OBJECTIVES", "PlanParameters"]
