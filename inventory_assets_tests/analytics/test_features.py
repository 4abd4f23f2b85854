"""compute_features, the safety-stock formulas and the stock-out risk against hand-computed values."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandera.errors import SchemaErrors
from scipy import stats

from inventory_assets import parallel
from inventory_assets.analytics import safety_stock as safety_stock_module
from inventory_assets.analytics.abc import abc_classes, xyz_classes
from inventory_assets.analytics.features import (
    FEATURES_COLUMNS,
    FeatureParameters,
    compute_features,
    pareto_table,
    summarize_features,
)
from inventory_assets.analytics.merge import MERGED_COLUMNS, merge_dataset
from inventory_assets.analytics.risk import stockout_risk
from inventory_assets.contract.frames import FeaturesSchema
from inventory_assets.reporting.markdown import pareto_markdown

from .test_merge import END, START, make_sources

# Every class gets 0.95 unless a test is about classes: z = 1.6448536...
FLAT = FeatureParameters(service_level_a=0.95, service_level_b=0.95, service_level_c=0.95)
Z95 = stats.norm.ppf(0.95)


def row(product: str = "P1", location: str = "S1", **values) -> dict:
    base = {
        "product_id": product,
        "location_id": location,
        "on_hand": 0.0,
        "on_order": 0.0,
        "as_of": END,
        "unit_cost": 1.0,
        "holding_cost_rate": 0.2,
        "stockout_cost": 1.0,
        "waste_cost": 0.0,
        "shelf_life_days": np.nan,
        "min_order_qty": 0.0,
        "order_multiple": 1.0,
        "echelon": 1,
        "parent_location_id": "DC",
        "capacity_units": np.nan,
        "window_days": 90,
        "demand_total": 0.0,
        "demand_mean": 0.0,
        "demand_std": 0.0,
        "sale_days": 0,
        "last_sale_date": pd.NaT,
        "echelon_demand_mean": None,
        "echelon_demand_std": None,
        "echelon_sale_days": None,
        "lead_time_mean": 7.0,
        "lead_time_std": 0.0,
        "lead_time_receipts": 3,
        "lead_time_level": "pair",
    }
    base.update(values)
    for own, pooled in (
        ("demand_mean", "echelon_demand_mean"),
        ("demand_std", "echelon_demand_std"),
        ("sale_days", "echelon_sale_days"),
    ):
        if base[pooled] is None:
            base[pooled] = base[own]
    base["demand_total"] = base["demand_mean"] * base["window_days"]
    if base["sale_days"] and pd.isna(base["last_sale_date"]):
        base["last_sale_date"] = END
    return base


def frame(*rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(list(rows)).loc[:, list(MERGED_COLUMNS)]
    ids = ("product_id", "location_id", "parent_location_id", "lead_time_level")
    return out.astype({c: "str" for c in ids})


def one(params: FeatureParameters = FLAT, **values: Any) -> pd.Series:
    return compute_features(frame(row(**values)), params).iloc[0]


# ---- normal safety stock ---------------------------------------------------------------------------------


def test_normal_safety_stock_targets_and_risk():
    # mu 10/day, sigma_d 3, L 5 +- 1 days, R 7: T = 12, m = 120, v = 12*9 + 100*1 = 208.
    r = one(
        demand_mean=10.0,
        demand_std=3.0,
        sale_days=90,
        lead_time_mean=5.0,
        lead_time_std=1.0,
        on_hand=100.0,
        on_order=20.0,
    )
    ss = Z95 * math.sqrt(208.0)  # 23.7225...
    assert r.safety_stock_method == "normal"
    assert r.protection_days == 12.0 and r.review_days == 7.0
    assert r.demand_over_protection == pytest.approx(120.0)
    assert r.demand_std_over_protection == pytest.approx(math.sqrt(208.0))
    assert r.safety_stock == pytest.approx(ss) and r.safety_stock == pytest.approx(23.7225, abs=1e-4)
    assert r.order_up_to == pytest.approx(120.0 + ss)
    assert r.reorder_point == pytest.approx(50.0 + ss)
    assert r.inventory_position == 120.0
    assert r.days_of_cover == pytest.approx(12.0)
    assert r.stockout_risk == pytest.approx(0.5)  # position = mean demand over T
    assert r.z_value == pytest.approx(Z95)
    assert r.demand_cv == pytest.approx(0.3) and r.xyz_class == "X"


def test_zero_sale_days_only_demand_variability():
    # sigma_L = 0: SS = z * sqrt(T) * sigma_d.
    r = one(demand_mean=4.0, demand_std=2.0, sale_days=80, lead_time_mean=2.0)
    assert r.safety_stock_method == "normal"
    assert r.safety_stock == pytest.approx(Z95 * math.sqrt(9.0) * 2.0)


def test_review_period_is_configurable():
    params = FeatureParameters(service_level_a=0.95, service_level_b=0.95, service_level_c=0.95, review_days=0.0)
    r = one(params, demand_mean=10.0, demand_std=3.0, sale_days=90, lead_time_mean=5.0, lead_time_std=1.0)
    assert r.protection_days == 5.0
    assert r.safety_stock == pytest.approx(Z95 * math.sqrt(5 * 9 + 100 * 1))
    assert r.order_up_to == pytest.approx(r.reorder_point)  # R = 0


def test_no_demand_is_method_none():
    r = one(on_hand=3.0)
    assert (r.safety_stock_method, r.safety_stock, r.order_up_to, r.reorder_point) == ("none", 0.0, 0.0, 0.0)
    assert r.stockout_risk == 0.0 and r.days_of_cover == math.inf
    assert np.isnan(r.demand_cv) and r.xyz_class == "Z" and r.abc_class == "C"


def test_nothing_stocked_with_demand_is_certain_stockout():
    r = one(demand_mean=10.0, demand_std=3.0, sale_days=90)
    assert r.inventory_position == 0.0 and r.stockout_risk == 1.0 and r.days_of_cover == 0.0


# ---- intermittent items ----------------------------------------------------------------------------------


def test_intermittent_poisson():
    # 5 sale days in 90 (ADI 18 > 1.32). mu 0.1, sigma_d 0.2, L 3, R 7: T 10, m 1, v 0.4 <= m -> Poisson(1).
    # Poisson(1) CDF: 0.3679, 0.7358, 0.9197, 0.9810 -> Q(0.95) = 3, SS = 3 - 1 = 2.
    r = one(demand_mean=0.1, demand_std=0.2, sale_days=5, lead_time_mean=3.0, on_hand=1.0)
    assert r.safety_stock_method == "poisson"
    assert r.demand_over_protection == pytest.approx(1.0)
    assert r.demand_std_over_protection == pytest.approx(1.0)
    assert r.safety_stock == pytest.approx(2.0)
    assert r.order_up_to == pytest.approx(3.0)
    assert r.stockout_risk == pytest.approx(1 - 2 * math.exp(-1))  # P(N > 1) = 0.2642
    assert r.stockout_risk == pytest.approx(0.2642, abs=1e-4)


def test_intermittent_negative_binomial():
    # mu 0.2, sigma_d 1, L 3, R 7: T 10, m 2, v 10: over-dispersed -> negative binomial.
    values: dict[str, Any] = dict(demand_mean=0.2, demand_std=1.0, sale_days=6, lead_time_mean=3.0, on_hand=4.0)
    plain = one(
        FeatureParameters(
            service_level_a=0.95, service_level_b=0.95, service_level_c=0.95, monotone_discrete_safety_stock=False
        ),
        **values,
    )
    n, p = 2.0**2 / (10.0 - 2.0), 2.0 / 10.0  # 0.5, 0.2
    q = stats.nbinom.ppf(0.95, n, p)
    assert plain.safety_stock_method == "negative_binomial"
    assert plain.safety_stock == pytest.approx(q - 2.0)
    assert plain.demand_std_over_protection == pytest.approx(math.sqrt(10.0))
    assert plain.stockout_risk == pytest.approx(stats.nbinom.sf(4, n, p))

    # Monotone (default): dispersion 5 rounded up to 1.2**9 = 5.16; the largest quantile on the grid.
    mono = one(**values)
    steps = 9
    assert 1.2**8 < 5.0 <= 1.2**steps
    grid = [stats.poisson.ppf(0.95, 2.0)] + [
        stats.nbinom.ppf(0.95, 2.0 / (1.2**k - 1), 1 / 1.2**k) for k in range(1, steps + 1)
    ]
    assert mono.safety_stock == pytest.approx(max(grid) - 2.0)
    assert mono.demand_std_over_protection == pytest.approx(math.sqrt(2.0 * 1.2**steps))
    g = 1.2**steps
    assert mono.stockout_risk == pytest.approx(stats.nbinom.sf(4, 2.0 / (g - 1), 1 / g))


def test_order_up_to_meets_the_service_level():
    rows = [
        row("P1", demand_mean=0.2, demand_std=1.0, sale_days=6, lead_time_mean=3.0),
        row("P2", demand_mean=0.1, demand_std=0.2, sale_days=5, lead_time_mean=3.0),
        row("P3", demand_mean=10.0, demand_std=3.0, sale_days=90, lead_time_mean=5.0, lead_time_std=1.0),
        row("P4", demand_mean=0.05, demand_std=2.0, sale_days=1, lead_time_mean=20.0, lead_time_std=5.0),
    ]
    features = compute_features(frame(*rows), FeatureParameters())
    risk_at_target = stockout_risk(features, features["order_up_to"].to_numpy())
    assert (risk_at_target <= 1 - features["service_level"].to_numpy() + 1e-9).all()


def test_lead_time_variability_enters_the_discrete_variance():
    # mu 0.5, sigma_d 0.5 (v_d = 0.25 < mu): without sigma_L the item is Poisson; sigma_L = 4 adds 0.25*16 = 4.
    calm = one(demand_mean=0.5, demand_std=0.5, sale_days=30, lead_time_mean=3.0)
    shaky = one(demand_mean=0.5, demand_std=0.5, sale_days=30, lead_time_mean=3.0, lead_time_std=4.0)
    assert calm.safety_stock_method == "poisson" and shaky.safety_stock_method == "negative_binomial"
    assert shaky.safety_stock >= calm.safety_stock


# ---- perishables -------------------------------------------------------------------------------------------


def test_perishable_waste():
    # position 80 + 20 = 100, mu 2/day, shelf life 30 days: 100 - 60 = 40 units expire, at 1.5 each = 60.
    r = one(
        demand_mean=2.0, demand_std=1.0, sale_days=90, on_hand=80.0, on_order=20.0, shelf_life_days=30.0, waste_cost=1.5
    )
    assert r.expected_waste_units == pytest.approx(40.0)
    assert r.expected_waste_value == pytest.approx(60.0)
    short = one(demand_mean=2.0, demand_std=1.0, sale_days=90, on_hand=50.0, shelf_life_days=30.0, waste_cost=1.5)
    assert short.expected_waste_units == 0.0
    keeps = one(demand_mean=2.0, demand_std=1.0, sale_days=90, on_hand=500.0, waste_cost=1.5)
    assert keeps.expected_waste_units == 0.0 and keeps.expected_waste_value == 0.0


# ---- classes ------------------------------------------------------------------------------------------------


def test_abc_by_annual_value_with_pareto_cutoffs():
    # values 50, 30, 15, 5: share of higher value 0, .5, .8, .95 -> A, A, B, C.
    assert list(abc_classes(np.array([15.0, 50.0, 5.0, 30.0]))) == ["B", "A", "C", "A"]
    # ties share a class, whatever their order; zero value is C
    assert list(abc_classes(np.array([40.0, 40.0, 20.0, 0.0]))) == ["A", "A", "B", "C"]
    # 60 | 20 | 20: the second 20 alone would be B (0.8 above it); as a tie it shares the first's A (0.6)
    assert list(abc_classes(np.array([20.0, 60.0, 20.0]))) == ["A", "A", "A"]
    assert list(abc_classes(np.array([0.0, 0.0]))) == ["C", "C"]
    assert list(abc_classes(np.array([1.0, 99.0]), 0.5, 0.9)) == ["C", "A"]
    assert list(abc_classes(np.array([1.0, 99.0]), 0.5, 1.0)) == ["B", "A"]
    assert list(abc_classes(np.array([100.0]))) == ["A"]


def test_abc_in_features_uses_direct_demand_of_all_locations():
    # P1 sold at two stores (0.1 + 0.1)/day x 365 x 2.0 = 146; P2 0.05 x 365 x 1 = 18.25; DC row adds nothing.
    rows = [
        row("P1", "S1", demand_mean=0.1, demand_std=0.3, sale_days=9, unit_cost=2.0),
        row("P1", "S2", demand_mean=0.1, demand_std=0.3, sale_days=9, unit_cost=2.0),
        row(
            "P1",
            "DC",
            echelon=0,
            parent_location_id=None,
            unit_cost=2.0,
            echelon_demand_mean=0.2,
            echelon_demand_std=math.sqrt(0.18),
            echelon_sale_days=18,
        ),
        row("P2", "S1", demand_mean=0.05, demand_std=0.2, sale_days=4),
    ]
    features = compute_features(frame(*rows), FeatureParameters())
    values = features.groupby("product_id")["annual_value"].first()
    assert values["P1"] == pytest.approx(146.0) and values["P2"] == pytest.approx(18.25)
    classes = features.groupby("product_id")["abc_class"].agg(set)
    assert classes["P1"] == {"A"} and classes["P2"] == {"B"}  # 146 / 164.25 = 0.889 of the value is above P2
    a = features[features["product_id"] == "P1"]
    assert (a["service_level"] == 0.99).all() and a["z_value"].iloc[0] == pytest.approx(stats.norm.ppf(0.99))
    assert (features.loc[features["product_id"] == "P2", "service_level"] == 0.95).all()


def test_xyz_cutoffs():
    assert list(xyz_classes(np.array([0.3, 0.5, 0.8, 1.0, 1.5, np.nan]))) == ["X", "X", "Y", "Y", "Z", "Z"]
    assert list(xyz_classes(np.array([0.3, 0.8]), 0.2, 0.5)) == ["Y", "Z"]


# ---- upper echelon --------------------------------------------------------------------------------------------


def test_dc_with_two_children_is_sized_on_pooled_demand():
    src = make_sources()
    merged, _ = merge_dataset(
        src["sales"],
        src["inventory"],
        src["costs"],
        src["locations"],
        src["receipts"],
        window_start=START,
        window_end=END,
    )
    features = compute_features(merged, FLAT)
    dc = features[(features["product_id"] == "P1") & (features["location_id"] == "DC")].iloc[0]
    # pooled mean 1.2/day, variance 34/9; no supplier receipts of the DC: default lead time 7 +- 2; T = 14.
    t = 7.0 + 7.0
    var = t * 34 / 9 + 1.2**2 * 2.0**2
    assert dc.protection_days == pytest.approx(t)
    assert dc.demand_over_protection == pytest.approx(1.2 * t)
    # 3 pooled sale days in 10 (ADI 3.3): intermittent; v > m: negative binomial on the pooled figures.
    assert dc.safety_stock_method == "negative_binomial"
    assert dc.demand_cv == pytest.approx(math.sqrt(34 / 9) / 1.2)
    assert dc.days_of_cover == pytest.approx(20.0 / 1.2)
    m = 1.2 * t
    steps = math.ceil(math.log(var / m) / math.log(1.2) - 1e-9)
    grid = [stats.poisson.ppf(0.95, m)] + [
        stats.nbinom.ppf(0.95, m / (1.2**k - 1), 1 / 1.2**k) for k in range(1, steps + 1)
    ]
    assert dc.safety_stock == pytest.approx(max(0.0, max(grid) - m))
    assert dc.reorder_point == pytest.approx(1.2 * 7.0 + dc.safety_stock)
    # The DC's own direct demand is zero but it is not "none": it supplies the stores.
    assert dc.stockout_risk > 0
    FeaturesSchema.validate(features, lazy=True)


# ---- the frame, summary, schema --------------------------------------------------------------------------------


def sample_features() -> pd.DataFrame:
    src = make_sources()
    merged, _ = merge_dataset(
        src["sales"],
        src["inventory"],
        src["costs"],
        src["locations"],
        src["receipts"],
        window_start=START,
        window_end=END,
    )
    return compute_features(merged)


def test_columns_and_schema():
    features = sample_features()
    assert list(features.columns) == list(FEATURES_COLUMNS)
    validated = FeaturesSchema.validate(features, lazy=True)
    assert len(validated) == len(features)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("stockout_risk", 1.5),
        ("abc_class", "D"),
        ("xyz_class", "Q"),
        ("safety_stock", -1.0),
        ("safety_stock_method", "guess"),
        ("annual_value", math.inf),
        ("on_hand", -2.0),
        ("lead_time_level", "somewhere"),
    ],
)
def test_schema_rejects_bad_values(column, value):
    features = sample_features()
    features[column] = features[column].astype(object)
    features.loc[1, column] = value
    with pytest.raises(SchemaErrors):
        FeaturesSchema.validate(features, lazy=True)


def test_schema_rejects_duplicate_keys_and_split_classes():
    features = sample_features()
    with pytest.raises(SchemaErrors):
        FeaturesSchema.validate(pd.concat([features, features.iloc[:1]], ignore_index=True), lazy=True)
    split = features.copy()
    p1 = split.index[split["product_id"] == "P1"]
    split.loc[p1[0], "abc_class"] = "A" if split.loc[p1[0], "abc_class"] != "A" else "B"
    with pytest.raises(SchemaErrors):
        FeaturesSchema.validate(split, lazy=True)


def test_summary():
    features = sample_features()
    summary = summarize_features(features, FeatureParameters(at_risk_threshold=0.5))
    assert summary.rows == 5 and summary.products == 3
    assert sum(summary.abc_products.values()) == 3
    assert summary.items_at_risk == int((features["stockout_risk"] > 0.5).sum())
    assert summary.expected_waste_value == pytest.approx(features["expected_waste_value"].sum())
    assert sum(summary.abc_value_share.values()) == pytest.approx(1.0)
    assert summary.pareto.equals(pareto_table(features))
    text = pareto_markdown(summary.pareto, 0.8, 0.95)
    assert "Pareto" in text and "| top % of products |" in text and "A up to 80%" in text
    numbers = summary.numbers()
    assert all(isinstance(v, (int, float)) for v in numbers.values())
    assert {"items_at_risk", "expected_waste_value", "abc_A_products"} <= set(numbers)
    assert list(summary.riskiest["stockout_risk"]) == sorted(summary.riskiest["stockout_risk"], reverse=True)
    table = pareto_table(features)
    assert table["cumulative_value_pct"].iloc[-1] == pytest.approx(100.0)
    assert table["cumulative_value_pct"].is_monotonic_increasing


def test_stockout_risk_function_for_other_positions():
    features = sample_features()
    now = stockout_risk(features, features["inventory_position"])
    assert np.allclose(now, features["stockout_risk"])
    zero = stockout_risk(features, 0.0)
    demand = features["echelon_demand_mean"].to_numpy() > 0
    assert (zero[demand] == 1.0).all() and (zero[~demand] == 0.0).all()
    assert (stockout_risk(features, 1e9) == 0.0).all()
    with pytest.raises(ValueError, match="position"):
        stockout_risk(features, np.zeros(2))


def test_empty_merged_gives_empty_features():
    features = compute_features(frame(row()).iloc[:0])
    assert list(features.columns) == list(FEATURES_COLUMNS) and len(features) == 0
    FeaturesSchema.validate(features, lazy=True)


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        FeatureParameters(abc_a_cutoff=0.9, abc_b_cutoff=0.8)
    with pytest.raises(ValueError):
        FeatureParameters(service_level_a=1.0)
    with pytest.raises(ValueError):
        FeatureParameters(review_days=-1)


def test_safety_stock_in_pieces_by_threads_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n = 101
    mean = rng.gamma(0.5, 4.0, n) * (rng.random(n) > 0.1)
    var = mean * rng.uniform(0.5, 6.0, n)
    intermittent = rng.random(n) < 0.6
    level = rng.choice([0.8, 0.95, 0.99], n)
    whole = safety_stock_module.safety_stock(mean, var, intermittent, level)
    assert set(whole.method) == {"none", "normal", "poisson", "negative_binomial"}
    pieces: list[int] = []
    one_piece = safety_stock_module._safety_stock

    def counted(m: np.ndarray, *args: Any) -> Any:
        pieces.append(len(m))
        return one_piece(m, *args)

    monkeypatch.setattr(safety_stock_module, "_safety_stock", counted)
    monkeypatch.setattr(parallel, "PIECE_ROWS", 7)
    for threads in (1, 2, 3, 0):
        pieces.clear()
        got = safety_stock_module.safety_stock(mean, var, intermittent, level, threads=threads)
        assert pieces == ([n] if threads == 1 else [7] * 14 + [3])
        for field in dataclasses.fields(got):
            np.testing.assert_array_equal(getattr(got, field.name), getattr(whole, field.name))
    with pytest.raises(ValueError, match="threads"):
        FeatureParameters(threads=-1)
