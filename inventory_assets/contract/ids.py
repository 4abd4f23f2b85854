"""Looking ids up: the position of each id of a long column among a short index of distinct ids, and
whether each is among the known ones.

The frames' ids are text kept in Arrow (pandas' ``str`` dtype with pyarrow installed). pandas'
``Index.get_indexer`` turns both sides into Python objects first, so for text it goes through Arrow's own
hash lookups (``pyarrow.compute.index_in`` and ``is_in``), which give the same answers without an object per row
(docs/scaling-benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["contained", "positions"]


def _text(values: Any) -> bool:
    return isinstance(getattr(values, "dtype", None), pd.StringDtype)


def _value_set(keys: pd.Series | pd.Index) -> pa.Array:
    """``keys`` as one Arrow array (the lookups' ``value_set`` takes no chunked array)."""
    array = pa.array(keys.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def positions(index: pd.Index, values: Any) -> np.ndarray:
    """``index.get_indexer(values)``: per value, its position in ``index`` (distinct values), -1 where it
    is not there. A missing value is found only where ``index`` holds a missing value too."""
    values = values if isinstance(values, (pd.Series, pd.Index)) else pd.Series(values)
    if len(values) and index.is_unique and _text(index) and _text(values):
        found = pc.index_in(pa.array(values.array), value_set=_value_set(index))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return index.get_indexer(values)


def contained(values: pd.Series, known: Any) -> np.ndarray:
    """``values.isin(known)`` as a boolean array: whether each value is among ``known`` (a missing value
    only where ``known`` holds one)."""
    known = known if isinstance(known, (pd.Series, pd.Index)) else pd.Series(known)
    if len(values) and _text(values) and _text(known):
        found = pc.is_in(pa.array(values.array), value_set=_value_set(known))
        return found.to_numpy(zero_copy_only=False).astype(bool)
    return values.isin(known).to_numpy(dtype=bool)
