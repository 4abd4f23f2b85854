"""Dagster metadata built from frames, charts and validation reports (shared by every asset and check)."""

from __future__ import annotations

import base64
import math
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from inventory_assets.contract.classes import Column, Table
from inventory_assets.contract.validation import SchemaLike, ValidationResult, as_schema
from inventory_assets.reporting.markdown import PREVIEW_ROWS, markdown_table

REPORT_ROWS = 200

Contract = Table | SchemaLike
"""What describes a frame's columns: its contract ``Table`` (``contract.spec``), or a pandera schema."""


def _constraints(column: Column) -> dg.TableColumnConstraints:
    return dg.TableColumnConstraints(nullable=column.nullable, unique=column.unique, other=column.rules())


def column_schema(frame: pd.DataFrame, contract: Contract | None = None) -> dg.TableSchema:
    """The frame's columns and dtypes, described (and constrained) from the contract where it has the column."""
    columns: dict[str, Column] = {}
    descriptions: dict[str, str] = {}
    if isinstance(contract, Table):
        columns = {c.name: c for c in contract.columns}
        descriptions = {c.name: c.doc for c in contract.columns}
    elif contract is not None:
        descriptions = {name: (c.description or "") for name, c in as_schema(contract).columns.items()}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=str(name),
                type=str(dtype),
                description=descriptions.get(str(name)) or None,
                constraints=_constraints(columns[str(name)]) if str(name) in columns else None,
            )
            for name, dtype in frame.dtypes.items()
        ]
    )


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG shown inline in the UI: markdown with a base64 data URI (Dagster's documented way to attach an
    image to a materialization)."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")


def _cell(value: Any) -> str | int | float | bool | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str) and pd.isna(value):
        return None
    return str(value)


def _column_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "string"


def frame_table(frame: pd.DataFrame, descriptions: dict[str, str] | None = None) -> dg.MetadataValue:
    """A small frame as a native ``dg.MetadataValue.table`` (NaN shown as empty)."""
    descriptions = descriptions or {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name=str(n), type=_column_type(t), description=descriptions.get(str(n)))
            for n, t in frame.dtypes.items()
        ]
    )
    records = [
        dg.TableRecord(data={str(n): _cell(v) for n, v in zip(frame.columns, row, strict=True)})
        for row in frame.itertuples(index=False)
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def frame_metadata(
    frame: pd.DataFrame, contract: Contract | None = None, preview_rows: int = PREVIEW_ROWS
) -> dict[str, Any]:
    """``dagster/row_count``, ``dagster/column_schema`` and a markdown preview."""
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(frame, contract)),
        "preview": dg.MetadataValue.md(markdown_table(frame, preview_rows)),
    }


def validation_check_result(
    result: ValidationResult,
    *,
    check_name: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    asset_key: dg.AssetKey | None = None,
) -> dg.AssetCheckResult:
    """The check result of a validation: passed or not, with every failure as metadata."""
    metadata: dict[str, Any] = {
        "rows_checked": dg.MetadataValue.int(len(result.frame)),
        "failures": dg.MetadataValue.int(len(result.failures)),
    }
    if not result.passed:
        summary = result.summary()
        metadata["summary"] = dg.MetadataValue.md(f"**{result.message()}**\n\n" + markdown_table(summary, 100))
        metadata["failure_cases"] = dg.MetadataValue.md(markdown_table(result.failures, REPORT_ROWS))
        metadata["failing_checks"] = dg.MetadataValue.json(
            {f"{r.column or '(table)'}:{r.check}": int(r.rows) for r in summary.itertuples()}
        )
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=result.passed,
        severity=severity,
        metadata=metadata,
        description=result.message(),
    )
