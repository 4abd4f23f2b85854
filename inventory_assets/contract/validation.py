"""Lazy validation of the source frames: every failure of a table in one report, and the coerced frame.

Pure pandas/pandera (no Dagster). ``validate_source`` runs the table's pandera schema lazily plus the
explicit checks that a column schema cannot express, and returns a :class:`ValidationResult` whose
``failures`` frame has one row per failing value: ``table``, ``column``, ``check``, ``failure_case``,
``row`` (position in the frame as read) and ``key`` (the row's key values, so a planner can find it).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from inventory_assets.contract import spec
from inventory_assets.contract.ids import contained
from inventory_assets.contract.network import network_problems
from inventory_assets.contract.schemas import SOURCE_SCHEMAS

FAILURE_COLUMNS = ["table", "column", "check", "failure_case", "row", "key"]

KEYS: dict[str, list[str]] = {name: list(table.key) for name, table in spec.SOURCE_FRAMES.items()}
"""Each source frame's key (``spec.SOURCE_FRAMES``): frames are sorted by it and failures name it."""

NULL_DEFAULTS: dict[str, dict[str, float]] = {
    name: table.null_defaults for name, table in spec.SOURCE_FRAMES.items() if table.null_defaults
}
"""What a NULL in an optional column means, per source table (``Column.null_means``)."""

_NULL_DEFAULT_OF: dict[str, float] = {c: v for defaults in NULL_DEFAULTS.values() for c, v in defaults.items()}

_DAY_COLUMNS: dict[str, list[str]] = {
    name: [c.name for c in table.columns if c.kind == "day"] for name, table in spec.SOURCE_FRAMES.items()
}

SchemaLike = pa.DataFrameSchema | type[pa.DataFrameModel]
"""A generated schema (``spec.Table.to_pandera``) or a hand-written pandera model."""


def as_schema(schema: SchemaLike) -> pa.DataFrameSchema:
    """``schema`` as a ``DataFrameSchema``."""
    return schema if isinstance(schema, pa.DataFrameSchema) else schema.to_schema()


def fill_null(values: np.ndarray, column: str) -> np.ndarray:
    """``values`` of ``column`` (float) with each NaN replaced by what NULL means in the contract."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isnan(values), _NULL_DEFAULT_OF[column], values)


def apply_null_defaults(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a copy) with the contract's NULL meanings of ``table`` applied to the columns it has."""
    out = frame.copy(deep=False)  # copy-on-write: replacing a column here never touches ``frame``
    for column, default in NULL_DEFAULTS.get(table, {}).items():
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce").fillna(default)
    return out


@dataclass
class ValidationResult:
    """The outcome of validating one table."""

    table: str
    frame: pd.DataFrame
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))

    @property
    def passed(self) -> bool:
        return self.failures.empty

    def summary(self) -> pd.DataFrame:
        """One row per (column, check): how many rows fail and a few of their values and keys."""
        if self.failures.empty:
            return pd.DataFrame(columns=["column", "check", "rows", "failing_values", "example_keys"])
        grouped = self.failures.groupby(["column", "check"], dropna=False, sort=True)
        return grouped.agg(
            rows=("row", lambda r: int(r.notna().sum()) or len(r)),
            failing_values=("failure_case", lambda v: _sample(v)),
            example_keys=("key", lambda k: _sample(k)),
        ).reset_index()

    def message(self) -> str:
        """A short text naming the table, the columns, the checks and how many rows fail each."""
        if self.passed:
            return f"{self.table}: all checks passed ({len(self.frame)} rows)"
        parts = [
            f"{row.column or '(table)'}: {row.check} ({row.rows} rows, e.g. {row.failing_values})"
            for row in self.summary().itertuples()
        ]
        return f"{self.table}: {len(self.failures)} failures: " + "; ".join(parts)


def _sample(values: pd.Series, n: int = 5) -> str:
    distinct = pd.unique(values.dropna().astype(str))
    shown = ", ".join(distinct[:n])
    return shown + (f", ... ({len(distinct)} distinct)" if len(distinct) > n else "")


def _failure_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS) if rows else pd.DataFrame(columns=FAILURE_COLUMNS)


def _key_text(frame: pd.DataFrame, table: str | Sequence[str], positions: Sequence) -> list[str | None]:
    """The key values of the rows at ``positions`` as ``"a / b"`` texts (None where there is no row).

    Vectorised: a table whose every row fails (a wrong type in a million-row column) is reported as fast
    as one that fails once.
    """
    keys = [k for k in (KEYS[table] if isinstance(table, str) else table) if k in frame.columns]
    pos = pd.to_numeric(pd.Series(list(positions), dtype=object), errors="coerce")
    valid = pos.notna() & (pos >= 0) & (pos < len(frame))
    out = pd.Series([None] * len(pos), dtype=object)
    if not keys or not valid.any():
        return out.tolist()
    rows = frame.iloc[pos[valid].astype(np.int64).to_numpy()]
    parts = []
    for key in keys:
        column = rows[key]
        if pd.api.types.is_datetime64_any_dtype(column):
            parts.append(column.dt.strftime("%Y-%m-%d").fillna("NaT").astype(str).to_numpy(dtype=object))
        else:  # numpy's str() of each value; a missing one reads "None" (pandas' astype(str) keeps it NaN)
            shown = column.to_numpy(dtype=object).astype(str).astype(object)
            shown[column.isna().to_numpy()] = "None"
            parts.append(shown)
    text = parts[0]
    for part in parts[1:]:
        text = text + " / " + part
    out[valid.to_numpy()] = text
    return out.tolist()


def validate_frame(name: str, frame: pd.DataFrame, schema_model: SchemaLike, keys: Sequence[str]) -> ValidationResult:
    """Run ``schema_model`` lazily on ``frame``; an empty frame is a failure too.

    Returns the coerced frame (best effort when the schema fails) and one failure row per failing value,
    each with the key values of its row.
    """
    schema = as_schema(schema_model)
    raw = frame.reset_index(drop=True)
    failures: list[pd.DataFrame] = []
    if raw.empty:
        failures.append(
            _failure_frame(
                name,
                [
                    {
                        "table": name,
                        "column": None,
                        "check": "not_empty",
                        "failure_case": "the source returned no rows" if name in KEYS else "no rows",
                        "row": None,
                        "key": None,
                    }
                ],
            )
        )
    try:
        validated = _validate(schema, raw)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        rows = pd.DataFrame(
            {
                "table": name,
                "column": cases["column"].where(cases["column"].notna(), None).astype(object),
                "check": cases["check"].astype(str),
                "failure_case": cases["failure_case"].astype(str),
                "row": cases["index"].astype(object),
            }
        )
        rows["key"] = _key_text(raw, list(keys), rows["row"].tolist())
        failures.append(rows[FAILURE_COLUMNS])
        validated = _best_effort_coerce(schema, raw)
    report = (
        ordered_failures(pd.concat(failures, ignore_index=True), schema_model) if failures else _failure_frame(name, [])
    )
    return ValidationResult(table=name, frame=validated, failures=report)


def _validate(schema: pa.DataFrameSchema, raw: pd.DataFrame) -> pd.DataFrame:
    """``schema.validate(raw, lazy=True)`` with ``raw`` left as it is, for the failure report.

    Pandera deep-copies the frame it coerces unless told ``inplace``; in place, it replaces the coerced
    columns of a shallow copy (copy-on-write keeps ``raw``'s), which at the large preset spares the sales
    frame's copy (about 1 s and 0.5 GB, the graph's peak; docs/scaling-benchmarks.md). In place does not go
    with ``strict="filter"`` (pandera 0.35 deprecates it), so a filtering schema validates in place only a
    frame without extra columns, as the same schema with ``strict=True`` (which then filters nothing)."""
    frame = _days_coerced(schema, raw.copy(deep=False))
    if schema.strict == "filter":
        if not set(raw.columns) <= set(schema.columns):
            return schema.validate(frame, lazy=True)  # a user's query with extra columns: filtered from a copy
        schema = copy.copy(schema)
        schema.strict = True
    return schema.validate(frame, lazy=True, inplace=True)


def _days_coerced(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column of texts or ``datetime.date`` objects that the schema coerces to dates
    coerced as pandera would, each distinct value once: the same values (pandas' own cache of distinct
    values in ``to_datetime`` does the same), but without the Python string per row that ``to_datetime``
    makes of Arrow-backed text (the large preset's 8.6 M sale days: 1.7 s and 0.67 GB at the peak). A
    column with a value that does not coerce is left as it is, for pandera to coerce and report."""
    for name, column in schema.columns.items():
        values = frame.get(name)
        if values is None or not (schema.coerce or column.coerce):
            continue
        if not pd.api.types.is_datetime64_any_dtype(column.dtype.type):
            continue
        if not (isinstance(values.dtype, pd.StringDtype) or values.dtype == object):
            continue
        codes, texts = pd.factorize(values)
        try:
            days = column.dtype.coerce(pd.Series(texts))
        except (TypeError, ValueError, OverflowError):
            continue
        with_missing = np.append(days.to_numpy(), np.array([None], dtype=days.dtype))
        frame[name] = pd.Series(with_missing[codes], index=frame.index, name=name)
    return frame


def ordered_failures(report: pd.DataFrame, schema_model: SchemaLike) -> pd.DataFrame:
    """``report`` in its canonical order: table-wide failures first, then by column in schema order, by
    check (in order of appearance) and by row. Reports of parts of a table, concatenated and ordered, read
    exactly like the report of the whole table."""
    if report.empty:
        return report
    order = {name: i for i, name in enumerate(as_schema(schema_model).columns)}
    column_rank = report["column"].map(order)
    column_rank = column_rank.where(report["column"].notna(), -1).fillna(len(order))
    check_rank = pd.Series(pd.factorize(report["check"].astype(str))[0], index=report.index)
    row = pd.to_numeric(report["row"], errors="coerce")
    ranks = pd.DataFrame({"column": column_rank, "check": check_rank, "row": row})
    return report.loc[ranks.sort_values(["column", "check", "row"], kind="stable").index].reset_index(drop=True)


def validate_source(
    table: str,
    frame: pd.DataFrame,
    *,
    extra_failures: Sequence[pd.DataFrame] = (),
    in_key_order: bool = False,
) -> ValidationResult:
    """Validate ``frame`` as source ``table``: pandera schema (lazy) plus the explicit checks.

    Explicit checks: an empty table; for ``receipts`` a receipt received before it was ordered; for
    ``locations`` a missing parent, an echelon that does not follow the parent's, and cycles.
    ``extra_failures`` adds cross-table failures (see :func:`unknown_references`). ``in_key_order``: the
    frame was read sorted by its key (``queries.SalesRows.in_key_order``), so the sort is skipped.
    """
    result = validate_frame(table, frame, SOURCE_SCHEMAS[table], KEYS[table])
    validated = result.frame
    failures = [result.failures] if not result.failures.empty else []
    if table == "receipts" and {"ordered_at", "received_at"} <= set(validated.columns):
        failures.append(_received_before_ordered(validated))
    if table == "locations" and not validated.empty and "location_id" in validated:
        problems = network_problems(_normalise(table, validated.copy()))
        if not problems.empty:
            failures.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "column": "parent_location_id",
                        "check": problems["problem"].astype(str),
                        "failure_case": problems["detail"].astype(str),
                        "row": None,
                        "key": problems["location_id"].astype(str),
                    }
                )[FAILURE_COLUMNS]
            )
    failures.extend(f for f in extra_failures if not f.empty)
    report = pd.concat(failures, ignore_index=True) if failures else _failure_frame(table, [])
    normalised = _normalise(table, validated, keep_index=True, in_key_order=in_key_order)
    if not report.empty and len(normalised):
        # Rows are reported as positions in the frame handed downstream (sorted by key), whatever order
        # the database returned them in.
        new_position = pd.Series(np.arange(len(normalised)), index=normalised.index)
        report = moved_rows(report, lambda rows: rows.map(new_position))
    return ValidationResult(table=table, frame=normalised.reset_index(drop=True), failures=report)


def moved_rows(report: pd.DataFrame, move: Callable[[pd.Series], pd.Series]) -> pd.DataFrame:
    """``report`` with each numeric ``row`` replaced by ``move(rows)``; table-wide failures (no row) stay."""
    rows = pd.to_numeric(report["row"], errors="coerce")
    moved = move(rows)
    out = report.copy()
    out["row"] = report["row"].where(moved.isna(), moved.astype("Int64").astype(object))
    return out


def _received_before_ordered(receipts: pd.DataFrame) -> pd.DataFrame:
    bad = np.flatnonzero((receipts["received_at"] < receipts["ordered_at"]).to_numpy())
    if not len(bad):
        return _failure_frame("receipts", [])
    rows = receipts.iloc[bad]
    out = pd.DataFrame(
        {
            "table": "receipts",
            "column": "received_at",
            "check": "received_after_ordered",
            "failure_case": [
                f"received {r.date()} before ordered {o.date()}"
                for r, o in zip(rows["received_at"], rows["ordered_at"], strict=True)
            ],
            "row": bad.astype(object),
        }
    )
    out["key"] = _key_text(receipts, "receipts", bad.tolist())
    return out[FAILURE_COLUMNS]


def _best_effort_coerce(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each schema column coerced where possible (for reporting after a failure)."""
    out = frame.copy()
    for name, column in schema.columns.items():
        if name in out:
            with contextlib.suppress(Exception):
                out[name] = column.coerce_dtype(out[name])
    keep = [c for c in schema.columns if c in out]
    return out[keep]


def _normalise(
    table: str, frame: pd.DataFrame, *, keep_index: bool = False, in_key_order: bool = False
) -> pd.DataFrame:
    """Apply the contract's NULL meanings, normalise days to midnight, sort by key (unless ``in_key_order``),
    fresh index (or, with ``keep_index``, each row's position in ``frame`` as its index)."""
    out = apply_null_defaults(table, frame)
    for column in _DAY_COLUMNS[table]:
        if column in out and pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.tz_localize(None) if out[column].dt.tz is not None else out[column]
            out[column] = out[column].dt.normalize().astype("datetime64[ns]")
    if table == "locations" and "parent_location_id" in out:
        parent = out["parent_location_id"]
        out["parent_location_id"] = parent.where(parent.notna() & (parent.astype(str).str.len() > 0), None)
    keys = [k for k in KEYS[table] if k in out.columns]
    if in_key_order and keys == list(KEYS[table]):
        keys = []  # read in key order: a stable sort would leave every row in place
    if keys and not out.empty:
        with contextlib.suppress(TypeError):
            out = out.sort_values(keys, kind="stable")
    return out if keep_index else out.reset_index(drop=True)


def unknown_references(
    table: str,
    frame: pd.DataFrame,
    column: str,
    known: pd.Series | np.ndarray,
    *,
    check: str | None = None,
) -> pd.DataFrame:
    """Failure rows for the values of ``frame[column]`` that are not in ``known`` (one row per bad row)."""
    if frame.empty or column not in frame:
        return _failure_frame(table, [])
    unknown = ~contained(frame[column], known)
    if not unknown.any():
        return _failure_frame(table, [])
    positions = np.flatnonzero(unknown)
    bad = frame.iloc[positions]
    out = pd.DataFrame(
        {
            "table": table,
            "column": column,
            "check": check or f"known_{column}",
            "failure_case": bad[column].astype(str).to_numpy(),
            "row": positions.astype(object),
        }
    )
    out["key"] = _key_text(frame, table, positions.tolist())
    return out[FAILURE_COLUMNS]


def reference_failures(table: str, frame: pd.DataFrame, costs: pd.DataFrame, locations: pd.DataFrame) -> pd.DataFrame:
    """Failure rows (checks ``unknown_product`` and ``unknown_location``) for the rows of ``frame`` naming a
    product missing from ``costs`` or a location missing from ``locations``."""
    known_products = costs["product_id"] if "product_id" in costs else pd.Series(dtype=str)
    known_locations = locations["location_id"] if "location_id" in locations else pd.Series(dtype=str)
    return pd.concat(
        [
            unknown_references(table, frame, "product_id", known_products, check="unknown_product"),
            unknown_references(table, frame, "location_id", known_locations, check="unknown_location"),
        ],
        ignore_index=True,
    )
