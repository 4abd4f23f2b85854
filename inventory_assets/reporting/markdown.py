"""Markdown tables for metadata and reports (pure pandas; shared by the core and the Dagster shell)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREVIEW_ROWS = 10


def markdown_table(frame: pd.DataFrame, rows: int = PREVIEW_ROWS, floatfmt: str = ".4g") -> str:
    """A markdown table of the first ``rows`` rows (no extra dependency: pandas' own renderer is not used)."""
    if frame.empty:
        return "_(no rows)_"
    head = frame.head(rows)
    columns = [str(c) for c in head.columns]

    def cell(value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, (float, np.floating)):
            return format(value, floatfmt)
        if isinstance(value, pd.Timestamp):
            return str(value.date()) if value == value.normalize() else str(value)
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)]
    if len(frame) > rows:
        lines.append(f"\n_{rows} of {len(frame):,} rows shown_")
    return "\n".join(lines)


def pareto_markdown(pareto: pd.DataFrame, a_cutoff: float, b_cutoff: float, width: int = 40) -> str:
    """The Pareto curve (``analytics.features.pareto_table``) as a markdown table with a text bar per point,
    and the ABC cut-offs."""
    bars = ["█" * int(round(width * v / 100.0)) for v in pareto["cumulative_value_pct"]]
    shown = pd.DataFrame(
        {
            "top % of products": [f"{p:g} %" for p in pareto["top_products_pct"]],
            "products": pareto["products"],
            "cumulative % of value": [f"{v:.1f} %" for v in pareto["cumulative_value_pct"]],
            "class": pareto["class_of_last"],
            "": bars,
        }
    )
    head = (
        f"Pareto of annual consumption value (A up to {a_cutoff:.0%}, B up to {b_cutoff:.0%} of cumulative value)\n\n"
    )
    return head + markdown_table(shown, rows=len(shown), floatfmt=",.2f")
