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
