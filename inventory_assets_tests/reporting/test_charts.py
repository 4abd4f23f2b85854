"""The PNG charts (the backtest's, the ABC Pareto, the risk by class): real PNG bytes, from stored-shaped
frames, at small and medium sizes, without a display."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from inventory_assets.analytics.service import at_risk_by_class
from inventory_assets.reporting.charts import (
    PLAN_CHARTS,
    PNG_MAGIC,
    abc_pareto_png,
    fill_rate_vs_inventory_png,
    plan_charts,
    risk_by_class_png,
    save_plan_charts,
    weekly_fill_rate_png,
)

TOTALS = pd.DataFrame(
    {
        "policy": ["plan", "order_up_to", "risk_ranked", "replace_sold"],
        "fill_rate": [0.73, 0.75, 0.70, 0.71],
        "mean_on_hand_value": [955_000.0, 993_000.0, 931_000.0, 1_092_000.0],
    }
)
WEEKLY = pd.DataFrame(
    {
        "policy": np.repeat(["plan", "order_up_to"], 3),
        "week": [1, 2, 3] * 2,
        "fill_rate": [0.9, 0.8, np.nan, 0.95, 0.85, 0.7],
    }
)


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@pytest.mark.parametrize(
    "png",
    [
        pytest.param(lambda: fill_rate_vs_inventory_png(TOTALS), id="fill_rate_vs_inventory"),
        pytest.param(lambda: weekly_fill_rate_png(WEEKLY), id="weekly_fill_rate"),
        pytest.param(lambda: fill_rate_vs_inventory_png(TOTALS.iloc[:1]), id="one_policy"),
        pytest.param(lambda: weekly_fill_rate_png(WEEKLY.iloc[:0]), id="no_weeks"),
    ],
)
def test_a_chart_is_a_png(png) -> None:
    data = png()
    assert data.startswith(PNG_MAGIC)
    assert data[12:16] == b"IHDR"
    width, height = _size(data)
    assert width > 100 and height > 100
    assert len(data) > 2_000


def test_the_charts_change_with_the_data() -> None:
    moved = TOTALS.assign(fill_rate=TOTALS["fill_rate"][::-1].to_numpy())
    assert fill_rate_vs_inventory_png(TOTALS) != fill_rate_vs_inventory_png(moved)


@pytest.mark.parametrize(
    ("draw", "frame", "missing"),
    [
        (fill_rate_vs_inventory_png, TOTALS.drop(columns=["mean_on_hand_value"]), "mean_on_hand_value"),
        (weekly_fill_rate_png, WEEKLY.drop(columns=["week"]), "week"),
    ],
)
def test_missing_columns_are_named(draw, frame: pd.DataFrame, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        draw(frame)


def test_drawing_needs_no_display_and_never_imports_pyplot() -> None:
    code = (
        "import sys; from inventory_assets.reporting.charts import weekly_fill_rate_png as w; import pandas as pd; "
        "png = w(pd.DataFrame({'policy': ['a'], 'week': [1], 'fill_rate': [0.5]})); "
        "assert png.startswith(b'\\x89PNG'); assert 'matplotlib.pyplot' not in sys.modules; print('ok')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _features(products: int, locations: int, seed: int = 3) -> pd.DataFrame:
    """Feature-shaped rows: a Pareto-like annual value per product, repeated over the locations."""
    rng = np.random.default_rng(seed)
    value = np.sort(rng.pareto(1.2, products) * 1_000)[::-1]
    share = np.cumsum(value) / value.sum()
    abc = np.where(share <= 0.80, "A", np.where(share <= 0.95, "B", "C"))
    return pd.DataFrame(
        {
            "product_id": np.repeat([f"P{i:06d}" for i in range(products)], locations),
            "location_id": np.tile([f"L{j:02d}" for j in range(locations)], products),
            "annual_value": np.repeat(value, locations),
            "abc_class": np.repeat(abc, locations),
        }
    )


def _plan(features: pd.DataFrame, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    before = rng.uniform(0, 1, len(features))
    return features.assign(stockout_risk_before=before, stockout_risk_after=before * rng.uniform(0, 1, len(features)))


SMALL_FEATURES = _features(30, 3)
MEDIUM_FEATURES = _features(5_000, 12)  # the medium demo's size: 5,000 products at 12 locations


@pytest.mark.parametrize("features", [SMALL_FEATURES, MEDIUM_FEATURES], ids=["small", "medium"])
def test_the_pareto_and_the_risk_chart_are_pngs_at_small_and_medium_sizes(features: pd.DataFrame) -> None:
    plan = _plan(features)
    risk = at_risk_by_class(plan["abc_class"], plan["stockout_risk_before"], plan["stockout_risk_after"])
    for png in (abc_pareto_png(features), risk_by_class_png(risk.iloc[:-1])):
        assert png.startswith(PNG_MAGIC) and png[12:16] == b"IHDR"
        width, height = _size(png)
        assert width > 300 and height > 200


def test_the_plan_charts_on_empty_frames_are_still_pngs(tmp_path) -> None:
    empty = SMALL_FEATURES.iloc[:0]
    charts = plan_charts(empty, _plan(empty))
    assert list(charts) == list(PLAN_CHARTS)
    assert all(png.startswith(PNG_MAGIC) for png in charts.values())
    written = save_plan_charts(SMALL_FEATURES, _plan(SMALL_FEATURES), tmp_path / "docs")
    assert [p.name for p in written] == list(PLAN_CHARTS)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in written)


@pytest.mark.parametrize(
    ("draw", "frame", "missing"),
    [
        (abc_pareto_png, SMALL_FEATURES.drop(columns=["annual_value"]), "annual_value"),
        (risk_by_class_png, pd.DataFrame({"abc_class": ["A"], "before": [1]}), "after"),
    ],
)
def test_the_plan_charts_name_missing_columns(draw, frame: pd.DataFrame, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        draw(frame)
