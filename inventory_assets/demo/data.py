"""Demo data at any scale: a seeded generator of the contract's source tables and a fast loader.

``generate(spec)`` returns the five source tables (``sales``, ``locations``, ``inventory``, ``costs``,
``receipts``) as DataFrames with exactly the contract's columns. It is pure and vectorised (numpy): the
same spec and seed give the same frames. ``generate_streaming(spec)`` gives the same data with ``sales``
as an iterable of chunks (a few hundred thousand to a million rows each), so that the large preset never
holds all its sale lines in memory. ``write(frames, cloud_url, onprem_url)`` creates the tables of
:mod:`inventory_assets.contract.tables` and bulk-loads them (``io.bulk.BulkLoader``: SQLite ``executemany`` in one
transaction; PostgreSQL ``COPY``; MySQL/MariaDB multi-row ``INSERT``); it refuses to touch existing tables unless
``replace=True``. ``build(spec, cloud_url, onprem_url)`` does both, streaming.

What the data looks like (a retailer with distribution centres (DCs) and stores):

* the network: DCs at echelon 0 buy from suppliers; stores at echelon 1 are replenished from a DC
  (assigned round-robin). DCs have no capacity limit (or a large one); stores have a capacity that binds
  for about one store in five when every item is brought up to a textbook order-up-to level;
* every product is stocked at every location, except a handful of (product, store) pairs;
* demand per (product, store) is heavy-tailed (lognormal velocity: a few fast movers, a long tail of slow
  items with far less than one unit a day, so sales are intermittent), cheaper and perishable items sell
  faster, about 1 % of stocked store pairs sell nothing; daily sale lines are Poisson with a
  gamma-distributed day factor (negative binomial), a weekly profile peaking on Saturday
  (:data:`WEEKDAY_PROFILE`), a store-day factor (weather, events) and a per-product level; fast movers
  sell several units per line. Velocity per item falls as the assortment grows (a store's traffic is
  finite), which keeps the large preset at about 12 million sale lines (medium about 13.9 million, small
  about 229,000); sale lines carry the list price (unit cost x a 1.3-2.4 markup), about 6 % a promotion
  price, about 1 % no price;
* something for a forecast to find (``docs/demo-data.md``; :func:`demo_truth` and
  :func:`demo_lumpy_pairs` say what generated it): most products have a gentle trend (a factor
  exp(N(0, 0.15)) over the window), about 15 % a strong one (x2 to x3 up or down over the window); about
  4 % are new (nothing sells before a launch day in the window, then a two-week linear ramp-up) and 4 %
  die (after a fade day their rate decays as exp(-days / 7)); launch and fade days lie between 1/6 and
  2/3 of the window. About 10 % of the slow store pairs (0.05-0.3 units a day) are lumpy: 80 % of their
  units come as single lines of 4-15 units on rare days (a lump's chance on a day is 0.8 x the day's
  rate / 9.5), the rest as ordinary sales, so that their mean rate stays;
* unit costs lognormal in $1-$200; annual holding rates 0.15-0.35; stock-out penalties 0.5-2 x the
  margin (and above a year's holding cost); about a third of products are perishable (shelf life 3-30
  days, waste cost about the unit cost; 0 for the others, which never expire); case packs of 1/6/12/24 (a
  few unknown), minimum order quantities in whole cases for some products;
* each product has a supplier (``costs.supplier_id`` and ``supplier_name``; products carry readable
  ``product_name`` s) with its own mean lead time (2-21 days) and variability; stores receive
  from their DC in 1-3 days; a few receipts per pair within the window;
* stock on hand is demand x days of cover with a spread: some pairs are out of stock or below two days of
  cover, some hold more than 60 days; stores hold about twelve days (median), DCs about five days of
  their stores' demand; some open orders (``on_order``), often unknown (NULL). The demand stock is sized
  on is the rate at the end of the window (a new product's full rate: launch stock); a dying product
  holds what it held on its fade day less what has sold since (leftovers) and has no open orders; a new
  product's receipts start three days before its launch, a dying one's stop a week after its fade day.

Calibrated so that at the ``small`` size a $100,000 budget is a real constraint: topping every DC up to
a textbook order-up-to level costs well over $100,000, the safety stock of the products that make 80 % of
the consumption value costs well under it. (Features over the last 90 days with the window's mean: the
DC top-up costs about $124,000, bringing every class-A row up to its safety stock about $11,000, the
plan's critical minimum of supplier purchases about $4,000; with ``demand_forecast``: about $126,000,
$11,000 and $4,000.)
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats

from inventory_assets.contract import tables as t
from inventory_assets.io import bulk, db

__all__ = [
    "DemoSpec",
    "PRESETS",
    "TABLE_COLUMNS",
    "TablesExistError",
    "SalesChunks",
    "PATTERNS",
    "WEEKDAY_PROFILE",
    "generate",
    "generate_streaming",
    "demo_truth",
    "demo_lumpy_pairs",
    "existing_tables",
    "write",
    "build",
]

Progress = Callable[[str], None]

#: The contract's columns of each source table, in order.
TABLE_COLUMNS: dict[str, list[str]] = {name: [c.name for c in table.columns] for name, table in t.SOURCE_TABLES.items()}


@dataclass(frozen=True)
class DemoSpec:
    """The size of the demo retailer: products, DCs, stores, days of sales history, seed, last day."""

    products: int
    dcs: int
    stores: int
    days: int
    seed: int = 42
    end_date: date = date(2026, 11, 20)

    def __post_init__(self) -> None:
        for name in ("products", "dcs", "stores", "days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"DemoSpec.{name} must be a positive integer, got {value!r}")
        if self.products > 99_999_999 or self.dcs > 99 * 99 or self.stores > 999_999:
            raise ValueError("DemoSpec is larger than the id formats allow (99,999,999 products)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"DemoSpec.seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.end_date, date):
            raise ValueError(f"DemoSpec.end_date must be a date, got {self.end_date!r}")

    @property
    def start_date(self) -> date:
        """The first day of the sales window (inclusive)."""
        return (pd.Timestamp(self.end_date) - pd.Timedelta(days=self.days - 1)).date()

    def replace(self, **changes: Any) -> DemoSpec:
        """A copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


PRESETS: dict[str, DemoSpec] = {
    "small": DemoSpec(products=200, dcs=1, stores=5, days=120),
    "medium": DemoSpec(products=10_000, dcs=2, stores=20, days=180),
    "large": DemoSpec(products=100_000, dcs=1, stores=9, days=90),
}

# --- tunables ---------------------------------------------------------------------------------------------

_WEEKLY = np.array([0.86, 0.83, 0.88, 0.95, 1.12, 1.30, 1.06])  # Monday .. Sunday
_WEEKLY = _WEEKLY / _WEEKLY.mean()
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_PROFILE: tuple[float, ...] = tuple(float(v) for v in _WEEKLY)
"""The weekday factors of demand, Monday .. Sunday (mean 1; Saturday the peak at about 1.30)."""
_SHELF_LIVES = np.array([3, 4, 5, 7, 10, 14, 21, 30])
_SHELF_LIFE_WEIGHTS = np.array([0.08, 0.07, 0.15, 0.20, 0.15, 0.15, 0.10, 0.10])
_CASE_PACKS = np.array([1, 6, 12, 24])
# Demand dynamics (docs/demo-data.md): shares of products, launch/fade windows, ramp and decay, lumps.
_NEW_SHARE, _DYING_SHARE, _STRONG_SHARE = 0.04, 0.04, 0.15  # of products; the rest keep the gentle trend
_GENTLE_TREND_SD = 0.15  # sd of the log trend factor over the window of the other products
_STRONG_TREND = (np.log(2.0), np.log(3.0))  # |log trend factor over the window| of the strong trends
_LIFE_WINDOW = (1 / 6, 2 / 3)  # launch and fade days are drawn in this part of the window
_RAMP_DAYS = 14  # a new product reaches its rate linearly over its first two weeks
_FADE_DAYS = 7.0  # a dying product's rate decays as exp(-(days since the fade day) / 7)
_LUMPY_SHARE, _LUMPY_RATES = 0.10, (0.05, 0.3)  # of the store pairs whose base rate is in this range
_LUMP_SHARE = 0.8  # share of a lumpy pair's units that come in lumps (the rest are ordinary sales)
_LUMP_SIZES = (4, 15)  # units in a lump, uniform (inclusive)
_LUMP_MEAN = (_LUMP_SIZES[0] + _LUMP_SIZES[1]) / 2
_RECENT_DAYS = 90  # the features' default window: what the plan sizes demand on
_PAIR_BLOCK = 1 << 20  # store pairs per random stream in the sales generator (fixed: keeps data chunk-independent)
_TOWNS = (
    "Springfield",
    "Riverside",
    "Fairview",
    "Greenville",
    "Bristol",
    "Clinton",
    "Georgetown",
    "Salem",
    "Madison",
    "Franklin",
    "Ashland",
    "Burlington",
    "Dover",
    "Hudson",
    "Kingston",
    "Milton",
    "Newport",
    "Oxford",
    "Lakewood",
    "Arlington",
)

# Stream tags: each part of the data draws from its own seeded stream, so changing one part's logic
# or size never shifts another part's random numbers.
_S_PRODUCTS, _S_LOCATIONS, _S_PAIRS, _S_INVENTORY, _S_RECEIPTS, _S_SALES, _S_NAMES = range(1, 8)
_S_DYNAMICS = 8  # trends, launches, fades and lumps (added later: drawn apart so the older draws stay)

# Names: drawn from their own stream, so naming never shifts a number (the same seed, the same plan).
_SUPPLIER_KINDS = ("Foods", "Wholesale", "Trading", "Farms", "Imports", "Distribution", "Brands", "Supply")
_FRESH_ITEMS = (
    "Milk",
    "Yogurt",
    "Cheddar",
    "Butter",
    "Eggs",
    "Sourdough",
    "Baguette",
    "Strawberries",
    "Salad Mix",
    "Chicken Breast",
    "Salmon Fillet",
    "Hummus",
    "Orange Juice",
    "Tortillas",
    "Mozzarella",
    "Blueberries",
)
_SHELF_ITEMS = (
    "Coffee Beans",
    "Green Tea",
    "Pasta",
    "Basmati Rice",
    "Olive Oil",
    "Tomato Sauce",
    "Peanut Butter",
    "Oat Flakes",
    "Dark Chocolate",
    "Sea Salt Crisps",
    "Dish Soap",
    "Paper Towels",
    "Laundry Liquid",
    "Shampoo",
    "Toothpaste",
    "Batteries",
    "Sparkling Water",
    "Canned Tuna",
    "Honey",
    "Granola",
)
_BRANDS = ("Harvest", "Northfield", "Blue Hill", "Golden Acre", "Maple & Co", "Everyday", "Summit", "Riverbend")
_SIZES = ("250 g", "500 g", "1 kg", "1 l", "6-pack", "12-pack", "family size", "2 l")


def _rng(spec: DemoSpec, *stream: int) -> np.random.Generator:
    return np.random.default_rng([int(spec.seed), *stream])


# --- the model behind the tables ------------------------------------------------------------------------


@dataclass
class _World:
    """Everything the tables derive from (arrays indexed by product, location or store pair)."""

    spec: DemoSpec
    product_ids: np.ndarray  # object array of str
    location_ids: np.ndarray  # DCs first, then stores
    store_dc: np.ndarray  # DC index of each store
    # products
    unit_cost: np.ndarray
    price: np.ndarray
    perishable: np.ndarray
    pack: np.ndarray  # case pack, float; NaN = unknown (treated as 1)
    moq: np.ndarray  # NaN = none
    supplier_lead: np.ndarray  # mean supplier lead time of the product (days)
    supplier_cv: np.ndarray
    supplier: np.ndarray  # supplier index of each product
    n_suppliers: int
    units_per_line: np.ndarray
    trend: np.ndarray  # log of the trend factor over the window: level exp(trend * x), x in [-0.5, 0.5]
    pattern: np.ndarray  # per product: 0 steady (gentle trend), 1 strong trend, 2 new, 3 dying
    launch: np.ndarray  # day index of a new product's first day on sale; -inf for the others
    fade: np.ndarray  # day index after which a dying product's rate decays; +inf for the others
    # store pairs, (products, stores)
    stocked: np.ndarray  # bool
    rate: np.ndarray  # base rate: units/day at level 1 (before weekday, trend, life cycle); 0: not stocked, dead
    lumpy: np.ndarray  # bool: part of the pair's units come in occasional lumps
    # per product, relative to the base rate (rates are products: the (P, S) arrays are made when used)
    level_now: np.ndarray  # what stock is sized on: the level at the end of the window (a new product's full level)
    level_plan: np.ndarray  # what a plan may ask a store to hold: max(level_now, mean level of the recent days)
    level_fade: np.ndarray  # a dying product's level on its fade day (its stock then), 0 for the others
    # DC pairs, (products, dcs)
    dc_rate: np.ndarray  # sum of the rate_now of the DC's stores

    @property
    def rate_now(self) -> np.ndarray:
        return self.rate * self.level_now[:, None]

    @property
    def rate_plan(self) -> np.ndarray:
        return self.rate * self.level_plan[:, None]

    @property
    def rate_fade(self) -> np.ndarray:
        return self.rate * self.level_fade[:, None]


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    width = max(width, len(str(count)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _world(spec: DemoSpec) -> _World:
    P, D, S = spec.products, spec.dcs, spec.stores
    rng = _rng(spec, _S_PRODUCTS)

    perishable = rng.random(P) < 1 / 3
    log_cost = np.where(perishable, np.log(3.5), np.log(10.0)) + rng.normal(0, 0.9, P)
    unit_cost = np.round(np.clip(np.exp(log_cost), 1.0, 200.0), 2)
    markup = np.where(perishable, rng.uniform(1.30, 1.80, P), rng.uniform(1.35, 2.40, P))
    raw_price = unit_cost * markup
    price = np.where(raw_price >= 3, np.ceil(raw_price) - 0.01, np.round(raw_price, 2))

    # Velocity per store: lognormal, faster for cheap and perishable items, slower as the assortment grows.
    median_rate = 0.8 * (200.0 / P) ** 0.46
    z = rng.normal(0, 1, P)
    log_rate = np.log(median_rate) + 1.35 * z - 0.35 * (np.log(unit_cost) - np.log(10.0)) + 0.35 * perishable
    product_rate = np.exp(log_rate)
    units_per_line = 1.0 + 1.0 * np.clip(np.log(np.maximum(product_rate, 1e-9)) / np.log(20.0), 0.0, 1.0)
    gentle_trend = rng.normal(0.0, _GENTLE_TREND_SD, P)

    # Case packs follow velocity; a few are unknown.
    speed = np.digitize(product_rate, [0.25, 2.0])  # 0 slow, 1 medium, 2 fast
    pack_probs = np.array([[0.55, 0.35, 0.10, 0.00], [0.20, 0.40, 0.30, 0.10], [0.05, 0.25, 0.40, 0.30]])
    u = rng.random(P)
    pack = _CASE_PACKS[(u[:, None] > np.cumsum(pack_probs[speed], axis=1)).sum(axis=1).clip(0, 3)].astype(float)
    pack[rng.random(P) < 0.03] = np.nan
    moq_cases = np.choose(speed, [np.ones(P), rng.choice([1, 2], P), rng.choice([2, 4], P)])
    moq = np.where(rng.random(P) < 0.4, np.nan, np.nan_to_num(pack, nan=1.0) * moq_cases)

    # Suppliers: Zipf-like sizes, each with a mean lead time (domestic 2-10 days, imports 10-21) and a CV.
    n_suppliers = int(np.clip(round(P / 20), 6, 500))
    weights = 1.0 / np.arange(1, n_suppliers + 1) ** 0.8
    supplier = rng.choice(n_suppliers, P, p=weights / weights.sum())
    s_rng = _rng(spec, _S_PRODUCTS, 1)
    imports = s_rng.random(n_suppliers) < 0.3
    imports[:2] = [False, True]  # at least one domestic and one overseas supplier
    s_lead = np.where(imports, s_rng.uniform(10, 21, n_suppliers), s_rng.uniform(2, 10, n_suppliers))
    s_cv = s_rng.uniform(0.05, 0.35, n_suppliers)

    loc_rng = _rng(spec, _S_LOCATIONS)
    store_factor = np.exp(loc_rng.normal(0, 0.3, S))

    pair_rng = _rng(spec, _S_PAIRS)
    rate = product_rate[:, None] * store_factor[None, :] * np.exp(pair_rng.normal(-0.06, 0.35, (P, S)))
    stocked = np.ones((P, S), dtype=bool)
    if P * S > 20:
        n_unstocked = max(3, round(0.003 * P * S))
        stocked.flat[pair_rng.choice(P * S, n_unstocked, replace=False)] = False
    dead = pair_rng.random((P, S)) < 0.01
    rate = np.where(stocked & ~dead, rate, 0.0)

    # Dynamics (their own stream): strong trends, launches, fades; lumpy slow store pairs.
    pattern, trend, launch, fade = _dynamics(spec, gentle_trend)
    lump_u = _rng(spec, _S_DYNAMICS, 1).random((P, S))
    lumpy = (rate >= _LUMPY_RATES[0]) & (rate < _LUMPY_RATES[1]) & (lump_u < _LUMPY_SHARE)

    # Stock follows what sells now: the level on the last day (a new product's full level: launch stock);
    # a dying product's stock is what it held on its fade day (see _position).
    last = spec.days - 1
    level_now = np.where(pattern == _NEW, np.exp(trend * 0.5), _level(spec, trend, launch, fade, last))
    recent = range(max(0, spec.days - _RECENT_DAYS), spec.days)
    level_recent = sum((_level(spec, trend, launch, fade, day) for day in recent), np.zeros(P)) / len(recent)
    level_plan = np.maximum(level_now, level_recent)
    dying = pattern == _DYING
    at_fade = _level(spec, trend, launch, np.full(P, np.inf), np.where(dying, fade, 0.0))
    level_fade = np.where(dying, at_fade, 0.0)

    store_dc = np.arange(S) % D
    dc_rate = np.zeros((P, D))
    for d in range(D):
        dc_rate[:, d] = rate[:, store_dc == d].sum(axis=1) * level_now

    return _World(
        spec=spec,
        product_ids=_ids("P", P, 6),
        location_ids=np.concatenate([_ids("DC", D, 2), _ids("S", S, 3)]),
        store_dc=store_dc,
        unit_cost=unit_cost,
        price=price,
        perishable=perishable,
        pack=pack,
        moq=moq,
        supplier_lead=s_lead[supplier],
        supplier_cv=s_cv[supplier],
        supplier=supplier,
        n_suppliers=n_suppliers,
        units_per_line=units_per_line,
        trend=trend,
        pattern=pattern,
        launch=launch,
        fade=fade,
        stocked=stocked,
        rate=rate,
        lumpy=lumpy,
        level_now=level_now,
        level_plan=level_plan,
        level_fade=level_fade,
        dc_rate=dc_rate,
    )


_STEADY, _STRONG, _NEW, _DYING = range(4)
PATTERNS = ("steady", "trend", "new", "dying")
"""The demand patterns of :func:`demo_truth` (``pattern`` column), by code."""


def _dynamics(spec: DemoSpec, gentle_trend: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per product: pattern code, log trend factor over the window, launch day (-inf: none), fade day
    (+inf: none). A product is new, dying, strongly trending or steady (exclusive); the new and dying
    ones and the steady ones keep their gentle trend."""
    P, days = spec.products, spec.days
    rng = _rng(spec, _S_DYNAMICS)
    u = rng.random(P)
    strength = rng.uniform(*_STRONG_TREND, P)
    up = rng.random(P) < 0.5
    day_u = rng.random(P)
    cuts = np.cumsum([_NEW_SHARE, _DYING_SHARE, _STRONG_SHARE])
    pattern = np.select([u < cuts[0], u < cuts[1], u < cuts[2]], [_NEW, _DYING, _STRONG], _STEADY)
    trend = np.where(pattern == _STRONG, np.where(up, strength, -strength), gentle_trend)
    lo = int(days * _LIFE_WINDOW[0])
    hi = max(int(days * _LIFE_WINDOW[1]), lo + 1)
    day = np.minimum(lo + np.floor(day_u * (hi - lo)), days - 1)  # in [days/6, 2 days/3)
    launch = np.where(pattern == _NEW, day, -np.inf)
    fade = np.where(pattern == _DYING, day, np.inf)
    return pattern.astype(np.int8), trend, launch, fade


def _level(
    spec: DemoSpec, trend: np.ndarray, launch: np.ndarray, fade: np.ndarray, day: float | np.ndarray
) -> np.ndarray:
    """Each product's demand level on ``day`` (0 = first day of the window) relative to its base rate:
    trend exp(trend * x), x = day / (days - 1) - 0.5, times its life cycle: 0 before a launch, a linear
    ramp over the first ``_RAMP_DAYS`` days, exp(-(day - fade) / ``_FADE_DAYS``) after a fade day."""
    x = day / max(spec.days - 1, 1) - 0.5
    with np.errstate(invalid="ignore"):
        ramp = np.clip((day - launch + 1.0) / _RAMP_DAYS, 0.0, 1.0)
        decay = np.exp(-np.maximum(day - fade, 0.0) / _FADE_DAYS)
    return np.exp(trend * x) * ramp * decay


# --- the small tables ---------------------------------------------------------------------------------


def _costs(w: _World) -> pd.DataFrame:
    P = w.spec.products
    rng = _rng(w.spec, _S_PRODUCTS, 2)
    holding = np.round(np.where(w.perishable, rng.uniform(0.25, 0.35, P), rng.uniform(0.15, 0.30, P)), 3)
    margin = w.price - w.unit_cost
    stockout = np.round(np.maximum(margin * rng.uniform(0.5, 2.0, P), 1.05 * holding * w.unit_cost), 2)
    stockout = np.maximum(stockout, 0.01)
    waste = np.where(w.perishable, np.round(w.unit_cost * rng.uniform(1.0, 1.15, P), 2), 0.0)
    shelf = rng.choice(_SHELF_LIVES, P, p=_SHELF_LIFE_WEIGHTS)
    return pd.DataFrame(
        {
            "product_id": pd.array(w.product_ids, dtype="str"),
            "unit_cost": w.unit_cost,
            "holding_cost_rate": holding,
            "stockout_cost": stockout,
            "waste_cost": waste,
            "shelf_life_days": pd.Series(shelf, dtype="Int64").mask(~w.perishable),
            "min_order_qty": w.moq,
            "order_multiple": w.pack,
            "product_name": pd.array(_product_names(w), dtype="str"),
            "supplier_id": pd.array(_ids("SUP", w.n_suppliers, 3)[w.supplier], dtype="str"),
            "supplier_name": pd.array(_supplier_names(w.n_suppliers)[w.supplier], dtype="str"),
        }
    )


def _supplier_names(count: int) -> np.ndarray:
    """Readable supplier names, unique: a town and a trade (``Springfield Foods``), numbered past 160."""
    names = []
    for i in range(count):
        town, kind = _TOWNS[i % len(_TOWNS)], _SUPPLIER_KINDS[(i // len(_TOWNS)) % len(_SUPPLIER_KINDS)]
        lap = i // (len(_TOWNS) * len(_SUPPLIER_KINDS))
        names.append(f"{town} {kind}" + (f" {lap + 1}" if lap else ""))
    return np.array(names, dtype=object)


def _product_names(w: _World) -> list[str]:
    """Readable product names (brand, item, size): fresh items for perishables, shelf goods otherwise."""
    P = w.spec.products
    rng = _rng(w.spec, _S_NAMES)
    brand = rng.integers(0, len(_BRANDS), P)
    fresh = rng.integers(0, len(_FRESH_ITEMS), P)
    shelf = rng.integers(0, len(_SHELF_ITEMS), P)
    size = rng.integers(0, len(_SIZES), P)
    return [
        f"{_BRANDS[b]} {_FRESH_ITEMS[f] if perishable else _SHELF_ITEMS[g]} {_SIZES[z]}"
        for b, f, g, z, perishable in zip(brand, fresh, shelf, size, w.perishable.tolist(), strict=True)
    ]


def _position(w: _World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """on_hand, on_order (NaN = NULL) per (product, location), and the mean daily demand each location serves."""
    P, D, S = w.spec.products, w.spec.dcs, w.spec.stores
    rng = _rng(w.spec, _S_INVENTORY)
    demand = np.concatenate([w.dc_rate, w.rate_now], axis=1)  # (P, D + S) units/day served now
    pack = np.nan_to_num(w.pack, nan=1.0)[:, None]
    is_dc = np.zeros(D + S, dtype=bool)
    is_dc[:D] = True
    shape = (P, D + S)

    # Days of cover: lognormal around ~12 days at stores and ~2.5 at DCs (before their floor below), plus
    # stock-outs and overstock.
    cover = np.where(is_dc, np.exp(rng.normal(np.log(2.5), 0.5, shape)), np.exp(rng.normal(np.log(12.0), 0.5, shape)))
    state = rng.random(shape)
    out, near, over = state < 0.05, (state >= 0.05) & (state < 0.11), state >= 0.89
    cover = np.where(near, rng.uniform(0.0, 2.0, shape), cover)
    cover = np.where(over, rng.uniform(60.0, 180.0, shape), cover)
    on_hand = demand * cover
    # A dying product holds what it held on its fade day (the same days of cover at its rate then) less
    # what has sold since (about a week of that rate): leftovers, much of it at the overstocked pairs.
    dying = w.pattern == _DYING
    sold_since = _FADE_DAYS * -np.expm1(-np.maximum(w.spec.days - 1 - np.where(dying, w.fade, 0.0), 0.0) / _FADE_DAYS)
    rate_fade = w.rate_fade
    fade_demand = np.concatenate([_by_dc(w, rate_fade), rate_fade], axis=1)
    leftover = fade_demand * np.maximum(cover - sold_since[:, None], 0.0)
    on_hand = np.where(dying[:, None], leftover, on_hand)
    # Stores keep a few units on the shelf of any item that is not out or nearly out; DCs hold whole cases.
    shelf_min = rng.integers(1, 4, shape)
    store_on_hand = np.maximum(np.round(on_hand), np.where(near, 0, shelf_min))
    on_hand = np.where(is_dc, np.round(on_hand / pack) * pack, store_on_hand)
    on_hand = np.where(out, 0.0, on_hand)
    on_hand = np.where(near & is_dc, np.floor(demand * cover), on_hand)

    u = rng.random(shape)
    lead = np.where(is_dc, w.supplier_lead[:, None], 2.0)
    open_qty = np.ceil(demand * lead * rng.uniform(0.3, 1.0, shape) / pack) * pack
    open_qty = np.where(dying[:, None], 0.0, np.maximum(open_qty, pack))  # nothing is reordered for a dying product
    on_order = np.where(
        is_dc,
        np.where(u < 0.25, np.nan, np.where(u < 0.60, 0.0, open_qty)),
        np.where(u < 0.30, np.nan, np.where(u < 0.80, 0.0, open_qty)),
    )
    # A DC holds stock for its stores: on hand, at least what its stores could pull this cycle to refill
    # even their slowest, most variable items to a high service level (see _store_refill).
    # It also keeps, for each lumpy store it serves, room for two of the largest lumps (in whole cases):
    # a bulk purchase is what a DC is there to absorb.
    store_need = _store_refill(w, on_hand[:, D:] + np.nan_to_num(on_order[:, D:]))
    store_need = store_need + np.where(w.lumpy, np.ceil(2 * _LUMP_SIZES[1] / pack) * pack, 0.0)
    dc_floor = np.zeros((P, D))
    for d in range(D):
        dc_floor[:, d] = store_need[:, w.store_dc == d].sum(axis=1)
    on_hand[:, :D] = np.maximum(on_hand[:, :D], dc_floor)
    return on_hand.astype(float), on_order, demand


def _store_refill(
    w: _World, store_position: np.ndarray, *, scale: float = 1.6, quantile: float = 0.998, spare_cases: float = 2.0
) -> np.ndarray:
    """Units per (product, store) that could be pulled this cycle to refill a store to a high service
    level: the 99.8 % Poisson quantile of 1.6 times the demand over a transfer lead time plus a week
    (room for over-dispersed demand) plus a unit, less the store's position, in whole cases plus two spare
    cases (none where the store's position already covers it). The demand is ``rate_plan``, the larger of
    today's rate and the mean of the recent days (what a plan's features see)."""
    pack = np.nan_to_num(w.pack, nan=1.0)[:, None]
    rate = w.rate_plan
    need = np.maximum(0.0, stats.poisson.ppf(quantile, scale * rate * 9.0) + 1.0 - store_position)
    return np.where(w.stocked & (rate > 0) & (need > 0), (np.ceil(need / pack) + spare_cases) * pack, 0.0)


def _by_dc(w: _World, store_values: np.ndarray) -> np.ndarray:
    """(products, stores) values summed over each DC's stores: (products, dcs)."""
    out = np.zeros((w.spec.products, w.spec.dcs))
    for d in range(w.spec.dcs):
        out[:, d] = store_values[:, w.store_dc == d].sum(axis=1)
    return out


def _stocked_all(w: _World) -> np.ndarray:
    return np.concatenate([np.ones((w.spec.products, w.spec.dcs), dtype=bool), w.stocked], axis=1)


def _inventory(w: _World, on_hand: np.ndarray, on_order: np.ndarray) -> pd.DataFrame:
    stocked = _stocked_all(w)
    p_idx, l_idx = np.nonzero(stocked)  # row-major: sorted by product, then location
    n = len(p_idx)
    return pd.DataFrame(
        {
            "product_id": pd.array(w.product_ids[p_idx], dtype="str"),
            "location_id": pd.array(w.location_ids[l_idx], dtype="str"),
            "on_hand": on_hand[p_idx, l_idx],
            "on_order": on_order[p_idx, l_idx],
            "as_of": np.full(n, np.datetime64(w.spec.end_date, "D")).astype("datetime64[ns]"),
        }
    )


def _locations(w: _World, on_hand: np.ndarray, on_order: np.ndarray, demand: np.ndarray) -> pd.DataFrame:
    D, S = w.spec.dcs, w.spec.stores
    rng = _rng(w.spec, _S_LOCATIONS, 1)
    # What each store would hold if every item were brought up to a textbook order-up-to level
    # (demand over lead time + a week of review, plus safety stock), or what it holds now if more.
    store_demand = demand[:, D:]
    protection = store_demand * 9.0
    target = np.maximum(
        protection + 1.65 * np.sqrt(protection * 1.5) + 1.0,
        on_hand[:, D:] + np.nan_to_num(on_order[:, D:]),
    )
    target = np.where(w.stocked, target, 0.0).sum(axis=0)
    held = np.where(w.stocked, on_hand[:, D:] + np.nan_to_num(on_order[:, D:]), 0.0).sum(axis=0)
    factor = rng.uniform(1.25, 2.0, S)
    store_capacity = target * factor
    # A few stores are tight: room for half of what topping every item up would add, but always for
    # refilling their low high-value (critical) items, so that a plan's critical minimum fits.
    value = w.rate.sum(axis=1) * w.level_plan * w.unit_cost
    order = np.argsort(-value, kind="stable")
    top = np.zeros(len(value), dtype=bool)
    top[order[np.cumsum(value[order]) <= 0.85 * max(value.sum(), 1e-9)]] = True  # roughly the A items
    position = on_hand[:, D:] + np.nan_to_num(on_order[:, D:])
    critical_room = np.where(top[:, None], _store_refill(w, position, scale=1.3, quantile=0.995, spare_cases=0.0), 0.0)
    binding = rng.permutation(S)[: max(1, round(S * 0.2))]
    tight = held + 1.05 * critical_room.sum(axis=0)
    store_capacity[binding] = tight[binding]
    store_capacity = np.ceil(np.maximum(store_capacity, held * 1.02) / 10.0) * 10.0
    dc_held = on_hand[:, :D].sum(axis=0) + np.nan_to_num(on_order[:, :D]).sum(axis=0)
    dc_capacity = np.where(np.arange(D) % 2 == 0, np.nan, np.ceil(dc_held * rng.uniform(4.0, 6.0, D) / 1000.0) * 1000.0)
    towns = [_TOWNS[i % len(_TOWNS)] + ("" if i < len(_TOWNS) else f" {i // len(_TOWNS) + 1}") for i in range(S)]
    names = [f"Distribution centre {i + 1}" for i in range(D)] + [f"Store {i + 1} {towns[i]}" for i in range(S)]
    parent = np.concatenate([np.full(D, None, dtype=object), w.location_ids[w.store_dc]])
    return pd.DataFrame(
        {
            "location_id": pd.array(w.location_ids, dtype="str"),
            "name": pd.array(names, dtype="str"),
            "echelon": np.concatenate([np.zeros(D, dtype=np.int64), np.ones(S, dtype=np.int64)]),
            "parent_location_id": pd.array(parent, dtype="str"),
            "capacity_units": np.concatenate([dc_capacity, store_capacity]).astype(float),
        }
    )


def _receipts(w: _World, demand: np.ndarray) -> pd.DataFrame:
    D, S = w.spec.dcs, w.spec.stores
    days = w.spec.days
    rng = _rng(w.spec, _S_RECEIPTS)
    stocked = _stocked_all(w)
    p_idx, l_idx = np.nonzero(stocked)
    # Order sizes follow the rate the pair is replenished for: a dying product's rate before its fade.
    rate_fade = w.rate_fade
    fade_demand = np.concatenate([_by_dc(w, rate_fade), rate_fade], axis=1)
    del rate_fade
    lam = np.where(w.pattern[p_idx] == _DYING, fade_demand[p_idx, l_idx], demand[p_idx, l_idx])
    del fade_demand
    pack = np.nan_to_num(w.pack, nan=1.0)[p_idx]
    moq = np.nan_to_num(w.moq, nan=0.0)[p_idx]
    is_dc = l_idx < D

    # Orders in the window: about one per order cycle (two weeks of demand at DCs, one at stores, at
    # least a case or the minimum order), at most one a week; every stocked pair has at least one receipt.
    typical = np.maximum(np.maximum(pack, moq), lam * np.where(is_dc, 14.0, 7.0))
    expected = np.minimum(days / 7.0, lam * days / typical)
    count = np.minimum(1 + rng.poisson(expected), np.where(is_dc, 8, 6))
    row_pair = np.repeat(np.arange(len(p_idx)), count)
    rp, rl, rdc = p_idx[row_pair], l_idx[row_pair], is_dc[row_pair]
    n = len(row_pair)

    # Lead times: the product's supplier (mean and CV) for DCs; 1-3 days from the DC for stores.
    mean = w.supplier_lead[rp]
    cv = w.supplier_cv[rp]
    sigma = np.sqrt(np.log1p(cv**2))
    supplier_lead = np.maximum(1, np.round(mean * np.exp(rng.normal(-(sigma**2) / 2, sigma, n))))
    store_base = _rng(w.spec, _S_RECEIPTS, 1).choice([1, 2, 3], S, p=[0.5, 0.35, 0.15])
    store_lead = np.clip(store_base[np.maximum(rl - D, 0)] + (rng.random(n) < 0.2), 1, 3)
    lead = np.where(rdc, supplier_lead, store_lead).astype(np.int64)
    # The receipt day is uniform in the window; orders are placed lead days before (inside the window
    # unless the lead time is longer than the window). A new product's receipts come from three days
    # before its launch on, a dying product's up to a week after its fade day.
    low = np.minimum(lead, days - 1)
    u = rng.random(n)
    received = low + np.floor(u * (days - low)).astype(np.int64)
    life = np.flatnonzero(np.isin(w.pattern[rp], (_NEW, _DYING)))
    first = np.maximum(low[life], w.launch[rp[life]] - 3.0)
    last = np.maximum(np.minimum(days - 1.0, w.fade[rp[life]] + 7.0), first)
    received[life] = (first + np.floor(u[life] * (last - first + 1.0))).astype(np.int64)
    del u, first, last
    ordered = received - lead
    qty = np.maximum(np.round(lam[row_pair] * rng.uniform(5.0, 18.0, n) / pack[row_pair]), 1.0) * pack[row_pair]
    qty = np.maximum(qty, np.ceil(moq[row_pair] / pack[row_pair]) * pack[row_pair])

    order = np.lexsort((rl, rp, ordered))
    start = np.datetime64(w.spec.start_date, "D")
    return pd.DataFrame(
        {
            "product_id": pd.array(w.product_ids[rp[order]], dtype="str"),
            "location_id": pd.array(w.location_ids[rl[order]], dtype="str"),
            "ordered_at": (start + ordered[order]).astype("datetime64[ns]"),
            "received_at": (start + received[order]).astype("datetime64[ns]"),
            "quantity": qty[order].astype(float),
        }
    )


# --- sales, in chunks -----------------------------------------------------------------------------------


class SalesChunks:
    """The sale lines of a spec as an iterable of DataFrames (chronological; ``sale_id`` 1, 2, 3, ...).

    Each chunk holds whole days and at least ``chunk_rows`` rows (except the last); the rows do not depend
    on ``chunk_rows``. ``chunk.attrs`` carries ``through`` (the chunk's last day) and ``fraction`` (share of
    the window's days done). Iterating again starts again from the first day.
    """

    def __init__(self, world: _World, chunk_rows: int = 1_000_000) -> None:
        self._w = world
        self.chunk_rows = max(1, int(chunk_rows))
        self.days = world.spec.days
        P, S = world.rate.shape
        flat = np.flatnonzero(world.rate.ravel() > 0)  # store pairs that sell, product-major
        self._pair_p = (flat // S).astype(np.int64)
        self._pair_s = (flat % S).astype(np.int64)
        self._pair_rate = world.rate.ravel()[flat]
        self._pair_upl = world.units_per_line[self._pair_p]
        self._lumpy = np.flatnonzero(world.lumpy.ravel()[flat])  # positions of the lumpy pairs, ascending

    def _level(self, day: int) -> np.ndarray:
        w = self._w
        return _level(w.spec, w.trend, w.launch, w.fade, day)

    @property
    def expected_rows(self) -> int:
        """About how many sale lines the window holds (for progress)."""
        level = sum((self._level(day) for day in range(self.days)), np.zeros(self._w.spec.products))
        per_unit = 1.0 / self._pair_upl
        per_unit[self._lumpy] = (1.0 - _LUMP_SHARE) / self._pair_upl[self._lumpy] + _LUMP_SHARE / _LUMP_MEAN
        return int((self._pair_rate * per_unit * level[self._pair_p]).sum())

    def _day(self, day: int) -> tuple[np.ndarray, ...]:
        w, spec = self._w, self._w.spec
        date_ = np.datetime64(spec.start_date, "D") + day
        weekday = int((date_.astype("datetime64[D]").astype(np.int64) - 4) % 7)  # 1970-01-01 was a Thursday
        level = self._level(day)
        day_rng = _rng(spec, _S_SALES, day)
        store_day = np.exp(day_rng.normal(-0.0025, 0.07, spec.stores))
        parts = []
        for block, lo in enumerate(range(0, len(self._pair_p), _PAIR_BLOCK)):
            hi = min(lo + _PAIR_BLOCK, len(self._pair_p))
            rng = _rng(spec, _S_SALES, day, block + 1)
            p, s = self._pair_p[lo:hi], self._pair_s[lo:hi]
            upl = self._pair_upl[lo:hi]
            lam = self._pair_rate[lo:hi] * _WEEKLY[weekday] * level[p] * store_day[s]
            lam = lam * rng.gamma(20.0, 1 / 20.0, hi - lo)
            # Lumpy pairs: a lump of 4-15 units on a day with probability share x lam / mean lump (their
            # own stream); the rest of their rate sells as ordinary lines.
            lumpy = self._lumpy[np.searchsorted(self._lumpy, lo) : np.searchsorted(self._lumpy, hi)] - lo
            lump_rng = _rng(spec, _S_DYNAMICS, 2, day, block + 1)
            lump_day = lump_rng.random(len(lumpy)) < np.minimum(_LUMP_SHARE * lam[lumpy] / _LUMP_MEAN, 1.0)
            lumps = lumpy[lump_day]
            lump_qty = lump_rng.integers(_LUMP_SIZES[0], _LUMP_SIZES[1] + 1, len(lumps)).astype(float)
            lam[lumpy] *= 1.0 - _LUMP_SHARE
            lines = rng.poisson(lam / upl)
            hit = np.flatnonzero(lines)
            rows = np.repeat(hit, lines[hit])
            qty = 1.0 + rng.poisson(upl[rows] - 1.0)
            price = w.price[p[rows]]
            u = rng.random(len(rows))
            price = np.where(u < 0.06, np.round(price * 0.8, 2), price)
            price = np.where(u > 0.99, np.nan, price)
            rows = np.concatenate([rows, lumps])  # a lump is one line at the list price
            qty = np.concatenate([qty, lump_qty])
            price = np.concatenate([price, w.price[p[lumps]]])
            perm = rng.permutation(len(rows))
            parts.append((p[rows][perm], s[rows][perm], qty[perm], price[perm]))
        if not parts:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty.astype(np.int64), empty, empty, np.zeros(0, dtype="datetime64[D]")
        p, s, q, pr = (np.concatenate(col) for col in zip(*parts, strict=True))
        return p, s, q, pr, np.full(len(p), date_)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        w = self._w
        D = w.spec.dcs
        next_id = 1
        pending: list[tuple[np.ndarray, ...]] = []
        pending_rows = 0
        for day in range(self.days):
            part = self._day(day)
            pending.append(part)
            pending_rows += len(part[0])
            if pending_rows >= self.chunk_rows or day == self.days - 1:
                p, s, q, pr, d = (np.concatenate(col) for col in zip(*pending, strict=True))
                n = len(p)
                frame = pd.DataFrame(
                    {
                        "sale_id": np.arange(next_id, next_id + n, dtype=np.int64),
                        "sold_at": d.astype("datetime64[ns]"),
                        "product_id": pd.array(w.product_ids[p], dtype="str"),
                        "location_id": pd.array(w.location_ids[D + s], dtype="str"),
                        "quantity": q.astype(float),
                        "unit_price": pr.astype(float),
                    }
                )
                frame.attrs["through"] = pd.Timestamp(w.spec.start_date) + pd.Timedelta(days=day)
                frame.attrs["fraction"] = (day + 1) / self.days
                next_id += n
                pending, pending_rows = [], 0
                yield frame


# --- public generator ---------------------------------------------------------------------------------


def generate_streaming(spec: DemoSpec, chunk_rows: int = 1_000_000) -> dict[str, Any]:
    """The five tables; ``locations``, ``inventory``, ``costs``, ``receipts`` as DataFrames and ``sales``
    as a :class:`SalesChunks` iterable, generated while it is consumed."""
    w = _world(spec)
    on_hand, on_order, demand = _position(w)
    return {
        "sales": SalesChunks(w, chunk_rows),
        "locations": _locations(w, on_hand, on_order, demand),
        "inventory": _inventory(w, on_hand, on_order),
        "costs": _costs(w),
        "receipts": _receipts(w, demand),
    }


def generate(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    """The five source tables of ``spec`` as DataFrames with exactly the contract's columns.

    Pure and seeded: the same spec gives equal frames. Ids are strings (``P000001``, ``DC01``, ``S001``),
    numbers ``float64`` (NaN = NULL), ``echelon`` ``int64``, ``shelf_life_days`` ``Int64`` (NA = not
    perishable), days ``datetime64[ns]``. Holds every sale line in memory: for large specs use
    :func:`generate_streaming` or :func:`build`.
    """
    frames = generate_streaming(spec)
    chunks = list(frames["sales"])
    sales = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0].reset_index(drop=True)
    sales.attrs = {}
    frames["sales"] = sales
    return frames


def demo_truth(spec: DemoSpec) -> pd.DataFrame:
    """What generated the demand of ``spec``, per product: what a forecast should recover.

    Columns: ``product_id``; ``pattern`` (``steady``: a gentle trend, ``trend``: a strong trend up or
    down, ``new``: launched inside the window, ``dying``: fading out; see :data:`PATTERNS`);
    ``base_rate`` (units/day over all stores at level 1, on an average weekday, before store-day and
    day factors); ``trend_factor`` (the trend's level on the last day over its level on the first day);
    ``launch_date`` and ``fade_date`` (NaT unless new or dying); ``rate_start``, ``rate_end`` and
    ``rate_mean`` (units/day on the first and last day of the window and on average over it: base rate x
    trend x life cycle, lumps included, average weekday); ``lumpy_stores`` (stores where part of the
    product's units come in lumps, :func:`demo_lumpy_pairs`). ``attrs["weekday_profile"]`` holds
    :data:`WEEKDAY_PROFILE` by day name. Cheap: it builds the world (no sale lines). The formulas are in
    ``docs/demo-data.md``.
    """
    w = _world(spec)
    start = pd.Timestamp(spec.start_date)

    def dates(day: np.ndarray) -> pd.Series:
        finite = np.isfinite(day)
        offsets = pd.to_timedelta(np.where(finite, day, 0.0), unit="D")
        return pd.Series(start + offsets).where(finite).astype("datetime64[ns]")

    base = w.rate.sum(axis=1)
    mean_level = sum((_level(spec, w.trend, w.launch, w.fade, day) for day in range(spec.days)), np.zeros(len(base)))
    mean_level = mean_level / spec.days
    frame = pd.DataFrame(
        {
            "product_id": pd.array(w.product_ids, dtype="str"),
            "pattern": pd.array(np.array(PATTERNS, dtype=object)[w.pattern], dtype="str"),
            "base_rate": base,
            "trend_factor": np.exp(w.trend),
            "launch_date": dates(w.launch),
            "fade_date": dates(w.fade),
            "rate_start": base * _level(spec, w.trend, w.launch, w.fade, 0),
            "rate_end": base * _level(spec, w.trend, w.launch, w.fade, spec.days - 1),
            "rate_mean": base * mean_level,
            "lumpy_stores": w.lumpy.sum(axis=1).astype(np.int64),
        }
    )
    frame.attrs["weekday_profile"] = dict(zip(_WEEKDAYS, WEEKDAY_PROFILE, strict=True))
    return frame


def demo_lumpy_pairs(spec: DemoSpec) -> pd.DataFrame:
    """The (product, store) pairs of ``spec`` with lumpy demand: ``product_id``, ``location_id``,
    ``base_rate`` (units/day at level 1, lumps included) and ``lump_probability`` (chance of a lump on an
    average day at level 1: ``_LUMP_SHARE x base_rate / _LUMP_MEAN``). Sorted by product, then store."""
    w = _world(spec)
    p, s = np.nonzero(w.lumpy)
    rate = w.rate[p, s]
    return pd.DataFrame(
        {
            "product_id": pd.array(w.product_ids[p], dtype="str"),
            "location_id": pd.array(w.location_ids[w.spec.dcs + s], dtype="str"),
            "base_rate": rate,
            "lump_probability": _LUMP_SHARE * rate / _LUMP_MEAN,
        }
    )


# --- writing --------------------------------------------------------------------------------------------


class TablesExistError(RuntimeError):
    """Target tables exist and ``replace`` was not requested; ``.tables`` maps masked URL -> table names."""

    def __init__(self, tables: Mapping[str, list[str]]) -> None:
        self.tables = {url: list(names) for url, names in tables.items() if names}
        listed = "; ".join(f"{', '.join(names)} in {url}" for url, names in self.tables.items())
        super().__init__(
            f"tables already exist: {listed}; nothing was written. Replace them with --replace (replace=True)."
        )


def _targets(cloud_url: str, onprem_url: str) -> dict[str, list[sa.Table]]:
    targets: dict[str, list[sa.Table]] = {}
    targets.setdefault(onprem_url, []).extend(t.ONPREM_TABLES)
    targets.setdefault(cloud_url, []).extend(t.CLOUD_TABLES)
    return targets


def existing_tables(cloud_url: str, onprem_url: str) -> dict[str, list[str]]:
    """The target tables that exist already, by masked database URL (only databases that have some)."""
    found: dict[str, list[str]] = {}
    for url, tables in _targets(cloud_url, onprem_url).items():
        engine = db.make_engine(url)
        present = db.retry(functools.partial(db.table_names, engine), what="listing tables", url=url)
        names = [table.name for table in tables if table.name in present]
        if names:
            found[db.mask_url(url)] = names
    return found


def _column_values(series: pd.Series, column: sa.Column) -> list:
    """A column as Python values the drivers take (str, int, float, ISO date text; None for missing)."""
    missing = series.isna().to_numpy()
    if isinstance(column.type, sa.Date):
        days = pd.to_datetime(series).to_numpy().astype("datetime64[D]")
        values = np.datetime_as_string(days, unit="D").astype(object)
    elif isinstance(column.type, sa.Integer):
        values = series.to_numpy(dtype=np.float64 if missing.any() else np.int64, na_value=np.nan)
        values = np.array([int(v) if v == v else None for v in values.tolist()], dtype=object)
    elif isinstance(column.type, sa.Numeric):
        arr = series.to_numpy(dtype=float, na_value=np.nan)
        if not np.isfinite(arr[~missing]).all():
            raise ValueError(f"column {column.table.name}.{column.name} holds infinite values")
        values = arr.astype(object)
    else:
        values = series.to_numpy(dtype=object, copy=True)  # a copy: never write None into the caller's frame
    if missing.any():
        values[missing] = None
    return values.tolist()


def _rows(frame: pd.DataFrame, table: sa.Table) -> list[tuple]:
    return list(zip(*(_column_values(frame[c.name], c) for c in table.columns), strict=True))


def _check_columns(frame: pd.DataFrame, table: sa.Table) -> None:
    expected = TABLE_COLUMNS[table.name]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(f"frame {table.name!r} lacks the contract's columns {missing}")


def _as_chunks(data: pd.DataFrame | Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    return [data] if isinstance(data, pd.DataFrame) else data


_SQLITE_BULK_PRAGMAS = {"synchronous": "OFF", "cache_size": "-262144", "temp_store": "MEMORY"}


def _load_database(
    url: str,
    tables: list[sa.Table],
    frames: Mapping[str, Any],
    replace: bool,
    progress: Progress,
    batch_rows: int,
) -> dict[str, int]:
    engine = db.make_engine(url)
    counts: dict[str, int] = {}
    masked = db.mask_url(url)
    with engine.connect() as conn:
        backend = conn.dialect.name
        saved: dict[str, Any] = {}
        if backend == "sqlite":  # per-connection tweaks for the bulk load, restored afterwards
            raw = conn.connection.driver_connection
            assert raw is not None
            for name, value in _SQLITE_BULK_PRAGMAS.items():
                saved[name] = raw.execute(f"PRAGMA {name}").fetchone()[0]
                raw.execute(f"PRAGMA {name} = {value}")
        try:
            with conn.begin():
                present = set(sa.inspect(conn).get_table_names())
                clashes = [table.name for table in tables if table.name in present]
                if clashes and not replace:
                    raise TablesExistError({masked: clashes})
                for table in tables:
                    if table.name in present:
                        conn.execute(sa.schema.DropTable(table, if_exists=True))
                        progress(f"{table.name}: dropped the existing table in {masked}")
                    conn.execute(sa.schema.CreateTable(table))
                for table in tables:
                    started = time.perf_counter()
                    loader = bulk.BulkLoader(conn, table)
                    total = 0
                    for chunk in _as_chunks(frames[table.name]):
                        _check_columns(chunk, table)
                        for lo in range(0, len(chunk), batch_rows):
                            loader.load(_rows(chunk.iloc[lo : lo + batch_rows], table))
                        total += len(chunk)
                        if "fraction" in chunk.attrs:
                            progress(
                                f"{table.name}: {total:,} rows written (through {chunk.attrs['through']:%Y-%m-%d}, "
                                f"{chunk.attrs['fraction']:.0%} of the days) {time.perf_counter() - started:.1f} s"
                            )
                    index_started = time.perf_counter()
                    for index in sorted(table.indexes, key=lambda i: str(i.name)):
                        conn.execute(sa.schema.CreateIndex(index))
                    if backend == "postgresql":  # the planner's statistics, as autovacuum would gather them
                        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.format_table(table)}")
                    counts[table.name] = total
                    index_note = f", indexes {time.perf_counter() - index_started:.1f} s" if table.indexes else ""
                    progress(
                        f"{table.name}: {total:,} rows loaded into {masked} in "
                        f"{time.perf_counter() - started:.1f} s{index_note}"
                    )
        finally:
            if backend == "sqlite":
                raw = conn.connection.driver_connection
                assert raw is not None
                for name, value in saved.items():
                    raw.execute(f"PRAGMA {name} = {value}")
    return counts


def write(
    frames: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
    cloud_url: str,
    onprem_url: str,
    replace: bool = False,
    progress: Progress | None = None,
    *,
    batch_rows: int = 200_000,
) -> dict[str, int]:
    """Create the source tables and bulk-load ``frames`` into them; return rows per table.

    ``sales`` goes to ``cloud_url``, the other four to ``onprem_url`` (which may be the same database).
    ``frames["sales"]`` may be one DataFrame or an iterable of chunks (as from :func:`generate_streaming`).
    When any target table exists and ``replace`` is false, raises :class:`TablesExistError` naming them
    before anything is written; with ``replace`` the tables are dropped and created again. Each database is
    loaded in one transaction on SQLite and PostgreSQL (all or nothing); MySQL/MariaDB commit DDL at once.
    Indexes are built after the rows are in; on PostgreSQL each table is then analyzed (``ANALYZE``), as
    autovacuum would do in time: without statistics the planner reads the sales window by a bitmap scan and
    a sort (the large preset's aggregate 18 s against 12 s).
    """
    report = progress or (lambda _message: None)
    missing = [name for name in TABLE_COLUMNS if name not in frames]
    if missing:
        raise ValueError(f"frames lack the tables {missing}")
    for name, data in frames.items():
        if name in t.SOURCE_TABLES and isinstance(data, pd.DataFrame):
            _check_columns(data, t.SOURCE_TABLES[name])
    if not replace:
        found = existing_tables(cloud_url, onprem_url)
        if found:
            raise TablesExistError(found)
    counts: dict[str, int] = {}
    for url, tables in _targets(cloud_url, onprem_url).items():
        try:
            counts.update(_load_database(url, tables, frames, replace, report, batch_rows))
        except (TablesExistError, ValueError):
            raise
        except sa.exc.SQLAlchemyError as error:
            raise db.DatabaseError(
                f"loading demo data into {db.mask_url(url)} failed: {db.describe_error(error, url)}",
                transient=db.is_transient(error),
            ) from None
        except Exception as error:  # driver errors raised outside SQLAlchemy (COPY, executemany)
            if type(error).__module__.split(".")[0] in ("psycopg", "pymysql", "sqlite3"):
                # First line only: later lines of a COPY error quote the offending values.
                first = (str(error).strip().splitlines() or [""])[0]
                raise db.DatabaseError(
                    f"loading demo data into {db.mask_url(url)} failed: {type(error).__name__}: {db.scrub(first, url)}",
                    transient=db.is_transient(error),
                ) from None
            raise
    return {name: counts[name] for name in TABLE_COLUMNS}


def build(
    spec: DemoSpec,
    cloud_url: str,
    onprem_url: str,
    replace: bool = False,
    progress: Progress | None = None,
    *,
    chunk_rows: int = 1_000_000,
) -> dict[str, int]:
    """Generate ``spec`` and write it (sales streamed in chunks); return rows per table.

    Checks for existing tables first, so a refusal comes before any work.
    """
    report = progress or (lambda _message: None)
    if not replace:
        found = existing_tables(cloud_url, onprem_url)
        if found:
            raise TablesExistError(found)
    started = time.perf_counter()
    frames = generate_streaming(spec, chunk_rows=chunk_rows)
    small = ", ".join(f"{name} {len(frames[name]):,}" for name in ("locations", "inventory", "costs", "receipts"))
    report(
        f"generated {small} rows in {time.perf_counter() - started:.1f} s; "
        f"sales: about {frames['sales'].expected_rows:,} lines over {spec.days} days, generated while writing"
    )
    return write(frames, cloud_url, onprem_url, replace=replace, progress=report)
