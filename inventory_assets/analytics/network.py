"""The location network for the analytics layer: the contract's one implementation
(``inventory_assets.contract.network``), re-exported under its analytics name."""

from __future__ import annotations

from inventory_assets.contract.network import (
    PROBLEM_KINDS,
    NetworkError,
    ancestor_pairs,
    locations_with_children,
    network_problems,
    parent_positions,
)

__all__ = [
    "PROBLEM_KINDS",
    "NetworkError",
    "network_problems",
    "parent_positions",
    "ancestor_pairs",
    "locations_with_children",
]
