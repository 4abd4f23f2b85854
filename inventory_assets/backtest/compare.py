"""The policies side by side: the totals of a backtest as a small comparison table (CLI and asset)."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["COMPARISON_COLUMNS", "comparison", "format_comparison"]

ALL = "all"

COMPARISON_COLUMNS: dict[str, str] = {
    "policy": "policy",
    "fill_rate": "fill rate",
    "cycle_service_level": "cycle service level",
    "lost_value": "lost value",
    "mean_on_hand_value": "mean inventory value",
    "waste_value": "waste value",
    "spend": "spend",
    "orders": "orders",
}
"""The comparison's columns (``backtest_results`` names) and their headings."""


def comparison(results: pd.DataFrame) -> pd.DataFrame:
    """One row per policy (in the order of ``results``): the totals (``abc_class == echelon == "all"``)."""
    totals = results[(results["abc_class"] == ALL) & (results["echelon"] == ALL)]
    return totals[list(COMPARISON_COLUMNS)].reset_index(drop=True)


def _cell(name: str, value: object) -> str:
    if name == "policy":
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return "-"
    if name in ("fill_rate", "cycle_service_level"):
        return f"{number:.3f}"
    return f"{number:,.0f}"


def format_comparison(table: pd.DataFrame) -> str:
    """``table`` (from :func:`comparison`) as aligned text: policy left, figures right."""
    names = list(COMPARISON_COLUMNS)
    rows = [[_cell(n, r[n]) for n in names] for r in table.to_dict("records")]
    heads = [COMPARISON_COLUMNS[n] for n in names]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(heads), line(["-" * w for w in widths]), *(line(r) for r in rows)])
