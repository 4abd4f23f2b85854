"""The five sources of a backtest, read and validated as the source assets read them (no Dagster).

The console command and the ``policy_backtest`` asset share :func:`read_backtest_sources`: ``sales``
aggregated to daily demand in the cloud database over ``sales_days`` ending at the latest sale day
(the held-out weeks plus the feature window, ``backtest.sales_days_needed``), the four on-prem tables
whole, each validated with ``contract.validation.validate_source`` (the blocking ``<table>_valid``
checks of ``defs/sources``) plus the blocking cross-table check (every inventory row names a known
product and location). Any failure raises :class:`BacktestSourcesError` listing every failure of every
table: a backtest never runs on data the plan would refuse.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

from inventory_assets.contract.sales import SalesWindow
from inventory_assets.contract.validation import ValidationResult, unknown_references, validate_source
from inventory_assets.io import db, queries

__all__ = ["BacktestSources", "BacktestSourcesError", "ONPREM_SOURCES", "read_backtest_sources"]

ONPREM_SOURCES: tuple[str, ...] = ("inventory", "costs", "locations", "receipts")
"""The on-prem tables, in the order they are read."""

T = TypeVar("T")


class BacktestSourcesError(ValueError):
    """The sources failed validation (or could not be shaped): every failure, per table, in the message."""

    def __init__(self, results: list[ValidationResult], problems: list[str]) -> None:
        self.results = results
        self.problems = problems
        super().__init__(
            "the backtest's sources are not valid, nothing was simulated:\n" + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class BacktestSources:
    """The validated, coerced frames (``run_backtest``'s arguments) and the sales window read."""

    sales: pd.DataFrame
    inventory: pd.DataFrame
    costs: pd.DataFrame
    locations: pd.DataFrame
    receipts: pd.DataFrame
    window: SalesWindow

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "sales": self.sales,
            "inventory": self.inventory,
            "costs": self.costs,
            "locations": self.locations,
            "receipts": self.receipts,
        }


def _shape_failure(table: str, error: queries.SourceQueryError) -> str:
    if isinstance(error, queries.MissingColumnsError):
        return f"{table}: missing column(s) {', '.join(error.missing)}"
    return f"{table}: {error}"


def _read_table(engine: sa.Engine, *, spec: queries.SourceSpec, timeout: float | None) -> pd.DataFrame:
    return queries.read_table(engine, spec, timeout_seconds=timeout)


def read_backtest_sources(
    cloud: sa.Engine,
    onprem: sa.Engine,
    sales_days: int,
    *,
    timeout_seconds: float | None = None,
    retry_attempts: int = 4,
    sources: dict[str, queries.SourceSpec] | None = None,
    log: Callable[[str], object] | None = None,
) -> BacktestSources:
    """Read and validate the five sources; ``sales_days`` of sales ending at the latest sale day.

    ``sources`` may name another table or SELECT per source (``queries.SourceSpec``); by default the
    contract's tables. Transient database faults are retried (``db.retry``; a lasting or permanent one
    raises :class:`db.DatabaseError`, its URL masked); invalid data raises :class:`BacktestSourcesError`.
    """
    if sales_days < 1:
        raise ValueError(f"sales_days must be >= 1, got {sales_days}")
    specs = {name: queries.SourceSpec(table=name) for name in ("sales", *ONPREM_SOURCES)}
    specs.update(sources or {})
    say = log or (lambda _message: None)

    def read(engine: sa.Engine, what: str, fn: Callable[[sa.Engine], T]) -> T:
        say(f"reading {what} from {db.mask_url(engine.url)}")
        return db.retry(lambda: fn(engine), attempts=retry_attempts, what=f"reading {what}", url=engine.url)

    problems: list[str] = []
    results: dict[str, ValidationResult] = {}
    window: SalesWindow | None = None
    try:
        sales_read = read(
            cloud,
            f"sales ({sales_days} days)",
            lambda e: queries.read_sales(e, specs["sales"], sales_days, timeout_seconds=timeout_seconds),
        )
    except queries.SourceQueryError as error:
        problems.append(_shape_failure("sales", error))
    else:
        window = sales_read.window
        if window is None:
            problems.append("sales: the source holds no sales")
        else:
            results["sales"] = validate_source("sales", sales_read.frame, in_key_order=sales_read.rows.in_key_order)
    for table in ONPREM_SOURCES:
        try:
            frame = read(onprem, table, functools.partial(_read_table, spec=specs[table], timeout=timeout_seconds))
        except queries.SourceQueryError as error:
            problems.append(_shape_failure(table, error))
            continue
        results[table] = validate_source(table, frame)
    if all(t in results and results[t].passed for t in ("inventory", "costs", "locations")):
        inventory, costs, locations = (results[t].frame for t in ("inventory", "costs", "locations"))
        refs = pd.concat(
            [
                unknown_references(
                    "inventory",
                    inventory,
                    "product_id",
                    costs.get("product_id", pd.Series(dtype=str)),
                    check="unknown_product",
                ),
                unknown_references(
                    "inventory",
                    inventory,
                    "location_id",
                    locations.get("location_id", pd.Series(dtype=str)),
                    check="unknown_location",
                ),
            ],
            ignore_index=True,
        )
        if not refs.empty:
            problems.append(ValidationResult("inventory", inventory, refs).message())
    problems[:0] = [r.message() for r in results.values() if not r.passed]
    if problems or window is None:
        raise BacktestSourcesError(list(results.values()), problems)
    sales = results["sales"].frame
    sales.attrs["window_start"] = pd.Timestamp(window.start)
    sales.attrs["window_end"] = pd.Timestamp(window.end)
    return BacktestSources(
        sales=sales,
        inventory=results["inventory"].frame,
        costs=results["costs"].frame,
        locations=results["locations"].frame,
        receipts=results["receipts"].frame,
        window=window,
    )
