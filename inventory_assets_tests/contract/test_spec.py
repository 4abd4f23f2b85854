"""The contract as data: what is generated from ``contract.spec`` matches it, and the docs match too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
import sqlalchemy as sa

from inventory_assets.analytics.lead_time import LEAD_TIME_LEVELS
from inventory_assets.analytics.safety_stock import METHODS
from inventory_assets.contract import docs, spec, tables, validation
from inventory_assets.contract.classes import ID_LENGTH, Column, Table
from inventory_assets.contract.frames import FeaturesSchema, MergedDatasetSchema
from inventory_assets.contract.plan import ProcurementPlanSchema
from inventory_assets.contract.schemas import SOURCE_SCHEMAS
from inventory_assets.io import queries

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", docs.DOC_PAGES)
def test_the_docs_column_tables_are_the_contracts(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert "<!-- contract:" in text
    assert docs.render(text) == text, f"{page} differs from the contract: run python -m inventory_assets.contract.docs"


def test_docs_render_replaces_a_stale_table_and_rejects_an_unknown_block() -> None:
    stale = "x\n<!-- contract:frame:sales -->\n| column |\n<!-- /contract:frame:sales -->\n"
    rendered = docs.render(stale)
    assert "`min_line_quantity`" in rendered and "`null_quantity_lines`" in rendered
    with pytest.raises(KeyError, match="nope"):
        docs.render("<!-- contract:nope -->\n<!-- /contract:nope -->")


SQL_TABLES = [
    (spec.SALES_LINES, tables.SALES),
    (spec.INVENTORY, tables.INVENTORY),
    (spec.COSTS, tables.COSTS),
    (spec.LOCATIONS, tables.LOCATIONS),
    (spec.RECEIPTS, tables.RECEIPTS),
    (spec.PROCUREMENT_PLAN_ROWS, tables.PLAN),
    (spec.PROCUREMENT_PLAN_RUNS, tables.RUNS),
]


@pytest.mark.parametrize(("table", "sql"), SQL_TABLES, ids=[f"{t.name}-{s.name}" for t, s in SQL_TABLES])
def test_generated_sql_tables_have_the_contracts_columns(table: Table, sql: sa.Table) -> None:
    assert [c.name for c in sql.columns] == table.column_names
    assert [c.name for c in sql.primary_key.columns] == list(table.sql_primary_key)
    for column in table.columns:
        stored = sql.c[column.name]
        assert stored.nullable == (column.nullable and column.name not in table.sql_primary_key), column.name
        if column.kind == "id":
            assert isinstance(stored.type, sa.String) and stored.type.length == ID_LENGTH
    assert sql.kwargs["mysql_charset"] == "utf8mb4" and sql.kwargs["mariadb_collate"] == "utf8mb4_bin"


def test_the_default_selects_keys_and_null_defaults_come_from_the_contract() -> None:
    assert {name: t.column_names for name, t in spec.SOURCE_TABLES.items()} == queries.CONTRACT_COLUMNS
    assert queries.OPTIONAL_COLUMNS["costs"] == {
        "shelf_life_days",
        "min_order_qty",
        "order_multiple",
        "product_name",
        "supplier_id",
        "supplier_name",
    }
    assert queries.OPTIONAL_COLUMNS["sales"] == {"sale_id", "unit_price"}
    assert queries.SALES_REQUIRED == ["sold_at", "product_id", "location_id", "quantity"]
    assert validation.KEYS["inventory"] == ["product_id", "location_id"]
    assert validation.NULL_DEFAULTS == {
        "inventory": {"on_order": 0.0},
        "costs": {"min_order_qty": 0.0, "order_multiple": 1.0},
    }
    np.testing.assert_array_equal(validation.fill_null(np.array([np.nan, 6.0]), "order_multiple"), [1.0, 6.0])
    assert list(queries.empty_sales_frame().columns) == spec.SALES.column_names


def test_the_analytics_constants_are_the_contracts() -> None:
    assert tuple(LEAD_TIME_LEVELS) == spec.LEAD_TIME_LEVELS
    assert tuple(METHODS) == spec.SAFETY_STOCK_METHODS


def test_the_public_schemas_are_generated() -> None:
    assert SOURCE_SCHEMAS["costs"].name == "CostsSchema"
    for schema, table in (
        (MergedDatasetSchema, spec.MERGED_DATASET),
        (FeaturesSchema, spec.ABC_RISK_FEATURES),
        (ProcurementPlanSchema, spec.PROCUREMENT_PLAN),
    ):
        assert list(schema.columns) == table.column_names
        assert all(c.description for c in schema.columns.values())


# --- a generated schema accepts a good frame and rejects each rule ----------------------------------------


def _good_value(column: Column) -> object:
    if column.isin is not None:
        return column.isin[0]
    if column.kind in ("id", "text"):
        return "X1"
    if column.kind == "day":
        return pd.Timestamp("2026-01-01")
    if column.eq is not None:
        return column.eq
    if column.in_range is not None:
        return column.in_range[0]
    if column.kind in ("integer", "serial"):
        return 1
    if column.lt is not None:
        return column.lt / 2
    return 1.0


def _good_frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: [_good_value(c), _good_value(c)] for c in table.columns}).assign(
        **{k: [f"K{i}" for i in range(2)] for k in table.key if table.column(k).kind == "id"}
    )


def _breaches(column: Column) -> list[tuple[object, str]]:
    """(a value that breaks one rule of ``column``, the check pandera reports)."""
    out: list[tuple[object, str]] = []
    if column.ge is not None:
        out.append((column.ge - 1, f"greater_than_or_equal_to({column.ge:g})"))
    if column.gt is not None:
        out.append((column.gt - 1, f"greater_than({column.gt:g})"))
    if column.eq is not None:
        out.append((column.eq + 1, f"equal_to({column.eq:g})"))
    if column.finite:
        out.append((np.inf, "finite"))
    if column.whole:
        out.append((1.5, "whole_number"))
    if column.min_length:
        out.append(("", "str_length"))
    if column.isin is not None:
        out.append(("not-a-level", "isin"))
    if not column.nullable:
        out.append((None, "not_nullable"))
    return out


CASES = [
    (name, column.name, value, check)
    for name, table in spec.FRAMES.items()
    for column in table.columns
    for value, check in _breaches(column)
    if not (value is None and column.kind in ("id", "text", "flag"))  # None coerces to "None" or False
]


@pytest.mark.parametrize("name", list(spec.FRAMES))
def test_a_generated_schema_accepts_a_good_frame(name: str) -> None:
    table = spec.FRAMES[name]
    frame = _good_frame(table)
    if name in ("merged_dataset", "abc_risk_features"):
        frame = frame.assign(sale_days=0, echelon_sale_days=0, last_sale_date=pd.NaT, demand_total=1.0 * 1)
        frame = frame.assign(window_days=1, demand_mean=1.0, echelon_demand_mean=1.0)
    if name == "abc_risk_features":
        frame = frame.assign(safety_stock_method="normal", order_up_to=2.0, demand_over_protection=1.0)
    if name == "procurement_plan":
        frame = frame.assign(source_location_id=None, order_value=1.0)
    table.to_pandera().validate(frame, lazy=True)


@pytest.mark.parametrize(("name", "column", "value", "check"), CASES, ids=[f"{c[0]}.{c[1]}.{c[3]}" for c in CASES])
def test_a_generated_schema_rejects_each_rule(name: str, column: str, value: object, check: str) -> None:
    table = spec.FRAMES[name]
    frame = _good_frame(table)
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        table.to_pandera().validate(frame, lazy=True)
    cases = caught.value.failure_cases
    mine = cases[cases["column"] == column]
    assert mine["check"].astype(str).str.startswith(check).any(), cases[["column", "check"]].to_string()


def test_a_unique_key_is_checked() -> None:
    frame = _good_frame(spec.INVENTORY)
    frame["product_id"] = "P"
    frame["location_id"] = "S"
    with pytest.raises(pa.errors.SchemaErrors, match="multiple_fields_uniqueness|duplicate"):
        spec.INVENTORY.to_pandera().validate(frame, lazy=True)


def test_an_optional_column_is_one_edit_of_the_contract() -> None:
    grown = replace(
        spec.COSTS,
        columns=(
            *spec.COSTS.columns,
            Column("max_order_qty", "number", "Largest order.", nullable=True, optional=True, ge=0, finite=True),
        ),
    )
    assert "max_order_qty" in grown.optional_columns and grown.column_names[-1] == "max_order_qty"
    assert "max_order_qty" in grown.to_pandera().columns
    assert grown.to_sqlalchemy(sa.MetaData(), "source").c["max_order_qty"].nullable
    assert "`max_order_qty`" in grown.markdown()
