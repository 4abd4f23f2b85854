"""`positions` against pandas' own `Index.get_indexer`, for every kind of id column the frames hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from inventory_assets.contract.ids import contained, positions

IDS = ["P1", "P2", "DC-1", "S 3", "ü"]
LOOKED_UP = ["P2", "nope", "P1", "ü", "P2", "", "S 3"]


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_text_ids_are_found_as_get_indexer_finds_them(storage: str) -> None:
    dtype = pd.StringDtype(storage, na_value=np.nan)
    index = pd.Index(pd.array(IDS, dtype=dtype))
    values = pd.Series(pd.array([*LOOKED_UP, None], dtype=dtype))
    got = positions(index, values)
    np.testing.assert_array_equal(got, index.get_indexer(values))
    np.testing.assert_array_equal(got, [1, -1, 0, 4, 1, -1, 3, -1])  # by hand; a missing id is not found


def test_a_missing_id_is_found_where_the_index_holds_one() -> None:
    index = pd.Index(pd.array(["A", None, "B"], dtype="str"))
    values = pd.Series(pd.array([None, "B", "C"], dtype="str"))
    np.testing.assert_array_equal(positions(index, values), index.get_indexer(values))
    np.testing.assert_array_equal(positions(index, values), [1, 2, -1])


def test_values_in_several_arrow_chunks_and_of_the_other_string_width() -> None:
    chunked = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([["P1", "x"], ["ü", "P2"]])))
    index = pd.Index(pd.array(IDS, dtype="str"))
    assert positions(index, chunked.astype("str")).tolist() == [0, -1, 4, 1]
    small = pd.Series(pd.array(["P2", "DC-1"], dtype=pd.ArrowDtype(pa.string()))).astype("str")
    assert positions(index, small).tolist() == [1, 2]


def test_other_ids_fall_back_to_get_indexer() -> None:
    numbers = pd.Index([10, 20, 30])
    assert positions(numbers, pd.Series([30, 5, 10])).tolist() == [2, -1, 0]
    objects = pd.Index(["a", "b"], dtype=object)
    assert positions(objects, ["b", "c"]).tolist() == [1, -1]
    assert positions(pd.Index(pd.array(IDS, dtype="str")), pd.Series([], dtype="str")).tolist() == []
    with pytest.raises(pd.errors.InvalidIndexError):  # as get_indexer: the index must hold distinct ids
        positions(pd.Index(pd.array(["a", "a"], dtype="str")), pd.Series(pd.array(["a"], dtype="str")))


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_contained_answers_as_isin_does(storage: str) -> None:
    dtype = pd.StringDtype(storage, na_value=np.nan)
    values = pd.Series(pd.array([*LOOKED_UP, None], dtype=dtype))
    for known in (pd.Series(pd.array(IDS, dtype=dtype)), pd.Series(pd.array([*IDS, None], dtype=dtype)), IDS):
        got = contained(values, known)
        np.testing.assert_array_equal(got, values.isin(known).to_numpy())
    np.testing.assert_array_equal(
        contained(values, pd.Series(pd.array(IDS, dtype=dtype))), [True, False, True, True, True, False, True, False]
    )
    assert contained(pd.Series([1, 2, 3]), [3, 1]).tolist() == [True, False, True]
    assert contained(pd.Series([], dtype="str"), IDS).tolist() == []
