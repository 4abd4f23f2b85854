"""Property tests (hypothesis) for the invariants of the features layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory_assets.analytics.abc import abc_classes
from inventory_assets.analytics.features import FeatureParameters, compute_features
from inventory_assets.analytics.risk import exceedance_probability, stockout_risk
from inventory_assets.analytics.safety_stock import protection_demand, safety_stock

from .test_features import frame, row

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

demand_mean = st.one_of(st.just(0.0), st.floats(1e-4, 500.0))
demand_std = st.one_of(st.just(0.0), st.floats(1e-4, 100.0))
lead_time = st.floats(0.0, 60.0)
lead_time_std = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
service = st.floats(0.01, 0.999)
intermittent = st.booleans()


def ss_of(mu, sd, lt, lts, alpha, inter, review=7.0) -> float:
    _, m, v = protection_demand(np.array([mu]), np.array([sd]), np.array([lt]), np.array([lts]), review)
    return float(safety_stock(m, v, np.array([inter]), np.array([alpha])).safety_stock[0])


@SETTINGS
@given(mu=demand_mean, sd=demand_std, lt=lead_time, lts=lead_time_std, inter=intermittent, a1=service, a2=service)
def test_safety_stock_non_decreasing_in_service_level(mu, sd, lt, lts, inter, a1, a2):
    lo, hi = sorted((a1, a2))
    assert ss_of(mu, sd, lt, lts, lo, inter) <= ss_of(mu, sd, lt, lts, hi, inter) + 1e-9


@SETTINGS
@given(mu=demand_mean, s1=demand_std, s2=demand_std, lt=lead_time, lts=lead_time_std, inter=intermittent, alpha=service)
def test_safety_stock_non_decreasing_in_demand_variability(mu, s1, s2, lt, lts, inter, alpha):
    lo, hi = sorted((s1, s2))
    assert ss_of(mu, lo, lt, lts, alpha, inter) <= ss_of(mu, hi, lt, lts, alpha, inter) + 1e-9


@SETTINGS
@given(
    mu=demand_mean, sd=demand_std, lt=lead_time, l1=lead_time_std, l2=lead_time_std, inter=intermittent, alpha=service
)
def test_safety_stock_non_decreasing_in_lead_time_variability(mu, sd, lt, l1, l2, inter, alpha):
    lo, hi = sorted((l1, l2))
    assert ss_of(mu, sd, lt, lo, alpha, inter) <= ss_of(mu, sd, lt, hi, alpha, inter) + 1e-9


@SETTINGS
@given(
    mu=demand_mean,
    sd=demand_std,
    lt=lead_time,
    lts=lead_time_std,
    sale_days=st.integers(0, 90),
    positions=st.lists(st.floats(-10.0, 5e4), min_size=1, max_size=12),
)
def test_risk_in_unit_interval_and_non_increasing_in_position(mu, sd, lt, lts, sale_days, positions):
    sale_days = sale_days if mu > 0 else 0
    features = compute_features(
        frame(
            row(
                demand_mean=mu,
                demand_std=sd if mu > 0 else 0.0,
                sale_days=max(sale_days, int(mu > 0)),
                lead_time_mean=lt,
                lead_time_std=lts,
            )
        ),
        FeatureParameters(),
    )
    positions = np.sort(np.asarray(positions))
    repeated = features.loc[[0] * len(positions)].reset_index(drop=True)
    risk = stockout_risk(repeated, positions)
    assert ((risk >= 0) & (risk <= 1)).all()
    assert (np.diff(risk) <= 1e-12).all()
    if mu == 0:
        assert (risk == 0).all()
    else:
        assert (risk[positions <= 0] == 1).all()


@SETTINGS
@given(
    method=st.sampled_from(["none", "normal", "poisson", "negative_binomial"]),
    mean=st.floats(0.0, 1e4),
    std=st.floats(0.0, 1e3),
    p1=st.floats(-1e3, 1e5),
    p2=st.floats(-1e3, 1e5),
)
def test_exceedance_probability_bounds_and_order(method, mean, std, p1, p2):
    lo, hi = sorted((p1, p2))
    risk = exceedance_probability(
        np.array([method, method], dtype=object), np.array([mean] * 2), np.array([std] * 2), np.array([lo, hi])
    )
    assert ((risk >= 0) & (risk <= 1)).all()
    assert risk[0] >= risk[1]


values_strategy = st.lists(
    st.one_of(st.just(0.0), st.sampled_from([1.0, 5.0, 10.0, 100.0]), st.floats(1e-3, 1e6)), min_size=1, max_size=60
)
cutoffs = st.tuples(st.floats(0.05, 1.0), st.floats(0.05, 1.0)).map(sorted)


@SETTINGS
@given(values=values_strategy, cuts=cutoffs)
def test_abc_covers_every_product_and_respects_cutoffs(values, cuts):
    a, b = cuts
    v = np.asarray(values)
    classes = abc_classes(v, a, b)
    assert len(classes) == len(v) and set(classes) <= {"A", "B", "C"}
    total = v.sum()
    above = np.array([v[v > x].sum() for x in v]) / total if total > 0 else np.ones(len(v))
    tol = 1e-9
    for cls, share, value in zip(classes, above, v, strict=True):
        if value == 0:
            assert cls == "C"
        elif cls == "A":
            assert share < a + tol
        elif cls == "B":
            assert a - tol <= share < b + tol
        else:
            assert share >= b - tol
    # equal values share a class; a higher value never has a worse class
    order = {"A": 0, "B": 1, "C": 2}
    rank = np.array([order[c] for c in classes])
    for i in range(len(v)):
        assert (rank[v > v[i]] <= rank[i]).all()
    # deterministic: same classes whatever the row order
    perm = np.random.default_rng(0).permutation(len(v))
    assert list(abc_classes(v[perm], a, b)) == list(classes[perm])
    if total > 0:
        top = v.max()
        assert classes[v == top][0] == "A"


@SETTINGS
@given(values=values_strategy)
def test_abc_value_shares_reach_the_cutoffs(values):
    v = np.asarray(values)
    classes = abc_classes(v)
    total = v.sum()
    if total > 0:
        # the A set holds at least 80 % of the value unless it is every valued product
        a_share = v[classes == "A"].sum() / total
        valued = (v > 0).sum()
        assert a_share >= 0.8 - 1e-9 or (classes == "A").sum() == valued or (classes != "C").sum() == valued
        ab_share = v[classes != "C"].sum() / total
        assert ab_share >= 0.95 - 1e-9 or (classes != "C").sum() == valued


def test_frame_level_safety_stock_is_monotone_in_service_level():
    # the same row in classes A, B, C (via three service levels) keeps its order
    merged = frame(row(demand_mean=0.3, demand_std=1.2, sale_days=12, lead_time_mean=9.0, lead_time_std=3.0))
    out = [
        compute_features(merged, FeatureParameters(service_level_a=s, service_level_b=s, service_level_c=s)).iloc[0][
            "safety_stock"
        ]
        for s in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
    ]
    assert out == sorted(out)
    assert isinstance(pd.Series(out).iloc[0], float)
