"""Errors of the backtest. Bad input raises before anything is simulated, so nothing partial is returned."""

from __future__ import annotations

__all__ = ["BacktestError", "BacktestInputError", "BacktestPolicyError"]


class BacktestError(Exception):
    """Base of the backtest's errors."""


class BacktestInputError(BacktestError, ValueError):
    """The data or the parameters cannot be backtested (the message names the cause)."""


class BacktestPolicyError(BacktestError):
    """A policy returned orders the simulation cannot execute (wrong length, negative quantities, a
    transfer without a parent, more transferred than the parent has on hand)."""
