"""The buyer's lists: the purchase and transfer orders of the plan.

Thin wiring around ``inventory_assets.reporting.orders`` (the lists, pure pandas). ``published_plan`` takes
both lists, commits them with the plan in one transaction and then exports the committed run's lists
(``inventory_assets.io.plan_export``: CSV files and one XLSX workbook under ``INVENTORY_EXPORT_DIR``, default
``data/exports``, one folder per run).
"""

from collections.abc import Iterator
from datetime import date, datetime, timezone

import dagster as dg
import pandas as pd

import inventory_assets.contract
import inventory_assets.reporting
from inventory_assets.contract import spec
from inventory_assets.contract.classes import Table
from inventory_assets.defs import constants, versions
from inventory_assets.defs.metadata import frame_metadata
from inventory_assets.reporting.markdown import markdown_table
from inventory_assets.reporting.orders import order_lists

PURCHASE_ORDERS = "purchase_orders"
TRANSFER_ORDERS = "transfer_orders"
TOP_ROWS = 10
ORDERS_VERSION = versions.code_version(__name__, inventory_assets.reporting, inventory_assets.contract)


def planning_day(context: dg.AssetExecutionContext) -> date:
    """The run's planning day: the UTC day the run started (now when the instance has no start time)."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else None
    moment = datetime.fromtimestamp(started, tz=timezone.utc) if started else datetime.now(timezone.utc)
    return moment.date()


def _list_metadata(frame: pd.DataFrame, table: Table, party: str) -> dict[str, dg.MetadataValue]:
    metadata = frame_metadata(frame, table)
    top = frame.sort_values(["order_value", "order_qty"], ascending=False).head(TOP_ROWS)
    shown = [party, "product_name", "location_name", "order_qty", "packs", "order_value", "expected_arrival", "reason"]
    metadata["largest"] = dg.MetadataValue.md(markdown_table(top[shown], TOP_ROWS))
    metadata["units"] = dg.MetadataValue.float(float(frame["order_qty"].sum()))
    metadata["value"] = dg.MetadataValue.float(float(frame["order_value"].sum()))
    return metadata


@dg.multi_asset(
    outs={
        PURCHASE_ORDERS: dg.AssetOut(
            group_name=constants.PLANNING_GROUP,
            code_version=ORDERS_VERSION,
            owners=versions.OWNERS,
            tags=versions.tags("decision"),
            kinds={"pandas"},
            description="The plan's purchases, one row per (product, location) bought from a supplier: supplier, "
            "product and location with names, quantity, packs, unit cost and value, order date, expected "
            "arrival and the reason in words.",
        ),
        TRANSFER_ORDERS: dg.AssetOut(
            group_name=constants.PLANNING_GROUP,
            code_version=ORDERS_VERSION,
            owners=versions.OWNERS,
            tags=versions.tags("decision"),
            kinds={"pandas"},
            description="The plan's transfers, one row per (product, location) replenished from its parent: "
            "source and destination with names, product, quantity, packs, order date, expected arrival and the "
            "reason in words (value 0).",
        ),
    },
    can_subset=True,
)
def order_lists_assets(
    context: dg.AssetExecutionContext,
    procurement_plan: pd.DataFrame,
    abc_risk_features: pd.DataFrame,
    costs: pd.DataFrame,
    locations: pd.DataFrame,
) -> Iterator[dg.Output]:
    """The plan rows with an order, as lists a buyer acts on: purchases by supplier, transfers by source.
    Names come from `costs` (`product_name`, `supplier_id`, `supplier_name`) and `locations` (`name`),
    the ids where they are missing; the order date is the run's planning day (UTC) and the expected arrival
    adds the row's lead time (`ceil(lead_time_mean)` days)."""
    day = planning_day(context)
    lists = order_lists(
        procurement_plan,
        order_date=day,
        features=abc_risk_features[["product_id", "location_id", "lead_time_mean"]],
        costs=costs,
        locations=locations,
    )
    context.log.info(
        f"orders of {day:%Y-%m-%d}: {len(lists.purchases):,} purchases worth "
        f"{lists.purchases['order_value'].sum():,.2f}, {len(lists.transfers):,} transfers"
    )
    selected = context.op_execution_context.selected_output_names
    if PURCHASE_ORDERS in selected:
        yield dg.Output(
            lists.purchases,
            output_name=PURCHASE_ORDERS,
            metadata=_list_metadata(lists.purchases, spec.PURCHASE_ORDERS, "supplier_name"),
        )
    if TRANSFER_ORDERS in selected:
        yield dg.Output(
            lists.transfers,
            output_name=TRANSFER_ORDERS,
            metadata=_list_metadata(lists.transfers, spec.TRANSFER_ORDERS, "source_location_name"),
        )
