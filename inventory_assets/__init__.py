"""inventory_assets: sales, inventory and cost data in, an optimal, explained procurement plan out.

The package root holds only entry points: ``definitions`` (the ``dg.Definitions``, loaded from the
``defs`` package), ``cli`` (the ``inventory-assets`` command), ``runs`` (running a job from Python) and
``summary``. The layers below are described in ``docs/architecture.md``; the pure core
(``contract``, ``io``, ``analytics``, ``optimization``, ``reporting``, ``demo``) never imports Dagster.

``dagster asset materialize -m inventory_assets`` finds the definitions through ``all_definitions``
(``definitions.defs``; the name ``defs`` belongs to the ``defs`` package), imported on first access so
that importing the core does not import Dagster.
"""

from typing import Any

__all__ = ["all_definitions"]


def __getattr__(name: str) -> Any:
    if name == "all_definitions":
        from inventory_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'inventory_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "all_definitions"])
