"""A run's whole config checked when the run starts, before its first step reads anything.

Dagster checks run config against each asset's config *schema* when a run is launched: names and types
(an unknown knob, text where a number goes). The rules a schema cannot carry (a budget of -5, a review
period of 10^6 days, a critical class ``"Z"``, an unknown forecast method or backtest policy) are the core
parameter dataclasses' own checks, which a step would otherwise meet only when it starts, maybe many
minutes into the run, after the sales were read. :class:`RunConfigCheck` runs those checks on every
configured asset and check of the run as soon as the run starts: the IO manager, which every step
initialises before anything else (once per run in process, in each step's process otherwise), depends on
it. A refusal fails the run naming the asset or check, the knob and the rule, and is never retried.
(``sales``' ``history_days`` is refused earlier still, at launch: ``sales`` is a graph asset, whose config
mapping runs then.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from inventory_assets.defs.config import ParametersConfig
from inventory_assets.defs.evaluation.assets import BacktestConfig, policy_backtest
from inventory_assets.defs.features.assets import (
    FeatureConfig,
    ForecastConfig,
    MergeConfig,
    abc_risk_features,
    demand_forecast,
    merged_dataset,
)
from inventory_assets.defs.features.plausibility import targets_plausible_against_current_plan
from inventory_assets.defs.planning.assets import PlanConfig, procurement_plan
from inventory_assets.defs.planning.frontier import FrontierConfig, budget_frontier
from inventory_assets.defs.sources.checks import PlausibilityConfig, sales_plausible

CONFIGURED: tuple[tuple[dg.AssetsDefinition | dg.AssetChecksDefinition, type[ParametersConfig]], ...] = (
    (merged_dataset, MergeConfig),
    (demand_forecast, ForecastConfig),
    (abc_risk_features, FeatureConfig),
    (procurement_plan, PlanConfig),
    (budget_frontier, FrontierConfig),
    (policy_backtest, BacktestConfig),
    (sales_plausible, PlausibilityConfig),
    (targets_plausible_against_current_plan, PlausibilityConfig),
)
"""Each asset or check whose config is a parameter dataclass's, with its config class (a test keeps this
list whole: every such op of the project is here)."""


class RunConfigError(dg.Failure):
    """A run config value its knob's rules refuse (permanent: never retried)."""


def run_config_problems(run_config: Mapping[str, Any]) -> list[str]:
    """One line per configured op of ``run_config`` whose values its parameter dataclass refuses: the op
    (the asset or check as run config names it) and the dataclass's message, which names the knob."""
    ops = run_config.get("ops") or {}
    problems = []
    for definition, config_class in CONFIGURED:
        name = definition.node_def.name
        entry = ops.get(name)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("config"), Mapping):
            continue
        try:
            config_class(**entry["config"]).parameters()
        except (TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
            problems.append(f"{name}: {error}")
    return problems


class RunConfigCheck(dg.ConfigurableResource):
    """Checks the run's whole config when the run starts (see the module); nothing to configure."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run
        problems = run_config_problems(run.run_config if run is not None else {})
        if problems:
            raise RunConfigError(
                description="The run config is refused before any step ran:\n- "
                + "\n- ".join(problems)
                + "\nChange these values in the run config (Launchpad, `dg launch --config`) and launch again.",
                allow_retries=False,
            )
