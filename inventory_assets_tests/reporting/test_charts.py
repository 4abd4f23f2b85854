"""The backtest's PNG charts: real PNG bytes, from stored-shaped frames, without a display."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from inventory_assets.reporting.charts import PNG_MAGIC, fill_rate_vs_inventory_png, weekly_fill_rate_png

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
