"""``merged_dataset``: one row per stocked (product, location) with costs, network, demand and lead time.

Pure pandas/numpy. Strings are encoded to integer codes once (``ids.positions``); every statistic is
then a ``np.bincount`` over those codes. Column contract: ``docs/frames.md``; formulas: ``docs/features.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.analytics.demand import (
    combine_duplicate_days,
    daily_demand_stats,
    day_offsets,
    pool_to_ancestors,
    pooled_sale_days,
)
from inventory_assets.analytics.lead_time import lead_time_statistics
from inventory_assets.contract import spec
from inventory_assets.contract.ids import positions
from inventory_assets.contract.network import ancestor_pairs
from inventory_assets.contract.spec import LEAD_TIME_LEVELS
from inventory_assets.contract.validation import fill_null

__all__ = [
    "MergeParameters",
    "INVENTORY_COLUMNS",
    "COST_COLUMNS",
    "LOCATION_COLUMNS",
    "DEMAND_COLUMNS",
    "MERGED_COLUMNS",
    "MergeReport",
    "MissingCostsError",
    "UnknownLocationsError",
    "merge_dataset",
    "pair_lookup",
]

INVENTORY_COLUMNS: tuple[str, ...] = tuple(spec.INVENTORY.column_names)
COST_COLUMNS: tuple[str, ...] = tuple(
    c for c in spec.COSTS.column_names if c in spec.MERGED_DATASET.column_names and c != "product_id"
)  # the costs the plan reads; the names (product_name, supplier_id, supplier_name) stay in `costs`
LOCATION_COLUMNS: tuple[str, ...] = tuple(
    c for c in spec.MERGED_DATASET.column_names if c in spec.LOCATIONS.column_names and c != "location_id"
)
MERGED_COLUMNS: tuple[str, ...] = tuple(spec.MERGED_DATASET.column_names)
"""The columns of ``merged_dataset`` (``contract.spec.MERGED_DATASET``), in order."""
DEMAND_COLUMNS: tuple[str, ...] = MERGED_COLUMNS[len(INVENTORY_COLUMNS) + len(COST_COLUMNS) + len(LOCATION_COLUMNS) :]
assert MERGED_COLUMNS == INVENTORY_COLUMNS + COST_COLUMNS + LOCATION_COLUMNS + DEMAND_COLUMNS


class MissingCostsError(ValueError):
    """Stocked products without a ``costs`` row; ``.products`` lists them all (sorted)."""

    def __init__(self, products: list[str]):
        self.products = tuple(products)
        shown = ", ".join(repr(p) for p in self.products[:20])
        more = f" and {len(self.products) - 20} more" if len(self.products) > 20 else ""
        super().__init__(f"{len(self.products)} product(s) in `inventory` have no row in `costs`: {shown}{more}")


class UnknownLocationsError(ValueError):
    """Stocked locations without a ``locations`` row; ``.locations`` lists them all (sorted)."""

    def __init__(self, locations: list[str]):
        self.locations = tuple(locations)
        shown = ", ".join(repr(x) for x in self.locations[:20])
        more = f" and {len(self.locations) - 20} more" if len(self.locations) > 20 else ""
        super().__init__(f"{len(self.locations)} location(s) in `inventory` are not in `locations`: {shown}{more}")


@dataclass(frozen=True)
class MergeParameters:
    """How lead times are found where receipts are few (``merge_dataset``'s knobs, each with its doc)."""

    min_receipts: int = field(
        default=3,
        metadata={
            "doc": (
                "Receipts a (product, location) pair needs for its own lead-time figures; with fewer, the "
                "product's receipts at all locations are used, then the location's, then the defaults."
            )
        },
    )
    default_lead_time_days: float = field(
        default=7.0, metadata={"doc": "Lead time (days) where no level has enough receipts."}
    )
    default_lead_time_std_days: float = field(
        default=2.0, metadata={"doc": "Lead-time standard deviation (days) where no level has enough receipts."}
    )

    def __post_init__(self) -> None:
        if self.min_receipts < 1:
            raise ValueError(f"min_receipts must be >= 1, got {self.min_receipts!r}")
        for name in ("default_lead_time_days", "default_lead_time_std_days"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 <= value <= spec.MAX_WINDOW_DAYS):
                raise ValueError(f"{name} must be between 0 and {spec.MAX_WINDOW_DAYS} days, got {value!r}")


@dataclass(frozen=True)
class MergeReport:
    """What did not join, and how the lead times were found. Pure data for the asset's metadata."""

    window_start: pd.Timestamp
    window_end: pd.Timestamp
    window_days: int
    pairs: int
    products: int
    stocked_pairs_without_sales: int
    """Stocked pairs with no sale in the window (kept, with zero demand)."""
    stocked_pairs_without_sales_sample: tuple[tuple[str, str], ...]
    stocked_pairs_without_demand: int
    """Stocked pairs with no sale at the pair nor anywhere below it (idle stock; for a location without
    children the same as without sales)."""
    stocked_pairs_without_demand_sample: tuple[tuple[str, str], ...]
    unstocked_sales_pairs: int
    """Distinct (product, location) pairs with sales in the window but no ``inventory`` row (excluded)."""
    unstocked_sales_rows: int
    unstocked_sales_units: float
    unstocked_sales_sample: tuple[tuple[str, str], ...]
    sales_rows_outside_window: int
    """Sales rows dated before ``window_start`` or after ``window_end`` (ignored)."""
    duplicate_sale_rows_merged: int
    """Sales rows folded into another row of the same (day, product, location); 0 for a valid source."""
    receipts_used: int
    receipts_ignored: int
    lead_time_levels: dict[str, int] = field(default_factory=dict)
    products_without_costs: tuple[str, ...] = ()
    """Always empty in a returned report: missing costs raise :class:`MissingCostsError`."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (timestamps as ISO dates, pairs as ``"product@location"`` strings)."""
        out = asdict(self)
        out["window_start"] = self.window_start.date().isoformat()
        out["window_end"] = self.window_end.date().isoformat()
        for key in (
            "stocked_pairs_without_sales_sample",
            "stocked_pairs_without_demand_sample",
            "unstocked_sales_sample",
        ):
            out[key] = [f"{p}@{loc}" for p, loc in out[key]]
        out["products_without_costs"] = list(self.products_without_costs)
        return out


def _as_day(value: Any, name: str) -> pd.Timestamp:
    if value is None:
        raise ValueError(f"{name} is required (the sales window's first and last day)")
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{name} is NaT")
    return ts.normalize()


def _floats(series: pd.Series) -> np.ndarray:
    """float64 values; NULL (NaN, None, pd.NA) -> NaN; Decimal and nullable integer columns accepted."""
    return pd.to_numeric(series).astype("float64").to_numpy()


def _sample(product: pd.Index | np.ndarray, location: pd.Index | np.ndarray, n: int) -> tuple[tuple[str, str], ...]:
    return tuple((str(p), str(loc)) for p, loc in zip(list(product[:n]), list(location[:n]), strict=True))


_DENSE_LOOKUP_LIMIT = 50_000_000


def pair_lookup(pair_index: pd.Index, n_products: int, n_loc: int):
    """``key -> pair position`` (-1 if not stocked) for ``key = product_code * n_loc + location_code``.

    A dense table (8 bytes per product x location) when that is small, else a hash lookup.
    """
    if n_products * n_loc <= _DENSE_LOOKUP_LIMIT:
        table = np.full(n_products * n_loc, -1, dtype=np.int64)
        table[pair_index.to_numpy()] = np.arange(len(pair_index))
        return lambda keys: table[keys]
    return pair_index.get_indexer


@dataclass(frozen=True)
class _WindowSales:
    """The window's sales of stocked pairs as (pair, day, quantity), one row per (pair, day), and what was
    left out."""

    pair: np.ndarray
    day: np.ndarray
    quantity: np.ndarray
    merged_rows: int
    outside: int
    unstocked_pairs: int
    unstocked_rows: int
    unstocked_units: float
    unstocked_sample: tuple[tuple[str, str], ...]


def _window_sales(
    sales: pd.DataFrame,
    products: pd.Index,
    loc_index: pd.Index,
    n_loc: int,
    lookup: Any,
    start: pd.Timestamp,
    window_days: int,
    sample_size: int,
) -> _WindowSales:
    """`merge_dataset`'s sales, in a function of their own so that the per-line arrays (days, quantities,
    codes, masks: about 0.4 GB at the large preset) are freed before the statistics and lead times run."""
    day = day_offsets(sales["sale_date"], start) if len(sales) else np.array([], dtype=np.int64)
    quantity = _floats(sales["quantity"]) if len(sales) else np.array([], dtype=float)
    in_window = (day >= 0) & (day < window_days)
    outside = int((~in_window).sum())
    s_prod = positions(products, sales["product_id"]) if len(sales) else np.array([], dtype=np.int64)
    s_loc = positions(loc_index, sales["location_id"]) if len(sales) else np.array([], dtype=np.int64)
    s_pair = np.full(len(day), -1, dtype=np.int64)
    known = in_window & (s_prod >= 0) & (s_loc >= 0)
    s_pair[known] = lookup(s_prod[known].astype(np.int64) * n_loc + s_loc[known])
    stocked = s_pair >= 0
    unstocked = in_window & ~stocked
    if unstocked.any():
        lost = pd.DataFrame(
            {
                "product_id": sales["product_id"].to_numpy()[unstocked],
                "location_id": sales["location_id"].to_numpy()[unstocked],
            }
        ).astype(str)
        lost = lost.drop_duplicates().sort_values(["product_id", "location_id"])
        unstocked_pairs = len(lost)
        unstocked_sample = _sample(lost["product_id"].to_numpy(), lost["location_id"].to_numpy(), sample_size)
    else:
        unstocked_pairs, unstocked_sample = 0, ()
    unstocked_units = float(quantity[unstocked].sum())

    pair, d, q, merged_rows = combine_duplicate_days(s_pair[stocked], day[stocked], quantity[stocked], window_days)
    return _WindowSales(
        pair, d, q, merged_rows, outside, unstocked_pairs, int(unstocked.sum()), unstocked_units, unstocked_sample
    )


def merge_dataset(
    sales: pd.DataFrame,
    inventory: pd.DataFrame,
    costs: pd.DataFrame,
    locations: pd.DataFrame,
    receipts: pd.DataFrame,
    *,
    window_start: Any = None,
    window_end: Any = None,
    min_receipts: int = 3,
    default_lead_time_days: float = 7.0,
    default_lead_time_std_days: float = 2.0,
    sample_size: int = 20,
) -> tuple[pd.DataFrame, MergeReport]:
    """Join the five validated sources into ``merged_dataset`` (columns: ``MERGED_COLUMNS``).

    One row per ``inventory`` row, sorted by (``product_id``, ``location_id``). The history window is
    ``[window_start, window_end]``, both days included (``window_days = (end - start).days + 1``;
    ``SalesFrame.window`` gives them). Sales outside it are ignored, sales of pairs that are not stocked
    are excluded and counted in the report. NULLs of the contract's optional columns take their meaning
    (``contract.validation.fill_null``).

    Raises :class:`MissingCostsError` (a ``ValueError``) naming every stocked product without costs,
    :class:`UnknownLocationsError` for stocked locations missing from ``locations``, and
    :class:`~inventory_assets.contract.network.NetworkError` for a network with a cycle.
    """
    start = _as_day(window_start, "window_start")
    end = _as_day(window_end, "window_end")
    window_days = int((end - start).days) + 1
    if window_days < 1:
        raise ValueError(f"window_end {end.date()} is before window_start {start.date()}")
    if sample_size < 0:
        raise ValueError("sample_size must be >= 0")

    # ---- keys: products and locations as integer codes --------------------------------------------
    inv = inventory.loc[:, list(INVENTORY_COLUMNS)]
    inv_product = inv["product_id"].astype(str)
    inv_location = inv["location_id"].astype(str)

    cost_frame = costs.loc[:, ["product_id", *COST_COLUMNS]].copy()
    cost_frame["product_id"] = cost_frame["product_id"].astype(str)
    cost_frame = cost_frame.drop_duplicates("product_id", keep="first")
    cost_index = pd.Index(cost_frame["product_id"], dtype=str)

    prod_codes, products = pd.factorize(inv_product, sort=True)
    products = pd.Index(products, dtype=str)
    missing_costs = products[cost_index.get_indexer(products) < 0]
    if len(missing_costs):
        raise MissingCostsError(sorted(missing_costs.tolist()))

    loc_frame = locations.loc[:, ["location_id", *LOCATION_COLUMNS]].copy()
    loc_frame["location_id"] = loc_frame["location_id"].astype(str)
    loc_frame = loc_frame.drop_duplicates("location_id", keep="first")
    loc_frame = loc_frame.sort_values("location_id", kind="stable").reset_index(drop=True)
    loc_index = pd.Index(loc_frame["location_id"], dtype=str)
    loc_codes = positions(loc_index, inv_location)
    if (loc_codes < 0).any():
        raise UnknownLocationsError(sorted(set(inv_location[loc_codes < 0].tolist())))

    n_loc = max(len(loc_index), 1)
    pair_key = prod_codes.astype(np.int64) * n_loc + loc_codes
    order = np.argsort(pair_key, kind="stable")
    if not (np.diff(pair_key[order]) > 0).all():
        dup = pd.Series(pair_key).duplicated(keep=False).to_numpy()
        shown = sorted(set(zip(inv_product[dup].tolist(), inv_location[dup].tolist(), strict=True)))[:20]
        raise ValueError(f"`inventory` has duplicate (product_id, location_id) rows, e.g. {shown}")
    if not (order == np.arange(len(order))).all():
        inv = inv.iloc[order]
        prod_codes, loc_codes, pair_key = prod_codes[order], loc_codes[order], pair_key[order]
    inv = inv.reset_index(drop=True)
    n_pairs = len(inv)
    pair_index = pd.Index(pair_key)
    lookup = pair_lookup(pair_index, len(products), n_loc)

    # ---- base frame: inventory + costs + location ---------------------------------------------------
    merged = pd.DataFrame(
        {
            "product_id": pd.array(products.to_numpy()[prod_codes], dtype=str),
            "location_id": pd.array(loc_index.to_numpy()[loc_codes], dtype=str),
            "on_hand": _floats(inv["on_hand"]),
            "on_order": fill_null(_floats(inv["on_order"]), "on_order"),
            "as_of": pd.to_datetime(inv["as_of"]).to_numpy(),
        }
    )
    cost_rows = cost_index.get_indexer(products)[prod_codes]
    for column in COST_COLUMNS:
        merged[column] = _floats(cost_frame[column])[cost_rows]
    for column in ("min_order_qty", "order_multiple"):
        merged[column] = fill_null(merged[column].to_numpy(), column)
    merged["echelon"] = loc_frame["echelon"].to_numpy(dtype=np.int64)[loc_codes]
    parent = loc_frame["parent_location_id"].astype(object).where(loc_frame["parent_location_id"].notna(), None)
    merged["parent_location_id"] = pd.array(parent.to_numpy(dtype=object)[loc_codes], dtype=str)
    merged["capacity_units"] = _floats(loc_frame["capacity_units"])[loc_codes]

    # ---- sales -> (pair, day, quantity) ---------------------------------------------------------------
    window_sales = _window_sales(sales, products, loc_index, n_loc, lookup, start, window_days, sample_size)
    pair, d, q = window_sales.pair, window_sales.day, window_sales.quantity
    stats = daily_demand_stats(pair, d, q, n_pairs=n_pairs, window_days=window_days)

    # ---- network pooling --------------------------------------------------------------------------------
    anc = ancestor_pairs(locations)
    anc_code = loc_index.get_indexer(anc["ancestor_id"])
    desc_code = loc_index.get_indexer(anc["location_id"])
    ancestor_pair_by_distance: list[np.ndarray] = []
    if len(anc):
        for distance in range(1, int(anc["distance"].max()) + 1):
            at = anc["distance"].to_numpy() == distance
            loc_to_anc = np.full(n_loc, -1, dtype=np.int64)
            loc_to_anc[desc_code[at]] = anc_code[at]
            a = loc_to_anc[loc_codes]
            has = a >= 0
            target = np.full(n_pairs, -1, dtype=np.int64)
            if has.any():
                target[has] = lookup(prod_codes[has].astype(np.int64) * n_loc + a[has])
            if (target >= 0).any():
                ancestor_pair_by_distance.append(target)
    echelon_mean = pool_to_ancestors(stats.mean, ancestor_pair_by_distance)
    echelon_var = pool_to_ancestors(stats.std**2, ancestor_pair_by_distance)
    sold = q > 0
    echelon_days = pooled_sale_days(
        pair[sold],
        d[sold],
        ancestor_pair_by_distance,
        n_pairs=n_pairs,
        window_days=window_days,
        own_sale_days=stats.sale_days,
    )

    # ---- lead times ---------------------------------------------------------------------------------------
    lead = lead_time_statistics(
        receipts,
        products,
        loc_index,
        prod_codes,
        loc_codes,
        min_receipts=min_receipts,
        default_mean_days=default_lead_time_days,
        default_std_days=default_lead_time_std_days,
        location_source=pd.factorize(loc_frame["parent_location_id"].astype(object).fillna("\x00suppliers"))[0],
    )

    last = stats.last_sale_day
    last_date = np.full(n_pairs, np.datetime64("NaT"), dtype="datetime64[ns]")
    ever = last >= 0
    last_date[ever] = np.datetime64(start.to_datetime64(), "ns") + last[ever].astype("timedelta64[D]")

    merged["window_days"] = np.int64(window_days)
    merged["demand_total"] = stats.total
    merged["demand_mean"] = stats.mean
    merged["demand_std"] = stats.std
    merged["sale_days"] = stats.sale_days
    merged["last_sale_date"] = last_date
    merged["echelon_demand_mean"] = echelon_mean
    merged["echelon_demand_std"] = np.sqrt(echelon_var)
    merged["echelon_sale_days"] = echelon_days
    merged["lead_time_mean"] = lead.mean
    merged["lead_time_std"] = lead.std
    merged["lead_time_receipts"] = lead.receipts
    merged["lead_time_level"] = pd.array(lead.level, dtype=str)
    merged = merged.loc[:, list(MERGED_COLUMNS)]
    merged["as_of"] = merged["as_of"].astype("datetime64[ns]")

    no_sales = stats.sale_days == 0
    idle = echelon_days == 0
    level_counts = {name: int(np.count_nonzero(lead.level == name)) for name in LEAD_TIME_LEVELS}
    report = MergeReport(
        window_start=start,
        window_end=end,
        window_days=window_days,
        pairs=n_pairs,
        products=len(products),
        stocked_pairs_without_sales=int(no_sales.sum()),
        stocked_pairs_without_sales_sample=_sample(
            merged["product_id"].to_numpy()[no_sales], merged["location_id"].to_numpy()[no_sales], sample_size
        ),
        stocked_pairs_without_demand=int(idle.sum()),
        stocked_pairs_without_demand_sample=_sample(
            merged["product_id"].to_numpy()[idle], merged["location_id"].to_numpy()[idle], sample_size
        ),
        unstocked_sales_pairs=window_sales.unstocked_pairs,
        unstocked_sales_rows=window_sales.unstocked_rows,
        unstocked_sales_units=window_sales.unstocked_units,
        unstocked_sales_sample=window_sales.unstocked_sample,
        sales_rows_outside_window=window_sales.outside,
        duplicate_sale_rows_merged=window_sales.merged_rows,
        receipts_used=lead.receipts_used,
        receipts_ignored=lead.receipts_ignored,
        lead_time_levels=level_counts,
    )
    return merged, report
