"""Jobs: the planning graph, the source tables alone, the backtest, and the budget frontier (on the
definitions' executor: in process unless a run's config picks a process per step); and the planning graph
on Celery workers, when the ``celery`` extra is installed (``defs/automation/executors.py``)."""

from __future__ import annotations

import dagster as dg

from inventory_assets.defs import constants
from inventory_assets.defs.automation import executors

planning_job = dg.define_asset_job(
    name="planning_job",
    selection=constants.PLANNING_SELECTION,
    description="The whole planning graph: read and validate the sources, build the features, solve and write "
    "the plan (the evaluation group, the backtest, runs in backtest_job).",
)

sources_job = dg.define_asset_job(
    name="sources_job",
    selection=dg.AssetSelection.groups(constants.SOURCES_GROUP),
    description="Read and validate the five source tables.",
)

backtest_job = dg.define_asset_job(
    name="backtest_job",
    selection=dg.AssetSelection.groups(constants.EVALUATION_GROUP),
    description="Replay each policy over the held-out weeks of sales and write the comparison (docs/backtest.md).",
)

frontier_job = dg.define_asset_job(
    name="frontier_job",
    selection=dg.AssetSelection.assets(constants.FRONTIER_KEY),
    description="Re-solve the plan over a grid of budgets from the current features and write the budget "
    "frontier (docs/model.md, 'Budget frontier'); run after planning_job.",
)

JOBS = [planning_job, sources_job, backtest_job, frontier_job]

_CELERY = executors.celery_executor()
if _CELERY is not None:
    planning_job_celery = dg.define_asset_job(
        name=executors.CELERY_JOB,
        selection=constants.PLANNING_SELECTION,
        executor_def=_CELERY,
        description="planning_job's graph with its steps on Celery workers (dagster_celery.celery_executor; "
        "docs/scaling.md, 'Celery workers').",
    )
    JOBS.append(planning_job_celery)
