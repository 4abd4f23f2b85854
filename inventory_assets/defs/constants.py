"""Names shared by assets, checks, jobs and tests (asset keys, groups, check names)."""

from __future__ import annotations

import dagster as dg

SOURCES_GROUP = "sources"
FEATURES_GROUP = "features"
PLANNING_GROUP = "planning"
EVALUATION_GROUP = "evaluation"  # the backtest: its own job, never part of planning_job

SALES_LINES_KEY = dg.AssetKey("sales_lines")  # the cloud sale lines, observed (automation/sensors.py)
FRONTIER_KEY = dg.AssetKey("budget_frontier")  # the plan at several budgets: its own job, never planning_job

PLANNING_SELECTION = (
    dg.AssetSelection.all() - dg.AssetSelection.groups(EVALUATION_GROUP) - dg.AssetSelection.assets(FRONTIER_KEY)
)
"""The planning graph: sources, features, the plan and its write-back (everything but the evaluation and the
budget frontier)."""

SOURCE_TABLES = ("sales", "inventory", "costs", "locations", "receipts")
SOURCE_KEYS = {name: dg.AssetKey(name) for name in SOURCE_TABLES}

VALID_CHECK = "{table}_valid"  # the blocking schema check of each source
INVENTORY_REFERENCES_CHECK = "inventory_references_known"
SALES_REFERENCES_CHECK = "sales_plausible"  # known references, their share of units, the window's end
RECEIPTS_REFERENCES_CHECK = "receipts_references_known"
MERGED_USABLE_CHECK = "merged_dataset_usable"
TARGETS_PLAUSIBLE_CHECK = "targets_plausible_against_current_plan"

DEFAULT_HISTORY_DAYS = 90
