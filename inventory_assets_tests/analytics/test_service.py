"""Expected lost units (the loss function E[(D - y)+]) and the fill rate, against published and
hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from inventory_assets import parallel
from inventory_assets.analytics.risk import demand_quantile, exceedance_probability, method_codes
from inventory_assets.analytics.service import (
    customer_facing,
    expected_lost_units,
    expected_shortage,
    fill_rate,
    normal_loss,
    service_figures,
)
from inventory_assets.contract.spec import SAFETY_STOCK_METHODS


@pytest.mark.parametrize(
    ("z", "g"),
    # Silver, Pyke & Peterson, appendix B (table of G_u(k)), four decimals; G(-z) = G(z) + z.
    [(0.0, 0.3989), (0.5, 0.1978), (1.0, 0.0833), (1.5, 0.0293), (2.0, 0.0085), (3.0, 0.0004), (-1.0, 1.0833)],
)
def test_the_standard_normal_loss_function_matches_the_published_table(z: float, g: float) -> None:
    assert float(normal_loss(z)) == pytest.approx(g, abs=5e-5)


def _one(method: str, mean: float, std: float, position: float) -> float:
    return float(expected_shortage(np.array([method], dtype=object), np.array([mean]), np.array([std]), position)[0])


def test_normal_scales_the_loss_function_by_the_standard_deviation() -> None:
    # m = 100, s = 20, y = 120: z = 1, E = 20 * 0.0833 = 1.666
    assert _one("normal", 100.0, 20.0, 120.0) == pytest.approx(20 * 0.083315, rel=1e-4)
    assert _one("normal", 100.0, 20.0, 100.0) == pytest.approx(20 * 0.398942, rel=1e-5)
    assert _one("normal", 10.0, 0.0, 4.0) == 6.0  # certain demand
    assert _one("normal", 10.0, 0.0, 12.0) == 0.0


def test_poisson_by_hand() -> None:
    # N ~ Poisson(2): E[N] = 2; E[(N - 1)+] = E[N] - 1 + P(N = 0) = 1 + e^-2
    assert _one("poisson", 2.0, math.sqrt(2.0), 0.0) == pytest.approx(2.0)
    assert _one("poisson", 2.0, math.sqrt(2.0), 1.0) == pytest.approx(1.0 + math.exp(-2.0))
    # a fractional position: sum over k >= 2 of (k - 1.5) p(k) = E[(N-1)+] - 0.5 P(N >= 2)
    p_ge_2 = 1.0 - 3.0 * math.exp(-2.0)
    assert _one("poisson", 2.0, math.sqrt(2.0), 1.5) == pytest.approx(1.0 + math.exp(-2.0) - 0.5 * p_ge_2)


def test_negative_binomial_by_hand_the_geometric_case() -> None:
    # mean 1, variance 2: nbinom(n=1, p=0.5), the geometric P(N = k) = 0.5^(k+1); E[(N - y)+] = 0.5^y
    for y, expected in [(0.0, 1.0), (1.0, 0.5), (2.0, 0.25), (3.0, 0.125), (2.5, 0.1875)]:
        assert _one("negative_binomial", 1.0, math.sqrt(2.0), y) == pytest.approx(expected), y


@pytest.mark.parametrize("position", [0.0, 1.0, 2.5, 7.0, 20.0])
def test_the_discrete_closed_forms_equal_the_direct_sums(position: float) -> None:
    support = np.arange(0, 3000)
    mean, var = 3.0, 7.0
    n, p = mean * mean / (var - mean), mean / var
    direct = float(np.sum(np.maximum(support - position, 0) * stats.nbinom.pmf(support, n, p)))
    assert _one("negative_binomial", mean, math.sqrt(var), position) == pytest.approx(direct, abs=1e-12)
    direct = float(np.sum(np.maximum(support - position, 0) * stats.poisson.pmf(support, mean)))
    assert _one("poisson", mean, math.sqrt(mean), position) == pytest.approx(direct, abs=1e-12)
    # an under-dispersed "negative binomial" is the Poisson, as in the stock-out risk
    assert _one("negative_binomial", mean, math.sqrt(mean * 0.9), position) == pytest.approx(direct, abs=1e-12)


def test_no_demand_loses_nothing_and_a_negative_position_loses_the_mean() -> None:
    assert _one("none", 0.0, 0.0, 5.0) == 0.0
    for method, std in [("normal", 3.0), ("poisson", 2.0), ("negative_binomial", 3.0)]:
        # everything is lost; the normal's loss at 0 (3 G(-4/3) = 4.13) is capped at the mean
        assert _one(method, 4.0, std, -7.0) == pytest.approx(4.0)


def test_the_loss_is_non_increasing_in_the_position_vectorised() -> None:
    positions = np.linspace(0, 40, 81)
    for method, std in [("normal", 4.0), ("poisson", math.sqrt(10.0)), ("negative_binomial", 6.0)]:
        loss = expected_shortage(
            np.full(len(positions), method, dtype=object), np.full(81, 10.0), np.full(81, std), positions
        )
        assert np.all(np.diff(loss) <= 1e-12) and loss[0] == pytest.approx(
            10.0, rel=0.05 if method == "normal" else 1e-9
        )


def test_unknown_methods_and_nan_positions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        _one("gamma", 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        _one("normal", 1.0, 1.0, float("nan"))


def test_methods_as_codes_give_what_their_names_give_and_unknown_ones_are_refused() -> None:
    rng = np.random.default_rng(3)
    names = np.array(SAFETY_STOCK_METHODS, dtype=object)[rng.integers(0, len(SAFETY_STOCK_METHODS), 400)]
    mean = rng.gamma(1.0, 3.0, 400) * (rng.random(400) > 0.1)
    std = np.sqrt(mean * rng.uniform(0.5, 3.0, 400))  # negative binomials on both sides of the Poisson
    position = rng.uniform(-2.0, 12.0, 400)
    codes = method_codes(names)
    assert codes.dtype == np.int8 and [SAFETY_STOCK_METHODS[c] for c in codes] == list(names)
    assert method_codes(codes) is codes
    for f, arg in ((expected_shortage, position), (exceedance_probability, position), (demand_quantile, 0.9)):
        np.testing.assert_array_equal(f(codes, mean, std, arg), f(names, mean, std, arg))
    with pytest.raises(ValueError, match=r"unknown safety_stock_method codes: \[4, 9\]"):
        method_codes(np.array([0, 4, 9, 4]))
    with pytest.raises(ValueError, match=r"unknown safety_stock_method values: \['None', 'gamma'\]"):
        demand_quantile(np.array(["normal", "gamma", None], dtype=object), np.ones(3), np.ones(3), 0.5)


def test_expected_lost_units_reads_the_feature_columns_and_fill_rate_sums_rows() -> None:
    features = pd.DataFrame(
        {
            "safety_stock_method": ["normal", "poisson", "none"],
            "demand_over_protection": [100.0, 2.0, 0.0],
            "demand_std_over_protection": [20.0, math.sqrt(2.0), 0.0],
        }
    )
    lost = expected_lost_units(features, np.array([120.0, 1.0, 0.0]))
    assert lost == pytest.approx([20 * 0.083315, 1 + math.exp(-2), 0.0], rel=1e-4)
    assert fill_rate(lost, features["demand_over_protection"]) == pytest.approx(1 - lost.sum() / 102.0)
    assert fill_rate(np.zeros(1), np.zeros(1)) == 1.0
    with pytest.raises(ValueError, match="values for 3 rows"):
        expected_lost_units(features, np.zeros(2))


def test_the_worked_examples_of_docs_features() -> None:
    sd = math.sqrt(208.0)
    lost = _one("normal", 120.0, sd, 120.0)
    assert lost == pytest.approx(5.75, abs=0.005)
    assert fill_rate(np.array([lost]), np.array([120.0])) == pytest.approx(0.952, abs=0.0005)
    assert _one("poisson", 1.0, 1.0, 1.0) == pytest.approx(math.exp(-1.0))


def test_quantiles_and_risks_in_pieces_by_threads_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 60
    method = rng.choice(np.array(["none", "normal", "poisson", "negative_binomial"], dtype=object), n)
    mean = rng.gamma(1.0, 5.0, n)
    std = np.sqrt(mean * rng.uniform(0.3, 4.0, n))
    position = rng.uniform(-2.0, 20.0, n)
    level = rng.uniform(0.05, 0.99, n)
    risk = exceedance_probability(method, mean, std, position)
    quantile = demand_quantile(method, mean, std, level)
    monkeypatch.setattr(parallel, "PIECE_ROWS", 7)
    for threads in (1, 2, 3, 0):
        np.testing.assert_array_equal(exceedance_probability(method, mean, std, position, threads=threads), risk)
        np.testing.assert_array_equal(demand_quantile(method, mean, std, level, threads=threads), quantile)
        np.testing.assert_array_equal(
            demand_quantile(method, mean, std, 0.9, threads=threads), demand_quantile(method, mean, std, 0.9)
        )


def test_lost_units_and_service_figures_in_pieces_by_threads_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 45
    method = rng.choice(np.array(["none", "normal", "poisson", "negative_binomial"], dtype=object), n)
    mean = rng.gamma(1.0, 5.0, n)
    features = pd.DataFrame(
        {
            "product_id": [f"P{i // 3}" for i in range(n)],
            "location_id": ["DC", "S1", "S2"] * (n // 3),
            "parent_location_id": [None, "DC", "DC"] * (n // 3),
            "safety_stock_method": method,
            "demand_over_protection": mean,
            "demand_std_over_protection": np.sqrt(mean * rng.uniform(0.3, 4.0, n)),
            "unit_cost": rng.uniform(1.0, 9.0, n),
        }
    )
    before, after = rng.uniform(-2.0, 20.0, n), rng.uniform(0.0, 30.0, n)
    lost = expected_lost_units(features, before)
    facing = customer_facing(features)
    reference = service_figures(features, before, after)
    # the customer-facing rows' own lost units, priced on them alone: the same values as on every row
    assert reference.rows == int(facing.sum()) == 30
    assert reference.lost_units_before == float(lost[facing].sum())
    assert reference.lost_value_before == float((lost[facing] * features["unit_cost"].to_numpy()[facing]).sum())
    monkeypatch.setattr(parallel, "PIECE_ROWS", 7)
    for threads in (1, 2, 0):
        np.testing.assert_array_equal(expected_lost_units(features, before, threads=threads), lost)
        assert service_figures(features, pd.Series(before), after, threads=threads) == reference
