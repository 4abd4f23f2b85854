"""The budget frontier asset: the plan re-solved over a grid of budgets (``optimization.frontier``), its
chart, and the points written to the plan database (``io.frontier_store``). Runs in ``frontier_job``;
``planning_job`` leaves it out (it solves the plan several times)."""

from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

import inventory_assets.contract
import inventory_assets.optimization
from inventory_assets.defs import constants, gates, retries, versions
from inventory_assets.defs.config import ParametersConfig, config_class
from inventory_assets.defs.metadata import png_markdown
from inventory_assets.defs.planning.assets import UPSTREAM_BLOCKING_CHECKS
from inventory_assets.defs.resources import SqlDatabase
from inventory_assets.io import db, frontier_store
from inventory_assets.optimization import frontier as core
from inventory_assets.optimization.errors import PlanError
from inventory_assets.reporting.charts import budget_frontier_png
from inventory_assets.reporting.markdown import markdown_table, money, units

if TYPE_CHECKING:  # a class made at run time: type checkers see its base
    FrontierConfig = ParametersConfig
else:
    FrontierConfig = config_class(  # the plan's knobs read INVENTORY_PLAN_<KNOB> as procurement_plan's do
        "FrontierConfig",
        core.FrontierParameters,
        doc="The plan's knobs and the budgets to re-solve it at (docs/model.md, 'Budget frontier').",
        env_prefix="INVENTORY_PLAN_",
    )


def frontier_words(points: pd.DataFrame) -> str:
    """What more money buys, for a planner: from the configured budget to the saturation budget."""
    last = points.iloc[-1]
    configured = points[points["is_configured"]]
    head = f"beyond {money(float(last['budget']))} more budget buys nothing (every useful order is placed)"
    if configured.empty:
        return head
    here = configured.iloc[0]
    short_here = float(here["expected_lost_units"] + here["expected_dc_shortfall_units"])
    short_last = float(last["expected_lost_units"] + last["expected_dc_shortfall_units"])
    return (
        f"at the configured {money(float(here['budget']))} the plan spends {money(float(here['spend']))} and leaves "
        f"{units(short_here)} units expected short (stores and DCs); spending up to {money(float(last['budget']))} "
        f"would leave {units(short_last)} and lower the expected cost by "
        f"{money(float(here['expected_cost'] - last['expected_cost']))}; {head}"
    )


@dg.asset(
    group_name=constants.PLANNING_GROUP,
    kinds={"pyomo", "highs", "sql", "matplotlib"},
    code_version=versions.code_version(__name__, inventory_assets.optimization, inventory_assets.contract),
    owners=versions.OWNERS,
    tags=versions.tags("decision"),
)
def budget_frontier(
    context: dg.AssetExecutionContext, config: FrontierConfig, plan_db: SqlDatabase, abc_risk_features: pd.DataFrame
) -> dg.MaterializeResult:
    """The plan re-solved at a grid of budgets around the configured one (each point started from the
    previous point's plan): spend, expected cost, expected lost sales of the stores and shortfall of the DCs,
    fill rate, rows at risk and the budget's shadow price per point, and the budget beyond which more money
    buys nothing. Written to the plan database's `budget_frontier` with this run's id; a chart in the
    metadata."""
    gates.require_passed_checks(context, UPSTREAM_BLOCKING_CHECKS, "compute the budget frontier")
    try:
        params: core.FrontierParameters = config.parameters()
        frontier = core.budget_frontier(abc_risk_features, params.plan_parameters(), params.budgets or None)
    except (ValueError, PlanError) as error:  # bad grid, infeasible or unsolvable: permanent, never retried
        raise dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from None
    points = frontier.points
    context.log.info(f"budget frontier: {len(points)} points, saturation at {frontier.saturation:,.2f}")
    try:
        written = frontier_store.write_frontier(
            plan_db.engine, context.run.run_id, points, retry_attempts=plan_db.retry_attempts
        )
    except db.DatabaseError as error:
        raise retries.database_error(context, plan_db, error) from None
    shown = points.drop(columns=["saturation_budget"])
    return dg.MaterializeResult(
        metadata={
            "what_more_budget_buys": dg.MetadataValue.text(frontier_words(points)),
            "frontier_chart": png_markdown(budget_frontier_png(points), "what each budget buys"),
            "points": dg.MetadataValue.md(markdown_table(shown, len(shown), floatfmt=",.2f")),
            "saturation_budget": dg.MetadataValue.float(frontier.saturation),
            "dagster/row_count": dg.MetadataValue.int(written),
            "dagster/table_name": dg.MetadataValue.text(frontier_store.FRONTIER.name),
            "database": dg.MetadataValue.text(plan_db.masked_url),
        }
    )
