"""Day-by-day inventory simulation of every (product, location) pair at once (numpy; a loop over days only).

Conventions (``docs/backtest.md`` states them with examples). Days are integers ``t = 0 .. n_days - 1``
from the first held-out day. Each day runs, for all pairs at once:

1. :meth:`Simulation.begin_day` -- **receive** everything scheduled to arrive on day ``t``, then
   **expire** perishable lots: a lot of origin day ``o`` is sellable on days ``o .. o + S - 1`` and written
   off (waste) at the start of day ``o + S`` (``S`` = whole shelf-life days);
2. the caller's **review** (on review days): :meth:`Simulation.transfer_out` takes transfers from the
   parents' on hand at once (oldest lots first) and :meth:`Simulation.schedule` books what arrives later
   (an arrival on day ``t`` itself is received at once, before the sales);
3. :meth:`Simulation.sell` -- demand is served from on hand, oldest lots first (FIFO); what cannot be
   served is lost (default) or backordered (``backorders=True``: the backlog is served first on later
   days).

State per pair: ``on_hand``, ``on_order`` (scheduled, not yet received, including arrivals beyond the
horizon), ``backlog``, the arrivals scheduled per day (a dense ``(n_days, n)`` array), and for perishable
pairs the units on hand per origin day (a dense ``(m, n_days)`` array: slot 0 holds the initial stock).
The origin day of a purchase is its arrival day; transferred units carry the quantity-weighted mean origin
of the parent lots they were taken from (rounded down: never younger than the oldest day in the mean
would make them). Memory: ``8 (n + 2 m) n_days`` bytes plus ``O(n)``: about 1.35 GB for 1M pairs, all
perishable, over 56 days.

Balance, per pair and day (tested): ``on_hand_before + arrivals - served - backlog_filled - expired -
transfers_out = on_hand_after``; ``served + short = demand``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DailyRecord", "Simulation", "fifo_take", "shelf_days"]

_ORIGIN_EPS = 1e-9


def shelf_days(shelf_life_days: np.ndarray) -> np.ndarray:
    """Whole shelf-life days per pair: ``max(1, ceil(shelf_life_days))``; 0 = not perishable (NaN, <= 0)."""
    shelf = np.asarray(shelf_life_days, dtype=float)
    perishable = np.isfinite(shelf) & (shelf > 0)
    return np.where(perishable, np.maximum(1, np.ceil(np.where(perishable, shelf, 0.0) - _ORIGIN_EPS)), 0).astype(
        np.int64
    )


def fifo_take(lots: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """Units taken from each lot (columns oldest first) when ``quantity`` leaves each row, oldest first.

    ``take[k, j] = clip(quantity[k] - sum(lots[k, :j]), 0, lots[k, j])``: a vectorised FIFO.
    """
    cum = np.cumsum(lots, axis=1)
    before = cum - lots
    return np.clip(quantity[:, None] - before, 0.0, lots)


@dataclass(frozen=True, eq=False)
class DailyRecord:
    """Per day and pair (arrays ``(n_days, n)``): the flows of the balance, kept when ``record=True``."""

    on_hand_before: np.ndarray
    arrivals: np.ndarray
    served: np.ndarray
    short: np.ndarray
    """Demand not served on its day (lost, or backordered)."""
    backlog_filled: np.ndarray
    expired: np.ndarray
    transfers_out: np.ndarray
    on_hand_after: np.ndarray
    demand: np.ndarray


class Simulation:
    """The stock of ``n`` pairs over ``n_days`` days under one policy (see the module docstring)."""

    def __init__(
        self,
        on_hand: np.ndarray,
        shelf: np.ndarray,
        n_days: int,
        *,
        backorders: bool = False,
        record: bool = False,
    ) -> None:
        on_hand = np.asarray(on_hand, dtype=float)
        if (~np.isfinite(on_hand)).any() or (on_hand < 0).any():
            raise ValueError("initial on hand must be finite and >= 0")
        if n_days < 1:
            raise ValueError("n_days must be >= 1")
        n = len(on_hand)
        self.n, self.n_days, self.backorders = n, int(n_days), bool(backorders)
        self.day = -1
        self.on_hand = on_hand.copy()
        self.on_order = np.zeros(n)
        self.backlog = np.zeros(n)
        self.inbound = np.zeros((self.n_days, n))
        self.shelf = np.asarray(shelf, dtype=np.int64)
        self.perishable = np.flatnonzero(self.shelf > 0)
        self.slot = np.full(n, -1, dtype=np.int64)
        self.slot[self.perishable] = np.arange(len(self.perishable))
        self.max_shelf = int(self.shelf.max()) if len(self.perishable) else 0
        self.lots = np.zeros((len(self.perishable), self.n_days))
        self.lots[:, 0] = on_hand[self.perishable]
        self.inbound_origin = np.zeros((self.n_days, len(self.perishable)))
        self.record: DailyRecord | None = None
        if record:
            self.record = DailyRecord(*(np.zeros((self.n_days, n)) for _ in range(9)))
        self._today_arrivals = np.zeros(n)
        self._today_expired = np.zeros(n)
        self._today_out = np.zeros(n)
        self._today_filled = np.zeros(n)

    def preload(self, rows: np.ndarray, quantity: np.ndarray, arrival_day: np.ndarray) -> None:
        """Before day 0: book stock already on order to arrive on ``arrival_day`` (0-based; rows unique).

        Its origin (perishables) is its arrival day, like a purchase."""
        if self.day != -1:
            raise ValueError("preload only before the first day")
        rows = np.asarray(rows, dtype=np.int64)
        quantity = np.asarray(quantity, dtype=float)
        arrival = np.asarray(arrival_day, dtype=np.int64)
        if (arrival < 0).any():
            raise ValueError("arrival days must be >= 0")
        self.on_order[rows] += quantity
        inside = arrival < self.n_days
        self.inbound[arrival[inside], rows[inside]] += quantity[inside]
        k = self.slot[rows]
        per = inside & (k >= 0)
        self.inbound_origin[arrival[per], k[per]] += arrival[per] * quantity[per]

    # ---- day step 1 ---------------------------------------------------------------------------------
    def begin_day(self, t: int) -> None:
        """Receive day ``t``'s arrivals, then write off the lots that expire on day ``t``."""
        if t != self.day + 1:
            raise ValueError(f"days must be simulated in order: expected {self.day + 1}, got {t}")
        self.day = t
        if self.record is not None:
            self.record.on_hand_before[t] = self.on_hand
        self._today_arrivals = np.zeros(self.n)
        self._today_expired = np.zeros(self.n)
        self._today_out = np.zeros(self.n)
        self._receive(t)
        self._expire(t)

    def _receive(self, t: int) -> None:
        arriving = self.inbound[t].copy()
        self.inbound[t] = 0.0
        origin_sum = self.inbound_origin[t].copy()
        self.inbound_origin[t] = 0.0
        self._book_arrival(t, arriving, origin_sum)

    def _book_arrival(self, t: int, arriving: np.ndarray, origin_sum: np.ndarray) -> None:
        """Put ``arriving`` (per pair) on hand today; perishables into their origin lots (or expired)."""
        self.on_hand += arriving
        self.on_order -= arriving
        self._today_arrivals += arriving
        if not len(self.perishable):
            return
        qty = arriving[self.perishable]
        k = np.flatnonzero(qty > 0)
        if not len(k):
            return
        origin = np.floor(origin_sum[k] / qty[k] + _ORIGIN_EPS).astype(np.int64)
        origin = np.clip(origin, 0, t)
        dead = origin + self.shelf[self.perishable[k]] <= t
        live = ~dead
        self.lots[k[live], origin[live]] += qty[k[live]]
        if dead.any():
            rows = self.perishable[k[dead]]
            self.on_hand[rows] -= qty[k[dead]]
            self._today_expired[rows] += qty[k[dead]]

    def _expire(self, t: int) -> None:
        if not len(self.perishable):
            return
        origin = t - self.shelf[self.perishable]
        k = np.flatnonzero(origin >= 0)
        if not len(k):
            return
        gone = self.lots[k, origin[k]].copy()
        self.lots[k, origin[k]] = 0.0
        rows = self.perishable[k]
        self.on_hand[rows] -= gone
        self._today_expired[rows] += gone

    # ---- day step 2 (review days) -------------------------------------------------------------------
    def _window(self) -> slice:
        return slice(max(0, self.day - self.max_shelf + 1), self.day + 1)

    def _take_lots(self, rows: np.ndarray, quantity: np.ndarray) -> np.ndarray:
        """Take ``quantity`` from the perishable ``rows``' lots, oldest first; return sum(take x origin)."""
        origin_sum = np.zeros(len(rows))
        k_all = self.slot[rows]
        sel = np.flatnonzero((k_all >= 0) & (quantity > 0))
        if not len(sel):
            return origin_sum
        k = k_all[sel]
        window = self._window()
        block = self.lots[k, window]
        take = fifo_take(block, quantity[sel])
        self.lots[k, window] = block - take
        origin_sum[sel] = take @ np.arange(window.start, window.stop, dtype=float)
        return origin_sum

    def transfer_out(self, parent: np.ndarray, quantity: np.ndarray) -> np.ndarray:
        """Take transfers from the parents' on hand now; ``parent`` rows unique. Returns sum(qty x origin).

        The caller has checked that ``quantity <= on_hand[parent]``.
        """
        parent = np.asarray(parent, dtype=np.int64)
        quantity = np.asarray(quantity, dtype=float)
        self.on_hand[parent] -= quantity
        self._today_out[parent] += quantity
        return self._take_lots(parent, quantity)

    def schedule(
        self, rows: np.ndarray, quantity: np.ndarray, lead_days: np.ndarray, origin_sum: np.ndarray | None = None
    ) -> np.ndarray:
        """Book ``quantity`` to arrive at ``rows`` on day ``today + lead_days`` (rows unique); returns the day.

        ``origin_sum``: sum of quantity x origin day of transferred perishable units (None: purchases, whose
        origin is their arrival day). An arrival beyond the horizon stays on order. Lead time 0 arrives
        at once (before today's sales).
        """
        rows = np.asarray(rows, dtype=np.int64)
        quantity = np.asarray(quantity, dtype=float)
        arrival = self.day + np.asarray(lead_days, dtype=np.int64)
        if (lead_days_neg := arrival < self.day).any():
            raise ValueError(f"negative lead times for {int(lead_days_neg.sum())} rows")
        self.on_order[rows] += quantity
        origin = arrival.astype(float) * quantity if origin_sum is None else np.asarray(origin_sum, dtype=float)
        now = arrival == self.day
        later = (arrival > self.day) & (arrival < self.n_days)
        self.inbound[arrival[later], rows[later]] += quantity[later]
        k = self.slot[rows]
        per = later & (k >= 0)
        self.inbound_origin[arrival[per], k[per]] += origin[per]
        if now.any():
            arriving = np.zeros(self.n)
            arriving[rows[now]] = quantity[now]
            origin_now = np.zeros(len(self.perishable))
            per_now = now & (k >= 0)
            origin_now[k[per_now]] = origin[per_now]
            self._book_arrival(self.day, arriving, origin_now)
        return arrival

    # ---- day step 3 ---------------------------------------------------------------------------------
    def sell(self, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Serve day ``t``'s demand (backlog first with backorders); returns ``(served, short)``."""
        demand = np.asarray(demand, dtype=float)
        filled = np.minimum(self.on_hand, self.backlog) if self.backorders else np.zeros(self.n)
        served = np.minimum(self.on_hand - filled, demand)
        short = demand - served
        leaving = served + filled
        self._today_filled = filled
        self.on_hand -= leaving
        np.maximum(self.on_hand, 0.0, out=self.on_hand)  # float round-off only
        if self.backorders:
            self.backlog += short - filled
        if len(self.perishable):
            moving = self.perishable[leaving[self.perishable] > 0]
            self._take_lots(moving, leaving[moving])
        if self.record is not None:
            t, r = self.day, self.record
            r.arrivals[t], r.served[t], r.short[t] = self._today_arrivals, served, short
            r.backlog_filled[t], r.expired[t], r.transfers_out[t] = filled, self._today_expired, self._today_out
            r.on_hand_after[t], r.demand[t] = self.on_hand, demand
        return served, short

    @property
    def expired_today(self) -> np.ndarray:
        return self._today_expired

    @property
    def backlog_filled_today(self) -> np.ndarray:
        return self._today_filled

    @property
    def transfers_out_today(self) -> np.ndarray:
        return self._today_out
