"""PNG charts for people (matplotlib, Agg backend: no display, no pyplot state, safe in any process).

* :func:`fill_rate_vs_inventory_png`: fill rate against mean on-hand inventory value, one labelled
  point per policy (the backtest's trade-off: service bought with stock);
* :func:`weekly_fill_rate_png`: the weekly fill rate of each policy, one line each;
* :func:`abc_pareto_png`: the Pareto curve of annual consumption value (cumulative share of value against
  the share of products, coloured by ABC class, with the class cut-offs);
* :func:`risk_by_class_png`: rows with a stock-out risk above the threshold, before and after the plan,
  per ABC class (grouped bars);
* :func:`budget_frontier_png`: expected cost and expected units short against the budget (the
  ``budget_frontier`` asset);
* :func:`forecast_examples_png`: a few representative series, daily sales against the forecast rate
  made the evening before (``forecast.example_series``), one panel each.

Each returns the PNG's bytes; the backtest's frames are ``backtest_results`` totals and
``backtest_weekly`` rows (docs/backtest.md), so the charts can be drawn from a stored backtest as well as
from a fresh one; the Pareto takes ``abc_risk_features`` (or any frame with ``product_id``,
``annual_value``, ``abc_class``), the risk chart the table of ``analytics.service.at_risk_by_class``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from inventory_assets.analytics.service import at_risk_by_class

__all__ = [
    "PLAN_CHARTS",
    "PNG_MAGIC",
    "abc_pareto_png",
    "budget_frontier_png",
    "fill_rate_vs_inventory_png",
    "forecast_examples_png",
    "plan_charts",
    "risk_by_class_png",
    "save_plan_charts",
    "weekly_fill_rate_png",
]

PLAN_CHARTS = ("abc-pareto.png", "risk-by-class.png")
"""File names of :func:`plan_charts` (the README shows them from ``docs/``)."""

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


def budget_frontier_png(points: pd.DataFrame, *, title: str = "What each budget buys") -> bytes:
    """The budget frontier: expected cost (left axis) and the DCs' expected shortfall plus the stores'
    expected lost units (right axis) against the budget, the configured budget and the saturation budget
    marked (columns of ``budget_frontier``)."""
    needed = {"budget", "expected_cost", "expected_lost_units", "expected_dc_shortfall_units", "is_configured"}
    missing = needed - set(points.columns)
    if missing:
        raise ValueError(f"the frontier lacks the columns {', '.join(sorted(missing))}")
    figure = Figure(figsize=_SIZE)
    axes = figure.add_subplot()
    ordered = points.sort_values("budget")
    budget = ordered["budget"].to_numpy(dtype=float)
    axes.plot(budget, ordered["expected_cost"], marker="o", color="#2c3e50", label="expected cost ($)")
    axes.set_xlabel("budget ($)")
    axes.set_ylabel("expected cost: holding + lost sales + expiry ($)")
    axes.xaxis.set_major_formatter(FuncFormatter(_money))
    axes.yaxis.set_major_formatter(FuncFormatter(_money))
    units = axes.twinx()
    short = ordered["expected_lost_units"] + ordered["expected_dc_shortfall_units"]
    units.plot(budget, short, marker="s", color="#c0392b", label="expected units short (stores + DCs)")
    units.set_ylabel("expected units short")
    units.yaxis.set_major_formatter(FuncFormatter(_money))
    configured = ordered[ordered["is_configured"].astype(bool)]
    for value in configured["budget"]:
        axes.axvline(float(value), color="#7f8c8d", linestyle="--", label="configured budget")
    axes.axvline(float(budget[-1]), color="#27ae60", linestyle=":", label="more buys nothing")
    handles = axes.get_legend_handles_labels()
    other = units.get_legend_handles_labels()
    axes.legend(handles[0] + other[0], handles[1] + other[1], fontsize=8, loc="upper right")
    axes.grid(True, alpha=0.3)
    axes.set_title(title)
    return _png(figure)


_CLASS_COLOURS = {"A": "#c0392b", "B": "#e67e22", "C": "#2980b9"}


def forecast_examples_png(examples: pd.DataFrame, *, title: str = "Daily sales and the forecast rate") -> bytes:
    """One panel per series of ``examples`` (``forecast.example_series``): bars of the units sold each day,
    the line of the rate forecast each evening for the next H days, and the rate the plan uses (a dot)."""
    names = list(dict.fromkeys(examples["series"].tolist())) if len(examples) else []
    rows = max(len(names), 1)
    figure = Figure(figsize=(_SIZE[0] * 1.4, 1.9 * rows + 0.6))
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=False):
        part = examples.loc[examples["series"] == name]
        ax.bar(part["date"], part["actual"], width=0.9, color="#b8c7d9", label="units sold")
        ax.plot(part["date"], part["forecast"], color="#1f5fa8", linewidth=1.6, label="forecast rate (units/day)")
        last = part.loc[part["final"].notna()]
        ax.plot(last["date"], last["final"], "o", color="#c0392b", label="rate the plan uses")
        ax.set_title(name, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    if not names:
        axes[0].text(0.5, 0.5, "no series with a chosen model", ha="center", va="center")
    axes[0].legend(fontsize=7, loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    return _png(figure)


def abc_pareto_png(
    features: pd.DataFrame,
    *,
    a_cutoff: float = 0.80,
    b_cutoff: float = 0.95,
    title: str = "Pareto of annual consumption value (ABC)",
) -> bytes:
    """Cumulative share of annual value (y) held by the top share of products (x), one point per product,
    coloured by its ABC class, with dashed lines at the A and B cut-offs.

    ``features``: rows with ``product_id``, ``annual_value`` and ``abc_class`` (one product may repeat
    over locations: its first row counts)."""
    missing = {"product_id", "annual_value", "abc_class"} - set(features.columns)
    if missing:
        raise ValueError(f"the features lack the columns {', '.join(sorted(missing))}")
    per = features.loc[:, ["product_id", "annual_value", "abc_class"]].drop_duplicates("product_id")
    per = per.sort_values(["annual_value", "product_id"], ascending=[False, True], kind="stable")
    values = per["annual_value"].to_numpy(dtype=float)
    total = float(values.sum())
    n = len(per)
    x = np.arange(1, n + 1) / n if n else np.zeros(0)
    y = np.cumsum(values) / total if total > 0 else np.zeros(n)
    classes = per["abc_class"].astype(str).to_numpy()
    figure = Figure(figsize=_SIZE)
    axes = figure.add_subplot()
    axes.plot(np.r_[0.0, x], np.r_[0.0, y], color="#555555", linewidth=1, zorder=2)
    for name in sorted(set(classes)):
        at = classes == name
        count = int(at.sum())
        share = float(values[at].sum() / total) if total > 0 else 0.0
        axes.scatter(
            x[at],
            y[at],
            s=8 if n > 200 else 18,
            color=_CLASS_COLOURS.get(name, "#7f8c8d"),
            label=f"{name}: {count:,} products, {share:.0%} of value",
            zorder=3,
        )
    for cutoff in (a_cutoff, b_cutoff):
        axes.axhline(cutoff, linestyle="--", color="#999999", linewidth=0.8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("share of products, by annual value")
    axes.set_ylabel("cumulative share of annual value")
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(True, alpha=0.3)
    if n:
        axes.legend(fontsize=9, loc="lower right")
    axes.set_title(title)
    return _png(figure)


def risk_by_class_png(
    table: pd.DataFrame, *, threshold: float = 0.5, title: str = "Rows at stock-out risk, before and after the plan"
) -> bytes:
    """Grouped bars per ``abc_class``: ``before`` and ``after`` (rows whose stock-out risk exceeds
    ``threshold``), each bar labelled with its count."""
    missing = {"abc_class", "before", "after"} - set(table.columns)
    if missing:
        raise ValueError(f"the table lacks the columns {', '.join(sorted(missing))}")
    figure = Figure(figsize=_SIZE)
    axes = figure.add_subplot()
    names = [str(c) for c in table["abc_class"]]
    at = np.arange(len(names))
    width = 0.38
    for offset, column, colour in ((-width / 2, "before", "#c0392b"), (width / 2, "after", "#27ae60")):
        counts = table[column].to_numpy(dtype=float)
        bars = axes.bar(at + offset, counts, width, label=f"{column} the plan", color=colour)
        axes.bar_label(bars, labels=[f"{int(c):,}" for c in counts], fontsize=9, padding=2)
    axes.set_xticks(at, [f"class {n}" for n in names])
    axes.set_ylabel(f"rows with stock-out risk > {threshold:.0%}")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(_money))
    axes.margins(y=0.15)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=9)
    axes.set_title(title)
    return _png(figure)


def plan_charts(
    features: pd.DataFrame, plan: pd.DataFrame, *, a_cutoff: float = 0.80, b_cutoff: float = 0.95
) -> dict[str, bytes]:
    """The charts of the plan pages, by file name (:data:`PLAN_CHARTS`): the Pareto of ``features``
    (``abc_risk_features``) and the rows at risk before and after of ``plan`` (``procurement_plan``)."""
    risk = at_risk_by_class(plan["abc_class"], plan["stockout_risk_before"], plan["stockout_risk_after"])
    return {
        PLAN_CHARTS[0]: abc_pareto_png(features, a_cutoff=a_cutoff, b_cutoff=b_cutoff),
        PLAN_CHARTS[1]: risk_by_class_png(risk.iloc[:-1]),
    }


def save_plan_charts(features: pd.DataFrame, plan: pd.DataFrame, folder: Path | str) -> list[Path]:
    """Write :func:`plan_charts` as PNG files into ``folder`` (created if missing); the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in plan_charts(features, plan).items():
        path = folder / name
        path.write_bytes(png)
        written.append(path)
    return written
