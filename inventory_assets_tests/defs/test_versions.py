"""Code versions derived from the code, owners and tags on every asset."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from inventory_assets.definitions import defs
from inventory_assets.defs import versions


def test_every_asset_has_a_derived_code_version_owners_and_tags() -> None:
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        assert node.code_version is not None and re.fullmatch(r"[0-9a-f]{12}", node.code_version), name
        assert node.owners == versions.OWNERS, name
        assert node.tags.get("domain") == "inventory" and node.tags.get("layer"), name


def test_the_version_follows_the_source_and_nothing_else(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "versioned_example.py"
    module.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    imported = importlib.import_module("versioned_example")
    try:
        first = versions.code_version(imported)
        assert versions.code_version("versioned_example") == first  # by name too
        assert versions.code_version(imported) == first  # stable
        module.write_text("X = 2\n")
        assert versions.code_version(imported) != first
    finally:
        sys.modules.pop("versioned_example", None)


def test_a_package_is_versioned_by_every_module_in_it() -> None:
    import inventory_assets.forecast
    import inventory_assets.forecast.models

    assert versions.code_version(inventory_assets.forecast) != versions.code_version(inventory_assets.forecast.models)
