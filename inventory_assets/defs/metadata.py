"""Dagster metadata built from frames and validation reports (shared by every asset and check)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from inventory_assets.contract.validation import ValidationResult
from inventory_assets.reporting.markdown import PREVIEW_ROWS, markdown_table

REPORT_ROWS = 200


def column_schema(frame: pd.DataFrame, schema: type[pa.DataFrameModel] | None = None) -> dg.TableSchema:
    """The frame's columns and dtypes, described from the pandera model where it has the column."""
    descriptions: Mapping[str, str] = {}
    if schema is not None:
        descriptions = {name: (column.description or "") for name, column in schema.to_schema().columns.items()}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=str(name), type=str(dtype), description=descriptions.get(str(name)) or None)
            for name, dtype in frame.dtypes.items()
        ]
    )


def frame_metadata(
    frame: pd.DataFrame, schema: type[pa.DataFrameModel] | None = None, preview_rows: int = PREVIEW_ROWS
) -> dict[str, object]:
    """``dagster/row_count``, ``dagster/column_schema`` and a markdown preview."""
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(frame, schema)),
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
    metadata: dict[str, object] = {
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
