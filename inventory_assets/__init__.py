"""inventory_assets: sales, inventory and cost data in, an optimal, explained procurement plan out.

``defs`` (the project's ``dg.Definitions``) is loaded on first access, so that the pure core
(``inventory_assets.analytics``, ``inventory_assets.optimization``) imports without Dagster, while
``dagster asset materialize -m inventory_assets`` still finds the definitions.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from inventory_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'inventory_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
