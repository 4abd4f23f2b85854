"""Jobs: the source tables alone (more jobs join as the graph grows)."""

from __future__ import annotations

import dagster as dg

from inventory_assets import constants

sources_job = dg.define_asset_job(
    name="sources_job",
    selection=dg.AssetSelection.groups(constants.SOURCES_GROUP),
    description="Read and validate the five source tables.",
)

JOBS = [sources_job]
