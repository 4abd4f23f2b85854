"""``io/value_store.py``: values between steps with their frames as Parquet, read back exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inventory_assets.io import value_store


@dataclasses.dataclass(frozen=True)
class Held:
    frame: pd.DataFrame
    first: dt.date
    again: pd.DataFrame
    notes: dict[str, float]


def every_kind() -> pd.DataFrame:
    """A frame with each column type the assets hand over."""
    frame = pd.DataFrame(
        {
            "product_id": pd.array(["P1", "P2", None], dtype="str"),
            "location_id": pd.Categorical(["S1", "S1", "DC"], categories=["DC", "S1", "S9"]),  # S9 unused
            "day": pd.to_datetime(["2024-03-01", "2024-03-02", None]),
            "units": [1.5, np.nan, 3.0],
            "lines": np.array([1, 2, 3], dtype="int64"),
            "count": pd.array([1, None, 3], dtype="Int64"),
            "critical": [True, False, True],
        }
    )
    frame.attrs["window_days"] = 90
    return frame


def test_frames_are_parquet_files_and_come_back_exactly(tmp_path: Path) -> None:
    frame = every_kind()
    value = Held(frame=frame, first=dt.date(2024, 3, 1), again=frame, notes={"spend": 12.5})
    stored = value_store.dump_value(value, tmp_path / "v")
    assert stored.parquet_frames == 1 and not stored.inline  # the same frame twice: one file
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["frame-0.parquet", "value.pickle"]
    assert stored.bytes == sum(p.stat().st_size for p in (tmp_path / "v").iterdir())
    assert b"pandas" not in (tmp_path / "v" / "value.pickle").read_bytes()
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(tmp_path / "v" / "frame-0.parquet").metadata  # nothing filters by statistics
    assert not any(meta.row_group(0).column(i).is_stats_set for i in range(meta.num_columns))

    back = value_store.load_value(tmp_path / "v")
    assert isinstance(back, Held) and back.first == value.first and back.notes == value.notes
    pd.testing.assert_frame_equal(back.frame, frame, check_exact=True)
    assert list(back.frame["location_id"].cat.categories) == ["DC", "S1", "S9"]
    assert back.frame.attrs == {"window_days": 90} and back.again is back.frame
    assert {c: str(t) for c, t in back.frame.dtypes.items()} == {c: str(t) for c, t in frame.dtypes.items()}


def test_a_frame_parquet_cannot_hold_is_pickled_and_named_and_the_others_are_not(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"failure_case": [1, "two", dt.date(2024, 1, 1)]})  # a validation report's cases
    numbered = pd.DataFrame({0: [1, 2]})  # a column name that is not text: pandas keeps it in the metadata
    stored = value_store.dump_value({"mixed": mixed, "numbered": numbered, "plain": every_kind()}, tmp_path / "v")
    assert stored.parquet_frames == 2 and len(stored.inline) == 1
    assert stored.inline[0].startswith("a 3 x 1 frame pickled: ") and "failure_case" in stored.inline[0]
    back = value_store.load_value(tmp_path / "v")
    pd.testing.assert_frame_equal(back["mixed"], mixed)
    pd.testing.assert_frame_equal(back["numbered"], numbered)


def test_a_folder_is_replaced_whole_and_a_missing_one_is_file_not_found(tmp_path: Path) -> None:
    value_store.dump_value({"a": every_kind(), "b": every_kind()}, tmp_path / "v")
    value_store.dump_value(pd.DataFrame({"x": [1]}), tmp_path / "v")  # a retried step writes again
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["frame-0.parquet", "value.pickle"]
    assert value_store.load_value(tmp_path / "v")["x"].tolist() == [1]
    with pytest.raises(FileNotFoundError):
        value_store.load_value(tmp_path / "nothing")
    (tmp_path / "v" / "frame-0.parquet").unlink()
    with pytest.raises(FileNotFoundError):
        value_store.load_value(tmp_path / "v")


def test_a_foreign_reference_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "v"
    folder.mkdir()

    class Foreign(pickle.Pickler):
        def persistent_id(self, obj: object) -> tuple[str, str] | None:
            return ("shell", "rm -rf") if obj == "x" else None

    with open(folder / "value.pickle", "wb") as file:
        Foreign(file).dump(["x"])
    with pytest.raises(pickle.UnpicklingError, match="unknown reference"):
        value_store.load_value(folder)


def test_a_value_read_with_columns_holds_only_those_in_that_order(tmp_path: Path) -> None:
    frame = every_kind()
    value_store.dump_value(Held(frame=frame, first=dt.date(2024, 3, 1), again=frame, notes={}), tmp_path / "v")
    back = value_store.load_value(tmp_path / "v", columns=["units", "product_id", "location_id"])
    pd.testing.assert_frame_equal(back.frame, frame[["units", "product_id", "location_id"]], check_exact=True)
    assert back.frame.attrs == {"window_days": 90} and back.again is back.frame and back.first == dt.date(2024, 3, 1)
    with pytest.raises(KeyError, match="has no column sold_at, qty"):
        value_store.load_value(tmp_path / "v", columns=["units", "sold_at", "qty"])
