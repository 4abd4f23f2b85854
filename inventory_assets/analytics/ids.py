"""Looking ids up: the position of each id of a long column among a short index of distinct ids.

The frames' ids are text kept in Arrow (pandas' ``str`` dtype with pyarrow installed). pandas'
``Index.get_indexer`` turns both sides into Python objects first, so for text it goes through Arrow's own
hash lookup (``pyarrow.compute.index_in``), which gives the same positions without an object per row
(docs/scaling-benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["positions"]


def positions(index: pd.Index, values: Any) -> np.ndarray:
    """``index.get_indexer(values)``: per value, its position in ``index`` (distinct values), -1 where it
    is not there. A missing value is found only where ``index`` holds a missing value too."""
    values = values if isinstance(values, (pd.Series, pd.Index)) else pd.Series(values)
    if (
        len(values)
        and index.is_unique
        and isinstance(index.dtype, pd.StringDtype)
        and isinstance(values.dtype, pd.StringDtype)
    ):
        keys = pa.array(index.array)
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        found = pc.index_in(pa.array(values.array), value_set=keys)
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return index.get_indexer(values)
