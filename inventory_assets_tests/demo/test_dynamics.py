"""The demand dynamics of the demo data (``inventory_assets.demo.data``, docs/demo-data.md): a weekday
profile, strong trends, new and dying products, lumpy slow pairs; and ``demo_truth`` /
``demo_lumpy_pairs``, which say what generated them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inventory_assets.demo import data as demo_data
from inventory_assets.demo.data import PRESETS, WEEKDAY_PROFILE, DemoSpec

#: Enough products for every pattern to show statistically; 18 whole weeks.
DYN = DemoSpec(products=1500, dcs=1, stores=4, days=126, seed=21)
SPECS = {"small": PRESETS["small"], "dyn": DYN}


@pytest.fixture(scope="module", params=list(SPECS))
def case(request: pytest.FixtureRequest) -> dict:
    """A spec, its frames, its truth, its lumpy pairs and its units per (product, day) of the window."""
    spec = SPECS[request.param]
    frames = demo_data.generate(spec)
    truth = demo_data.demo_truth(spec).set_index("product_id")
    sales = frames["sales"]
    day = (sales["sold_at"] - pd.Timestamp(spec.start_date)).dt.days
    daily = (
        sales.groupby([sales["product_id"], day])["quantity"]
        .sum()
        .unstack(fill_value=0.0)
        .reindex(index=truth.index, columns=range(spec.days), fill_value=0.0)
    )
    return {
        "spec": spec,
        "frames": frames,
        "truth": truth,
        "lumpy": demo_data.demo_lumpy_pairs(spec),
        "daily": daily,
    }


def _day(spec: DemoSpec, when: pd.Series) -> np.ndarray:
    return (when - pd.Timestamp(spec.start_date)).dt.days.to_numpy()


# --- the truth ------------------------------------------------------------------------------------------


def test_truth_describes_every_product(case: dict) -> None:
    spec, truth, costs = case["spec"], case["truth"], case["frames"]["costs"]
    assert truth.index.tolist() == costs["product_id"].tolist()
    assert set(truth["pattern"]) == set(demo_data.PATTERNS)  # every pattern occurs, even at `small`
    assert truth.attrs["weekday_profile"] == dict(
        zip(
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], WEEKDAY_PROFILE, strict=True
        )
    )
    assert np.isclose(np.mean(WEEKDAY_PROFILE), 1.0) and int(np.argmax(WEEKDAY_PROFILE)) == 5
    new, dying = truth["pattern"] == "new", truth["pattern"] == "dying"
    assert truth.loc[new, "launch_date"].notna().all() and truth.loc[~new, "launch_date"].isna().all()
    assert truth.loc[dying, "fade_date"].notna().all() and truth.loc[~dying, "fade_date"].isna().all()
    # Launch and fade days lie in [days / 6, 2 days / 3) of the window.
    for column, rows in (("launch_date", new), ("fade_date", dying)):
        offset = _day(spec, truth.loc[rows, column])
        assert (offset >= spec.days // 6).all() and (offset < 2 * spec.days / 3).all(), column
    # Strong trends: x2 to x3 up or down over the window; the others keep a gentle one.
    strong = truth.loc[truth["pattern"] == "trend", "trend_factor"]
    assert (strong.between(2.0, 3.0) | strong.between(1 / 3, 0.5)).all()
    assert 0.3 < (strong > 1).mean() < 0.7
    gentle = np.log(truth.loc[truth["pattern"] != "trend", "trend_factor"])
    assert 0.1 < gentle.std() < 0.2
    # Rates: a new product starts at nothing, a dying one ends near nothing.
    assert (truth.loc[new, "rate_start"] == 0).all() and (truth.loc[new, "rate_end"] > 0).all()
    assert (truth.loc[dying, "rate_end"] < 0.05 * truth.loc[dying, "rate_start"]).all()
    assert truth["lumpy_stores"].sum() == len(case["lumpy"])
    # The window's mean rate is what sells: units over the window within 10 % of it.
    assert abs(case["daily"].to_numpy().sum() / (truth["rate_mean"].sum() * spec.days) - 1) < 0.1


def test_pattern_shares() -> None:
    truth = demo_data.demo_truth(DYN)
    shares = truth["pattern"].value_counts(normalize=True)
    assert 0.025 < shares["new"] < 0.06 and 0.025 < shares["dying"] < 0.06
    assert 0.12 < shares["trend"] < 0.18
    lumpy = demo_data.demo_lumpy_pairs(DYN)
    assert lumpy["base_rate"].between(0.05, 0.3, inclusive="left").all()
    world = demo_data._world(DYN)
    slow = ((world.rate >= 0.05) & (world.rate < 0.3)).sum()
    assert 0.07 < len(lumpy) / slow < 0.13
    assert (lumpy["lump_probability"] < 0.03).all()


# --- what the sales show --------------------------------------------------------------------------------


def test_weekday_profile_is_recovered_from_the_sales(case: dict) -> None:
    """Each day's units over its centred 7-day mean, averaged by weekday: the profile within 0.03."""
    spec, daily = case["spec"], case["daily"]
    total = daily.sum(axis=0).to_numpy()
    relative = pd.Series(total / pd.Series(total).rolling(7, center=True).mean().to_numpy())
    weekday = pd.date_range(spec.start_date, periods=spec.days).day_of_week
    profile = relative.groupby(weekday).mean()
    profile = profile / profile.mean()
    assert np.abs(profile.to_numpy() - np.array(WEEKDAY_PROFILE)).max() < 0.03


def test_new_products_sell_nothing_before_their_launch_then_their_rate(case: dict) -> None:
    spec, truth, daily = case["spec"], case["truth"], case["daily"]
    new = truth[truth["pattern"] == "new"]
    assert len(new)
    for product, launch in zip(new.index, _day(spec, new["launch_date"]), strict=True):
        units = daily.loc[product].to_numpy()
        assert units[:launch].sum() == 0, product
        assert units[launch:].sum() > 0 or new.loc[product, "base_rate"] < 0.3, product
    # After the two-week ramp-up they sell at about their rate.
    fast = new[new["base_rate"] >= 1]
    launches = zip(fast.index, _day(spec, fast["launch_date"]), strict=True)
    after = [daily.loc[p].to_numpy()[launch + 14 :].mean() for p, launch in launches]
    ratio = np.array(after) / fast["rate_end"].to_numpy()
    assert len(ratio) and ((ratio > 0.6) & (ratio < 1.5)).all()


def test_dying_products_sell_far_less_in_their_last_weeks(case: dict) -> None:
    spec, truth, daily = case["spec"], case["truth"], case["daily"]
    dying = truth[truth["pattern"] == "dying"]
    assert len(dying)
    fade = _day(spec, dying["fade_date"])
    before = np.array(
        [daily.loc[p].to_numpy()[max(f - 14, 0) : f].sum() for p, f in zip(dying.index, fade, strict=True)]
    )
    last = daily.loc[dying.index].iloc[:, -14:].sum(axis=1).to_numpy()
    assert last.sum() < 0.02 * before.sum()
    assert (last[before >= 10] < 0.1 * before[before >= 10]).all()


def test_strong_trends_show_between_the_first_and_last_weeks(case: dict) -> None:
    truth, daily = case["truth"], case["daily"]
    trend = truth[(truth["pattern"] == "trend") & (truth["base_rate"] >= 2)]
    ratio = daily.loc[trend.index].iloc[:, -28:].mean(axis=1) / daily.loc[trend.index].iloc[:, :28].mean(axis=1)
    up = trend["trend_factor"] > 1
    assert up.any() and (~up).any()
    assert ratio[up].min() > 1.2 and ratio[~up].max() < 0.8
    assert 1.6 < ratio[up].median() < 2.6 and 0.38 < ratio[~up].median() < 0.62
    steady = truth[(truth["pattern"] == "steady") & (truth["base_rate"] >= 2)].index
    steady_ratio = daily.loc[steady].iloc[:, -28:].mean(axis=1) / daily.loc[steady].iloc[:, :28].mean(axis=1)
    assert 0.85 < steady_ratio.median() < 1.15


def test_lumpy_pairs_buy_in_lumps_at_about_their_rate(case: dict) -> None:
    spec, sales, lumpy = case["spec"], case["frames"]["sales"], case["lumpy"]
    assert len(lumpy)
    per_day = sales.groupby(["product_id", "location_id", "sold_at"], as_index=False)["quantity"].sum()
    per_day = per_day.merge(lumpy[["product_id", "location_id"]].assign(lumpy=True), how="left")
    per_day["lumpy"] = per_day["lumpy"].notna()
    rate = sales.groupby(["product_id", "location_id"])["quantity"].sum().rename("rate") / spec.days
    slow = per_day.merge(rate.reset_index())
    slow = slow[slow["rate"] < 0.3]
    big = slow["quantity"] >= 4
    lumpy_units = slow.loc[slow["lumpy"], "quantity"]
    other_units = slow.loc[~slow["lumpy"], "quantity"]
    # Most of a lumpy pair's units come on days of four or more; other slow pairs almost never sell so many.
    assert lumpy_units[big].sum() > 0.5 * lumpy_units.sum()
    assert other_units[big].sum() < 0.02 * other_units.sum()
    assert slow.loc[slow["lumpy"], "quantity"].max() >= 10
    # The lumps keep their mean: units sold vs the base rate times the products' mean level.
    truth = case["truth"]
    mean_level = (truth["rate_mean"] / truth["base_rate"]).loc[lumpy["product_id"]].to_numpy()
    expected = (lumpy["base_rate"] * mean_level).sum() * spec.days
    assert 0.75 < per_day.loc[per_day["lumpy"], "quantity"].sum() / expected < 1.25


def test_expected_rows_estimates_the_sale_lines(case: dict) -> None:
    estimate = demo_data.generate_streaming(case["spec"])["sales"].expected_rows
    assert abs(estimate / len(case["frames"]["sales"]) - 1) < 0.03


# --- stock, orders and receipts follow the life cycle -----------------------------------------------------


def test_stock_and_receipts_follow_the_life_cycle(case: dict) -> None:
    spec, truth, frames = case["spec"], case["truth"], case["frames"]
    inventory = frames["inventory"].merge(truth[["pattern", "rate_end", "base_rate"]].reset_index())
    stores = inventory[inventory["location_id"].str.startswith("S")]
    # A dying product is not reordered, but its stores hold leftovers (far more than it now sells).
    dying = inventory[inventory["pattern"] == "dying"]
    assert (dying["on_order"].fillna(0) == 0).all()
    # (rate_end and base_rate are per product, over all its stores)
    dying_stores = (
        stores[stores["pattern"] == "dying"]
        .groupby("product_id")
        .agg(on_hand=("on_hand", "sum"), rate_end=("rate_end", "first"))
    )
    assert (dying_stores["on_hand"] > 0).all()
    assert (dying_stores["on_hand"] > 30 * dying_stores["rate_end"]).all()
    # A new product is stocked for its rate: its stores hold about the usual days of cover (about 12).
    new = (
        stores[stores["pattern"] == "new"]
        .groupby("product_id")
        .agg(on_hand=("on_hand", "sum"), base_rate=("base_rate", "first"))
    )
    cover = new["on_hand"] / new["base_rate"]
    assert 5 < cover.median() < 40
    # Receipts: a new product's from three days before its launch, a dying one's up to a week after its fade.
    receipts = frames["receipts"].merge(truth[["launch_date", "fade_date"]].reset_index())
    launched = receipts["launch_date"].notna()
    assert (receipts.loc[launched, "received_at"] >= receipts.loc[launched, "launch_date"] - pd.Timedelta(days=3)).all()
    faded = receipts["fade_date"].notna()
    assert (receipts.loc[faded, "received_at"] <= receipts.loc[faded, "fade_date"] + pd.Timedelta(days=7)).all()
    assert receipts["ordered_at"].min() >= pd.Timestamp(spec.start_date)


# --- seeded and chunk-independent -----------------------------------------------------------------------


def test_dynamics_are_seeded_and_chunk_independent() -> None:
    """A spec with every pattern and lumps: the same frames twice, whatever the chunk size."""
    spec = DemoSpec(products=400, dcs=2, stores=3, days=60, seed=4)
    truth = demo_data.demo_truth(spec)
    assert set(truth["pattern"]) == set(demo_data.PATTERNS) and truth["lumpy_stores"].sum() > 0
    pd.testing.assert_frame_equal(truth, demo_data.demo_truth(spec))
    pd.testing.assert_frame_equal(demo_data.demo_lumpy_pairs(spec), demo_data.demo_lumpy_pairs(spec))
    whole = demo_data.generate(spec)
    again = demo_data.generate(spec)
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)
    chunks = list(demo_data.generate_streaming(spec, chunk_rows=700)["sales"])
    assert len(chunks) > 3
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole["sales"], check_flags=False)
    other = demo_data.demo_truth(spec.replace(seed=5))
    assert not other["pattern"].equals(truth["pattern"])


def test_pair_blocks_keep_lumps_and_life_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    """With several pair blocks per day (as at the large preset) lumps land in every block and each
    block sees its own products' levels."""
    spec = DemoSpec(products=300, dcs=1, stores=4, days=50, seed=9)
    monkeypatch.setattr(demo_data, "_PAIR_BLOCK", 64)
    sales = demo_data.generate(spec)["sales"]
    truth = demo_data.demo_truth(spec).set_index("product_id")
    launch = sales["product_id"].map(truth["launch_date"])
    assert not (sales["sold_at"] < launch).any()
    lumpy = demo_data.demo_lumpy_pairs(spec)
    at_lumpy = sales.merge(lumpy[["product_id", "location_id"]])
    assert at_lumpy["quantity"].max() >= 4


# --- the calibration of the module docstring ------------------------------------------------------------


def test_small_topping_up_the_dcs_costs_over_100k_and_class_a_safety_stock_under() -> None:
    """The module docstring's claim, from the default features over the last 90 days of `small`."""
    from inventory_assets.analytics.features import compute_features
    from inventory_assets.analytics.merge import merge_dataset
    from inventory_assets.contract.validation import validate_source

    small = demo_data.generate(PRESETS["small"])
    sales = small["sales"].assign(sale_date=small["sales"]["sold_at"].dt.normalize())
    daily = sales.groupby(["sale_date", "product_id", "location_id"], as_index=False)["quantity"].sum()
    end = daily["sale_date"].max()
    start = end - pd.Timedelta(days=89)
    sources = [validate_source(t, small[t]).frame for t in ("inventory", "costs", "locations", "receipts")]
    merged, _ = merge_dataset(daily[daily["sale_date"] >= start], *sources, window_start=start, window_end=end)
    features = compute_features(merged)
    at_dc = features["location_id"].str.startswith("DC").to_numpy()
    position, cost = features["inventory_position"], features["unit_cost"]
    top_up = (np.maximum(0.0, features["order_up_to"] - position) * cost)[at_dc].sum()
    class_a = (features["abc_class"] == "A").to_numpy()
    safety_gap = (np.maximum(0.0, features["safety_stock"] - position) * cost)[class_a].sum()
    assert top_up > 110_000
    assert safety_gap < 50_000
