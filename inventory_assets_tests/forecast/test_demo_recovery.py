"""The forecast finds what generated the demo data (demo.data.demo_truth, docs/demo-data.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.analytics.merge import merge_dataset
from inventory_assets.demo import data as demo_data
from inventory_assets.forecast import forecast_demand
from inventory_assets.forecast.core import pair_series
from inventory_assets.forecast.models import global_weekday_profile

SPEC = demo_data.PRESETS["small"]


@pytest.fixture(scope="module")
def demo() -> dict[str, object]:
    frames = demo_data.generate(SPEC)
    lines = frames["sales"]
    day = pd.to_datetime(lines["sold_at"]).dt.normalize()
    grouped = lines.assign(sale_date=day).groupby(["sale_date", "product_id", "location_id"], as_index=False)
    sales = grouped["quantity"].sum()
    start, end = pd.Timestamp(SPEC.start_date), pd.Timestamp(SPEC.end_date)
    tables = (frames[name] for name in ("inventory", "costs", "locations", "receipts"))
    merged, _ = merge_dataset(sales, *tables, window_start=start, window_end=end)
    forecast, _ = forecast_demand(sales, merged, window_start=start, window_end=end)
    return {"sales": sales, "merged": merged, "forecast": forecast, "start": start, "end": end}


def test_the_weekday_profile_of_all_series_is_recovered(demo) -> None:
    ps = pair_series(demo["sales"], demo["merged"], demo["start"], demo["end"])
    totals = np.bincount(ps.day, weights=ps.quantity, minlength=ps.window_days)
    profile = global_weekday_profile(totals)[-1]  # from every whole week of the window
    first_weekday = demo["start"].weekday()  # position p of the window is weekday (first + p) mod 7
    truth = np.array(demo_data.WEEKDAY_PROFILE)[(first_weekday + np.arange(7)) % 7]
    np.testing.assert_allclose(profile, truth, rtol=0.08)  # trends and launches tilt the days a little


def test_trends_launches_and_fades_are_followed_where_the_window_mean_lags(demo) -> None:
    truth = demo_data.demo_truth(SPEC).set_index("product_id")
    stores = demo["merged"]["echelon"].to_numpy() > 0
    per_product = (
        pd.DataFrame(
            {
                "product_id": demo["merged"]["product_id"].to_numpy()[stores],
                "forecast": demo["forecast"]["forecast_mean"].to_numpy()[stores],
                "window_mean": demo["merged"]["demand_mean"].to_numpy()[stores],
            }
        )
        .groupby("product_id")[["forecast", "window_mean"]]
        .sum()
    )
    table = per_product.join(truth[["pattern", "rate_end"]])
    moving = table.loc[table["pattern"].isin(["trend", "new", "dying"])]
    assert len(moving) >= 30
    forecast_error = (moving["forecast"] - moving["rate_end"]).abs().sum()
    window_error = (moving["window_mean"] - moving["rate_end"]).abs().sum()
    assert forecast_error < 0.7 * window_error, (forecast_error, window_error)
    steady = table.loc[table["pattern"] == "steady"]  # and no worse where nothing moves
    steady_forecast = (steady["forecast"] - steady["rate_end"]).abs().sum()
    steady_window = (steady["window_mean"] - steady["rate_end"]).abs().sum()
    assert steady_forecast < 1.1 * steady_window, (steady_forecast, steady_window)
