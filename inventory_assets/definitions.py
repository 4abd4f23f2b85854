"""The one place the project's ``dg.Definitions`` is assembled: everything under ``inventory_assets/defs``.

``load_from_defs_folder`` imports every module of the ``defs`` package (``[tool.dg.project]`` in
``pyproject.toml`` names it) and collects the assets, checks, jobs, schedules, sensors, resources and the
executor they declare. Call ``defs()`` for the ``dg.Definitions`` (tests do); the Dagster tools call it
themselves.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """The assets, checks, jobs, schedule, sensor, resources and executor of the project."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
