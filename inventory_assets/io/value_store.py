"""A value kept on disk between two steps: every DataFrame in it as a Parquet file, the rest pickled.

The values the assets hand each other are DataFrames, or small project dataclasses holding DataFrames
(``SalesFrame``: the frame and its window), or dicts of numbers. ``dump_value`` writes one folder:

* ``frame-<n>.parquet``: each DataFrame found while pickling the value (pyarrow; column types, the
  index, categories and Arrow-backed text kept exactly, ``attrs`` in the file's metadata);
* ``value.pickle``: the value itself, with each of those frames replaced by a reference to its file
  (pickle's persistent ids). What is left in it is the project's own dataclasses, dates, numbers and
  text, so a pandas upgrade cannot make a stored value unreadable.

A frame Parquet cannot hold (a column of mixed Python objects, such as a validation report's failure
cases) is pickled inline instead, and named in ``Stored.inline``. One run's values at the large preset take
223 MB instead of 2,174 MB of pickles, for about 3 s more of writing and reading (docs/scaling-benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

VALUE_FILE = "value.pickle"
_PARQUET = "parquet"


@dataclasses.dataclass(frozen=True)
class Stored:
    """What `dump_value` wrote: the folder's bytes, the frames as Parquet, and why any frame was not."""

    bytes: int
    parquet_frames: int
    inline: tuple[str, ...] = ()


class _FramePickler(pickle.Pickler):
    def __init__(self, file: io.BufferedWriter, folder: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._folder = folder
        self._written: dict[int, str] = {}
        self._kept: list[pd.DataFrame] = []  # alive while pickling, so an id() is never reused
        self.inline: list[str] = []

    @property
    def parquet_frames(self) -> int:
        return len(self._written)

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        if type(obj) is not pd.DataFrame:  # a subclass is pickled as it is
            return None
        if id(obj) in self._written:  # the same frame twice in the value: one file
            return (_PARQUET, self._written[id(obj)])
        name = f"frame-{len(self._written)}.parquet"
        try:
            # no min/max statistics: nothing filters these files by them, and they were a sixth of the
            # writing time (a large run's values 3.4 s -> 2.85 s, the same bytes)
            obj.to_parquet(self._folder / name, write_statistics=False)
        except (ValueError, TypeError, pa.ArrowException) as error:
            (self._folder / name).unlink(missing_ok=True)
            self.inline.append(f"a {obj.shape[0]} x {obj.shape[1]} frame pickled: {error}")
            return None
        self._written[id(obj)] = name
        self._kept.append(obj)
        return (_PARQUET, name)


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedReader, folder: Path, columns: Sequence[str] | None) -> None:
        super().__init__(file)
        self._folder = folder
        self._columns = None if columns is None else list(columns)
        self._read: dict[str, pd.DataFrame] = {}

    def persistent_load(self, pid: Any) -> pd.DataFrame:
        kind, name = pid
        if kind != _PARQUET:
            raise pickle.UnpicklingError(f"unknown reference {pid!r} in {self._folder / VALUE_FILE}")
        if name not in self._read:
            path = self._folder / name
            if self._columns is not None:
                import pyarrow.parquet as pq

                missing = [c for c in self._columns if c not in pq.read_schema(path).names]
                if missing:
                    raise KeyError(f"{path} has no column {', '.join(missing)} (columns asked for: {self._columns})")
            self._read[name] = pd.read_parquet(path, columns=self._columns)
        return self._read[name]


def dump_value(value: Any, folder: Path) -> Stored:
    """Write ``value`` into ``folder`` (replaced whole if it exists; see the module docstring)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with open(folder / VALUE_FILE, "wb") as file:
        pickler = _FramePickler(file, folder)
        pickler.dump(value)
    size = sum(path.stat().st_size for path in folder.iterdir())
    return Stored(bytes=size, parquet_frames=pickler.parquet_frames, inline=tuple(pickler.inline))


def load_value(folder: Path, columns: Sequence[str] | None = None) -> Any:
    """The value `dump_value` wrote into ``folder``; FileNotFoundError when there is none. ``columns``: each
    frame in it read with only these columns, in this order (a KeyError naming any a frame lacks); Parquet
    reads no other, so a step that needs four of the sales frame's ten columns reads and holds only those."""
    with open(folder / VALUE_FILE, "rb") as file:
        return _FrameUnpickler(file, folder, columns).load()
