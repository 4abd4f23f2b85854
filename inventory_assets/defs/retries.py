"""Step retries for faults that can pass, and for nothing else.

A ``dg.RetryPolicy`` re-runs a step whatever it raised: a bug, an absurd setting or bad data would be tried
three times over two minutes. The steps that touch a database therefore carry no policy. A fault that can
pass (``db.DatabaseError.transient``: a dropped or refused connection, a restarting server, a deadlock, a
lock held elsewhere), once the resource's own quick retries are spent, asks Dagster to run the step again
(``dg.RetryRequested``) after the resource's ``step_retry_delay_seconds`` (30 s), then twice that, at most
``step_retries`` (2) times; anything else fails the step at once (``dg.Failure(allow_retries=False)``, or
the exception itself) and is never retried.
"""

from __future__ import annotations

import dagster as dg

from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db

Context = dg.OpExecutionContext | dg.AssetExecutionContext | dg.AssetCheckExecutionContext


def step_error(context: Context, database: SqlDatabase, description: str, *, transient: bool) -> Exception:
    """The exception a step raises for a fault: a retry request while a transient fault has step retries
    left on ``database`` (logged with its delay), else a ``dg.Failure`` that is never retried."""
    attempt = context.retry_number
    if transient and attempt < database.step_retries:
        delay = database.step_retry_delay_seconds * 2**attempt
        context.log.warning(
            f"{description}; running the step again in {delay:.0f} s (step retry {attempt + 1} of "
            f"{database.step_retries})"
        )
        return dg.RetryRequested(max_retries=database.step_retries, seconds_to_wait=delay)
    suffix = f" (after {attempt + 1} step attempt(s))" if transient else ""
    return dg.Failure(description=description + suffix, allow_retries=False)


def database_error(context: Context, database: SqlDatabase, error: db.DatabaseError) -> Exception:
    """:func:`step_error` of a fault met on ``database`` (its masked message; transient as the fault is)."""
    return step_error(context, database, str(error), transient=error.transient)
