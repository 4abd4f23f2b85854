"""Jobs: the whole planning graph, and the source tables alone."""

from __future__ import annotations

import dagster as dg

from inventory_assets.defs import constants

planning_job = dg.define_asset_job(
    name="planning_job",
    selection=dg.AssetSelection.all(),
    description="The whole graph: read and validate the sources, build the features, solve and write the plan.",
)

sources_job = dg.define_asset_job(
    name="sources_job",
    selection=dg.AssetSelection.groups(constants.SOURCES_GROUP),
    description="Read and validate the five source tables.",
)

JOBS = [planning_job, sources_job]
