"""Print a short summary of the latest materializations and checks in the Dagster instance.

``python -m inventory_assets.summary`` (the last step of ``make demo``) reads the instance that
``DAGSTER_HOME`` names and prints, per asset, when it was last materialized, its row count, the headline
numbers of its metadata, and the outcome of its checks.
"""

from __future__ import annotations

import sys

import dagster as dg

from inventory_assets.definitions import defs

HEADLINE_KEYS = (
    "dagster/row_count",
    "window_start",
    "window_end",
    "units_sold",
    "items_at_risk",
    "expected_waste_value",
    "status",
    "n_orders",
    "objective",
    "spend",
    "budget",
    "budget_shadow_price",
    "database",
    "current_view",
)


def _value(entry: object) -> str:
    value = getattr(entry, "value", entry)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary_lines(instance: dg.DagsterInstance, asset_keys: list[dg.AssetKey]) -> list[str]:
    """One block of lines per asset: last materialization, headline metadata, latest check outcomes."""
    repo = defs().get_repository_def()
    lines: list[str] = []
    for key in asset_keys:
        event = instance.get_latest_materialization_event(key)
        if event is None or event.asset_materialization is None:
            lines.append(f"{key.to_user_string():<20} never materialized")
            continue
        metadata = event.asset_materialization.metadata
        headline = ", ".join(f"{k.split('/')[-1]}={_value(metadata[k])}" for k in HEADLINE_KEYS if k in metadata)
        lines.append(f"{key.to_user_string():<20} {headline}")
        for check_key in repo.asset_graph.get(key).check_keys if repo.asset_graph.has(key) else []:
            records = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1)
            if not records:
                continue
            record = records[0]
            evaluation = (
                record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
            )
            passed = getattr(evaluation, "passed", None)
            outcome = "passed" if passed else ("FAILED" if passed is not None else record.status.value.lower())
            description = getattr(evaluation, "description", None) or ""
            lines.append(f"  check {check_key.name:<28} {outcome}  {description if not passed else ''}".rstrip())
    return lines


def main() -> int:
    instance = dg.DagsterInstance.get()
    keys = sorted(defs().resolve_asset_graph().get_all_asset_keys(), key=lambda k: k.to_user_string())
    print("\n".join(["", "inventory_assets: latest materializations", *summary_lines(instance, keys), ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
