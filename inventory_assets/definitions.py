"""The one place the project's ``dg.Definitions`` is assembled."""

from __future__ import annotations

import dagster as dg

from inventory_assets import db
from inventory_assets.assets.features import FEATURE_ASSETS
from inventory_assets.assets.planning import PLANNING_ASSETS
from inventory_assets.assets.sources import SOURCE_ASSETS
from inventory_assets.checks import SOURCE_CHECKS
from inventory_assets.executors import planning_executor
from inventory_assets.jobs import JOBS
from inventory_assets.resources import database_resources
from inventory_assets.schedules import SCHEDULES
from inventory_assets.sensors import SENSORS

# Unset database variables mean the embedded SQLite files under data/ (docs/data-contract.md).
db.apply_default_urls()

defs = dg.Definitions(
    assets=[*SOURCE_ASSETS, *FEATURE_ASSETS, *PLANNING_ASSETS],
    asset_checks=[*SOURCE_CHECKS],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=database_resources(),
    # One process per run by default: on small machines a process per step costs more than the steps
    # themselves. A run's config picks the multiprocess or Celery engine for the same graph
    # (`execution: config: multiprocess: {}`; inventory_assets/executors.py, docs/scaling.md).
    executor=planning_executor,
)
