"""The buyer's lists: the plan's purchase orders and transfer orders, with names, dates and reasons in words.

Pure pandas, no Dagster. :func:`order_lists` turns the plan frame (``contract.spec.PROCUREMENT_PLAN``) into
two frames stated in the contract (``spec.PURCHASE_ORDERS``, ``spec.TRANSFER_ORDERS``):

* purchases: rows with ``order_qty > 0`` and no source location, with the product's supplier
  (``costs.supplier_id`` / ``supplier_name``);
* transfers: rows with ``order_qty > 0`` and a source location (the receiving location's parent).

Each row carries the product's and the locations' names (the ids where the source has none), the packs
(``order_qty / order_multiple``), the unit cost and the value (0 for transfers), the order date (the run's
planning day), the expected arrival (order date + ``ceil(lead_time_mean)`` days of the row's features) and
the reason in words with its numbers, built from the plan row's columns (:func:`reason_text`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from inventory_assets.contract import spec
from inventory_assets.contract.plan import QTY_TOL

__all__ = [
    "NO_SUPPLIER",
    "PURCHASE_COLUMNS",
    "TRANSFER_COLUMNS",
    "OrderLists",
    "order_lists",
    "reason_text",
    "number_words",
]

NO_SUPPLIER = "no supplier"
"""``supplier_name`` of a purchase whose product has no ``supplier_id`` in ``costs``."""

PURCHASE_COLUMNS: tuple[str, ...] = tuple(spec.PURCHASE_ORDERS.column_names)
TRANSFER_COLUMNS: tuple[str, ...] = tuple(spec.TRANSFER_ORDERS.column_names)


@dataclass(frozen=True)
class OrderLists:
    """The plan's purchases and transfers (columns ``PURCHASE_COLUMNS`` / ``TRANSFER_COLUMNS``)."""

    purchases: pd.DataFrame
    transfers: pd.DataFrame


@functools.lru_cache(maxsize=1 << 16)
def number_words(value: float) -> str:
    """A quantity for people: thousands separators, at most two decimals, no trailing zeros (``1,250``,
    ``12.5``). Cached: the reasons of a large plan repeat the same few thousand quantities."""
    if not math.isfinite(value):
        return str(value)
    rounded = round(float(value), 2)
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    return f"{rounded:,.2f}".rstrip("0").rstrip(".")


REASON_INPUTS: tuple[str, ...] = (
    "order_qty",
    "order_up_to",
    "safety_stock",
    "position_before",
    "position_after",
    "transfers_out",
    "is_critical",
    "reason_code",
    "order_multiple",
    "min_order_qty",
    "source_location_id",
)
"""The plan columns :func:`reason_text` reads."""


def reason_text(row: Mapping[str, Any]) -> str:
    """The reason of one plan row in words, with its numbers.

    The head says how far the row was below its target before the order (the need: ``order_up_to``, or
    the safety stock for a critical row when higher, minus ``position_before - transfers_out``); the tail
    says what set the quantity (``reason_code``, ``optimization/reasons.py``), the last part how the
    position moves (``position_before - transfers_out + order_qty = position_after``): e.g. ``below target
    146 by 52; budget exhausted after 40; position 94 + 40 = 134``.
    """
    n = number_words
    qty = float(row["order_qty"])
    target = float(row["order_up_to"])
    safety = float(row["safety_stock"])
    net = float(row["position_before"]) - float(row.get("transfers_out", 0.0) or 0.0)
    critical_floor = bool(row.get("is_critical", False)) and safety > target
    floor = safety if critical_floor else target
    need = max(0.0, floor - net)
    what = "safety stock" if critical_floor else "target"
    head = f"below {what} {n(floor)} by {n(need)}" if need > QTY_TOL else f"at or above {what} {n(floor)}"
    code = str(row["reason_code"])
    multiple = float(row.get("order_multiple", 1.0) or 1.0)
    packs = round(qty / multiple) if multiple > 0 else 0
    source = row.get("source_location_id")
    has_source = isinstance(source, str) and source != ""
    if code == "critical_minimum":
        tail = f"critical item: {n(qty)} brings it to its safety stock {n(safety)}"
    elif code == "limited_by_parent_stock":
        tail = f"{source if has_source else 'the parent'} has no more stock after {n(qty)}"
    elif code == "limited_by_budget":
        tail = f"budget exhausted after {n(qty)}"
    elif code == "limited_by_capacity":
        tail = f"location full after {n(qty)}"
    elif code == "limited_by_shelf_life":
        tail = f"more than {n(qty)} would expire before it sells"
    elif code == "pack_moq_rounding":
        moq = float(row.get("min_order_qty", 0.0) or 0.0)
        tail = f"rounded to {packs:,} pack(s) of {n(multiple)} = {n(qty)}"
        if moq > multiple and qty <= moq + QTY_TOL:
            tail += f" (minimum order {n(moq)})"
    elif code == "below_target":
        tail = (
            f"ordering {n(qty)} covers it"
            if qty >= need - QTY_TOL
            else f"ordering {n(qty)}: more costs more than it saves"
        )
    else:  # nothing_needed (never ordered) or a code of a later version
        tail = code.replace("_", " ")
    moved = float(row.get("transfers_out", 0.0) or 0.0)
    out = f" - {n(moved)} transferred out" if moved > QTY_TOL else ""
    position = f"position {n(float(row['position_before']))}{out} + {n(qty)} = {n(float(row['position_after']))}"
    return f"{head}; {tail}; {position}"


def _reasons(ordered: pd.DataFrame) -> list[str]:
    """`reason_text` of each row, its inputs taken column by column (what ``to_dict("records")`` gives, without
    a pandas call per value)."""
    inputs = [c for c in ordered.columns if c in REASON_INPUTS]
    columns = [ordered[c].tolist() for c in inputs]
    return [reason_text(dict(zip(inputs, row, strict=True))) for row in zip(*columns, strict=True)]


def _names(frame: pd.DataFrame | None, key: str, name: str) -> dict[str, str]:
    """``key -> name`` for the rows of ``frame`` whose name is given (empty when the column is absent)."""
    if frame is None or name not in frame.columns or key not in frame.columns:
        return {}
    given = frame[[key, name]].dropna()
    given = given[given[name].astype(str).str.strip() != ""]
    return dict(zip(given[key].astype(str), given[name].astype(str), strict=True))


def _named(ids: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """The name of each id, the id itself where no name is known."""
    values = ids.astype(object)
    return pd.Series([names.get(v, v) for v in values], index=ids.index, dtype="str")


def order_lists(
    plan: pd.DataFrame,
    *,
    order_date: date,
    features: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
) -> OrderLists:
    """The purchase and transfer orders of ``plan``.

    ``features`` gives each row's ``lead_time_mean`` (keyed by product and location; a row without one
    arrives on the order date); ``costs`` the optional ``product_name``, ``supplier_id`` and
    ``supplier_name``; ``locations`` the optional ``name``. Names the sources lack fall back to the ids
    (a purchase without a supplier id is listed under ``no supplier``). Purchases are sorted by supplier,
    location and product; transfers by source, destination and product.
    """
    ordered = plan[plan["order_qty"].astype(float) > QTY_TOL].reset_index(drop=True)
    day = pd.Timestamp(order_date).normalize()
    lead = pd.Series(0.0, index=ordered.index)
    if features is not None and len(ordered):
        keyed = features.set_index(["product_id", "location_id"])["lead_time_mean"].astype(float)
        index = pd.MultiIndex.from_frame(ordered[["product_id", "location_id"]].astype(object))
        lead = pd.Series(keyed.reindex(index).to_numpy(), index=ordered.index).fillna(0.0)
    lead_days = np.ceil(lead.to_numpy(dtype=float) - 1e-9).clip(min=0).astype(np.int64)
    products = _names(costs, "product_id", "product_name")
    places = _names(locations, "location_id", "name")
    qty = ordered["order_qty"].astype(float)
    multiple = ordered["order_multiple"].astype(float)
    source = ordered["source_location_id"]
    is_purchase = source.isna().to_numpy()
    common = pd.DataFrame(
        {
            "product_id": ordered["product_id"].astype("str"),
            "product_name": _named(ordered["product_id"], products),
            "location_id": ordered["location_id"].astype("str"),
            "location_name": _named(ordered["location_id"], places),
            "order_qty": qty,
            "order_multiple": multiple,
            "packs": np.round(qty / multiple).astype(np.int64),
            "unit_cost": ordered["unit_cost"].astype(float),
            "order_value": np.where(is_purchase, qty * ordered["unit_cost"].astype(float), 0.0),
            "order_date": pd.Series(day, index=ordered.index).astype("datetime64[ns]"),
            "lead_time_days": lead_days,
            "expected_arrival": (day + pd.to_timedelta(lead_days, unit="D")).astype("datetime64[ns]"),
            "reason_code": ordered["reason_code"].astype("str"),
            "reason": pd.Series(_reasons(ordered), dtype="str"),
        },
        index=ordered.index,
    )
    purchases = common[is_purchase].copy()
    supplier_ids = _names(costs, "product_id", "supplier_id")
    supplier_names = _names(costs, "supplier_id", "supplier_name")
    supplier = pd.Series([supplier_ids.get(p) for p in purchases["product_id"]], index=purchases.index, dtype=object)
    purchases.insert(0, "supplier_id", supplier.astype("str").where(supplier.notna(), None))
    purchases.insert(
        1,
        "supplier_name",
        pd.Series(
            [NO_SUPPLIER if s is None else supplier_names.get(s, s) for s in supplier],
            index=purchases.index,
            dtype="str",
        ),
    )
    purchases = purchases.sort_values(["supplier_name", "location_id", "product_id"], kind="stable", ignore_index=True)
    transfers = common[~is_purchase].copy()
    sources = source[~is_purchase].astype("str")
    transfers.insert(0, "source_location_id", sources)
    transfers.insert(1, "source_location_name", _named(sources, places))
    transfers = transfers.sort_values(
        ["source_location_id", "location_id", "product_id"], kind="stable", ignore_index=True
    )
    return OrderLists(
        purchases=purchases.loc[:, list(PURCHASE_COLUMNS)],
        transfers=transfers.loc[:, list(TRANSFER_COLUMNS)],
    )
