"""How old the published plan may grow before the UI shows it as stale (a Dagster freshness policy).

``published_plan`` carries ``dg.FreshnessPolicy.time_window(fail_window=...)``: when its last
materialization is older than ``INVENTORY_PLAN_MAX_AGE_HOURS`` (default 26: the daily schedule plus two
hours), Dagster's freshness daemon marks it failing its freshness, and the UI shows the asset as stale
(Freshness: Degraded) until a new plan is written. The variable is read when the code location loads; a
value that is not a number of hours of at least one minute (Dagster's least window) fails the load naming
it. See docs/operations.md ("Freshness").
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta

import dagster as dg

from inventory_assets.defs.config import EnvironmentDefaultError, parse_env_value

PLAN_MAX_AGE_VAR = "INVENTORY_PLAN_MAX_AGE_HOURS"
DEFAULT_PLAN_MAX_AGE_HOURS = 26.0
"""A day between the schedule's runs, and two hours for a run to finish."""
LEAST_HOURS = 1 / 60
"""Dagster's least freshness window: one minute."""


def plan_max_age(environ: Mapping[str, str] | None = None) -> timedelta:
    """The published plan's greatest age from ``INVENTORY_PLAN_MAX_AGE_HOURS`` (default 26 hours)."""
    env = os.environ if environ is None else environ
    text = (env.get(PLAN_MAX_AGE_VAR) or "").strip()
    if not text:
        return timedelta(hours=DEFAULT_PLAN_MAX_AGE_HOURS)
    hours = parse_env_value(PLAN_MAX_AGE_VAR, text, float)  # the knobs' own parsing: "soon" names the variable
    if not (math.isfinite(hours) and LEAST_HOURS <= hours <= 24 * 366):
        raise EnvironmentDefaultError(
            f"{PLAN_MAX_AGE_VAR}={text!r}: expected a number of hours from {LEAST_HOURS:.4f} (one minute) to 8784"
        )
    return timedelta(hours=hours)


def plan_freshness_policy(environ: Mapping[str, str] | None = None) -> dg.FreshnessPolicy:
    """``published_plan``'s freshness policy: failing once the plan is older than :func:`plan_max_age`."""
    return dg.FreshnessPolicy.time_window(fail_window=plan_max_age(environ))
