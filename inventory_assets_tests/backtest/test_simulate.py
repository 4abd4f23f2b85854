"""The simulation step by step on hand-computed cases (FIFO, expiry, transfers, lead time 0, backorders)."""

from __future__ import annotations

import numpy as np
import pytest

from inventory_assets.backtest.policies import allocate_transfers
from inventory_assets.backtest.simulate import Simulation, fifo_take, shelf_days


def run_days(sim: Simulation, demand: list[list[float]], actions=None) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for t, d in enumerate(demand):
        sim.begin_day(t)
        if actions and t in actions:
            actions[t](sim)
        out.append(sim.sell(np.array(d, dtype=float)))
    return out


def test_shelf_days_and_fifo_take() -> None:
    assert shelf_days(np.array([np.nan, 0.0, 0.5, 3.0, 3.2])).tolist() == [0, 0, 1, 3, 4]
    take = fifo_take(np.array([[2.0, 3.0, 5.0], [1.0, 0.0, 1.0]]), np.array([4.0, 5.0]))
    assert take.tolist() == [[2.0, 2.0, 0.0], [1.0, 0.0, 1.0]]


def test_oldest_lot_sold_first_and_expiry_day() -> None:
    """4 on hand (origin 0), shelf 3 days; on day 1 a purchase of 10 with lead 1 (arrives day 2).

    Day 0..2 sell 1 each from the origin-0 lot (FIFO; the fresh lot is untouched) -> 1 left; it expires at
    the start of day 3 (sellable days 0, 1, 2). The origin-2 lot sells 2 on day 3 and its remaining 8
    expire at the start of day 5.
    """
    sim = Simulation(np.array([4.0]), np.array([3]), 7, record=True)
    actions = {1: lambda s: s.schedule(np.array([0]), np.array([10.0]), np.array([1]))}
    run_days(sim, [[1], [1], [1], [2], [0], [0], [0]], actions)
    r = sim.record
    assert r is not None
    assert r.expired[:, 0].tolist() == [0, 0, 0, 1, 0, 8, 0]
    assert r.arrivals[:, 0].tolist() == [0, 0, 10, 0, 0, 0, 0]
    assert r.on_hand_after[:, 0].tolist() == [3, 2, 11, 8, 8, 0, 0]
    assert sim.on_order.tolist() == [0.0]


def test_transfer_leaves_the_parent_at_once_and_arrives_after_its_lead_time() -> None:
    """Row 0 is the DC (20 on hand), row 1 the store (0). Day 0: transfer 8 with lead 2 -> the DC has 12
    that day, the store receives 8 on day 2. Lead time 0 arrives before the same day's sales."""
    sim = Simulation(np.array([20.0, 0.0]), np.array([0, 0]), 4, record=True)

    def transfer(s: Simulation, lead: int, qty: float) -> None:
        s.transfer_out(np.array([0]), np.array([qty]))
        s.schedule(np.array([1]), np.array([qty]), np.array([lead]))

    actions = {0: lambda s: transfer(s, 2, 8.0), 3: lambda s: transfer(s, 0, 5.0)}
    results = run_days(sim, [[0, 1], [0, 1], [0, 1], [0, 6]], actions)
    r = sim.record
    assert r is not None
    assert r.on_hand_after[:, 0].tolist() == [12, 12, 12, 7]
    assert r.transfers_out[:, 0].tolist() == [8, 0, 0, 5]
    assert r.arrivals[:, 1].tolist() == [0, 0, 8, 5]
    assert [s[1] for s, _ in results] == [0, 0, 1, 6]
    assert r.short[:, 1].tolist() == [1, 1, 0, 0]
    assert r.on_hand_after[:, 1].tolist() == [0, 0, 7, 6]


def test_backorders_are_served_first_when_stock_arrives() -> None:
    sim = Simulation(np.array([1.0]), np.array([0]), 3, backorders=True, record=True)
    actions = {0: lambda s: s.schedule(np.array([0]), np.array([5.0]), np.array([2]))}
    run_days(sim, [[3], [1], [1]], actions)
    r = sim.record
    assert r is not None
    assert r.served[:, 0].tolist() == [1, 0, 1]
    assert r.short[:, 0].tolist() == [2, 1, 0]
    assert r.backlog_filled[:, 0].tolist() == [0, 0, 3]
    assert r.on_hand_after[:, 0].tolist() == [0, 0, 1]
    assert sim.backlog.tolist() == [0.0]


def test_random_days_keep_the_balance() -> None:
    rng = np.random.default_rng(7)
    n, days = 30, 20
    shelf = np.where(rng.random(n) < 0.5, rng.integers(1, 6, n), 0)
    sim = Simulation(rng.integers(0, 20, n).astype(float), shelf, days, record=True)
    for t in range(days):
        sim.begin_day(t)
        rows = np.flatnonzero(rng.random(n) < 0.3)
        if t % 3 == 0 and len(rows):
            sim.schedule(rows, rng.integers(1, 15, len(rows)).astype(float), rng.integers(0, 4, len(rows)))
        sim.sell(rng.poisson(2.0, n).astype(float))
    r = sim.record
    assert r is not None
    balance = r.on_hand_before + r.arrivals - r.served - r.backlog_filled - r.expired - r.transfers_out
    np.testing.assert_allclose(balance, r.on_hand_after, atol=1e-9)
    np.testing.assert_allclose(r.served + r.short, r.demand)
    assert (r.on_hand_after >= 0).all()
    np.testing.assert_allclose(sim.lots.sum(axis=1), sim.on_hand[sim.perishable], atol=1e-9)


def test_transfers_are_granted_by_risk_within_the_parent_stock() -> None:
    """Parent row 0 has 10; children 1, 2, 3 ask 4, 5, 6 with risks 0.2, 0.9, 0.5 (packs of 2 for row 1).

    Order by risk: row 2 gets 5 (5 left), row 3 asks 6 > 5 and gets 5 (rounded down, packs of 1), row 1
    nothing."""
    granted = allocate_transfers(
        request=np.array([0.0, 4.0, 5.0, 6.0]),
        priority=np.array([0.0, 0.2, 0.9, 0.5]),
        parent_row=np.array([-1, 0, 0, 0]),
        parent_available=np.array([10.0, 0.0, 0.0, 0.0]),
        order_multiple=np.array([1.0, 2.0, 1.0, 1.0]),
        min_qty=np.array([1.0, 2.0, 1.0, 1.0]),
    )
    assert granted.tolist() == [0.0, 0.0, 5.0, 5.0]


@pytest.mark.parametrize("lead", [0, 1])
def test_initial_on_order_is_preloaded(lead: int) -> None:
    sim = Simulation(np.array([0.0]), np.array([0]), 3, record=True)
    sim.preload(np.array([0]), np.array([7.0]), np.array([lead]))
    run_days(sim, [[0], [0], [0]])
    r = sim.record
    assert r is not None
    assert r.arrivals[:, 0].tolist() == [7 if t == lead else 0 for t in range(3)]


def test_transferred_units_keep_their_age() -> None:
    """DC (row 0) holds 6 units of origin day 0, shelf 5 days; on day 2 it sends 4 to the store (row 1)
    with lead time 1. The store's lot keeps origin 0: it arrives on day 3 and expires at the start of day 5
    (not day 3 + 5), like the 2 units left at the DC."""
    sim = Simulation(np.array([6.0, 0.0]), np.array([5, 5]), 7, record=True)

    def transfer(s: Simulation) -> None:
        origin_sum = s.transfer_out(np.array([0]), np.array([4.0]))
        s.schedule(np.array([1]), np.array([4.0]), np.array([1]), origin_sum)

    run_days(sim, [[0, 0], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [0, 0]], {2: transfer})
    r = sim.record
    assert r is not None
    assert r.expired[:, 0].tolist() == [0, 0, 0, 0, 0, 2, 0]
    assert r.expired[:, 1].tolist() == [0, 0, 0, 0, 0, 3, 0]
    assert r.arrivals[:, 1].tolist() == [0, 0, 0, 4, 0, 0, 0]
