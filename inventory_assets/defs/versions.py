"""Code versions derived from the code they version, owners and tags of the assets.

``code_version(*modules)`` is a short hash of the source files of the given modules (a package: every
module in it), so Dagster marks an asset's stored value as produced by older code exactly when the code that
computes it changed, and never otherwise. Each asset names its definition module and the core packages it
runs (``contract`` always: the contract is what the data means).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from types import ModuleType

OWNERS = ["team:inventory-planning"]
"""Who answers for the assets (Dagster owners: an email or ``team:<name>``)."""


def tags(layer: str) -> dict[str, str]:
    """The assets' tags: the domain and the layer (``source``, ``feature``, ``decision``, ``evaluation``)."""
    return {"domain": "inventory", "layer": layer}


def _files(module: ModuleType) -> list[Path]:
    file = Path(module.__file__ or "")
    if file.name == "__init__.py":
        return sorted(file.parent.rglob("*.py"))
    return [file]


def code_version(*modules: ModuleType | str) -> str:
    """The first 12 hex digits of SHA-256 over the source files of ``modules`` (modules or their names, e.g.
    ``__name__`` for the defining module), in the order given."""
    digest = hashlib.sha256()
    for module in modules:
        found = sys.modules[module] if isinstance(module, str) else module
        for path in _files(found):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
