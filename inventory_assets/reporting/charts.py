"""PNG charts for people (matplotlib, Agg backend: no display, no pyplot state, safe in any process).

* :func:`fill_rate_vs_inventory_png`: fill rate against mean on-hand inventory value, one labelled
  point per policy (the backtest's trade-off: service bought with stock);
* :func:`weekly_fill_rate_png`: the weekly fill rate of each policy, one line each.

Each returns the PNG's bytes; the frames are ``backtest_results`` totals and ``backtest_weekly`` rows
(docs/backtest.md), so the charts can be drawn from a stored backtest as well as from a fresh one.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

__all__ = ["PNG_MAGIC", "fill_rate_vs_inventory_png", "weekly_fill_rate_png"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
"""The first eight bytes of every PNG file."""

_SIZE = (6.4, 4.0)
_DPI = 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _money(value: float, _position: object = None) -> str:
    return f"{value:,.0f}"


def fill_rate_vs_inventory_png(totals: pd.DataFrame, *, title: str = "Fill rate against inventory") -> bytes:
    """A scatter of ``fill_rate`` (y) against ``mean_on_hand_value`` (x), one labelled point per ``policy``.

    ``totals``: one row per policy with those three columns (``backtest.comparison(results)``)."""
    missing = {"policy", "fill_rate", "mean_on_hand_value"} - set(totals.columns)
    if missing:
        raise ValueError(f"the totals lack the columns {', '.join(sorted(missing))}")
    figure = Figure(figsize=_SIZE)
    axes = figure.add_subplot()
    for row in totals.itertuples(index=False):
        x, y = float(row.mean_on_hand_value), float(row.fill_rate)
        axes.scatter([x], [y], s=60, zorder=3)
        axes.annotate(str(row.policy), (x, y), xytext=(6, 6), textcoords="offset points", fontsize=9)
    axes.set_xlabel("mean on-hand inventory value")
    axes.set_ylabel("fill rate (served / demand)")
    axes.xaxis.set_major_formatter(FuncFormatter(_money))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.margins(0.15)
    axes.grid(True, alpha=0.3)
    axes.set_title(title)
    return _png(figure)


def weekly_fill_rate_png(weekly: pd.DataFrame, *, title: str = "Weekly fill rate per policy") -> bytes:
    """One line per ``policy``: ``fill_rate`` by held-out ``week`` (columns of ``backtest_weekly``)."""
    missing = {"policy", "week", "fill_rate"} - set(weekly.columns)
    if missing:
        raise ValueError(f"the weekly figures lack the columns {', '.join(sorted(missing))}")
    figure = Figure(figsize=_SIZE)
    axes = figure.add_subplot()
    for policy, rows in weekly.groupby("policy", sort=False):
        ordered = rows.sort_values("week")
        axes.plot(ordered["week"], ordered["fill_rate"], marker="o", label=str(policy))
    axes.set_xlabel("held-out week")
    axes.set_ylabel("fill rate (served / demand)")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    weeks = sorted(pd.unique(weekly["week"]))
    if weeks:
        axes.set_xticks(weeks)
    axes.grid(True, alpha=0.3)
    if len(weekly):
        axes.legend(fontsize=9)
    axes.set_title(title)
    return _png(figure)
