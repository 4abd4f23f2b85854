"""Typed values that travel with the sales frame: its history window, and the sales asset's output."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

__all__ = ["SalesWindow", "SalesFrame"]


@dataclass(frozen=True)
class SalesWindow:
    """The inclusive history window of the sales asset (both days included)."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class SalesFrame:
    """The ``sales`` asset's value: the validated daily demand frame and its history window.

    ``window`` is None when the source held no sales (the frame is then empty and its check failed)."""

    frame: pd.DataFrame
    window: SalesWindow | None
