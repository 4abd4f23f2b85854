"""Exporting a committed plan's order lists: CSV files and one XLSX workbook per run.

Pure pandas + rustpy-xlsxwriter, no Dagster. :func:`export_plan` reads a committed run's ``purchase_orders`` and
``transfer_orders`` back from the plan database (``plan_store.run_orders``; ``latest`` is the current
plan's run) and writes them under ``<root>/<run_id>/``:

* ``purchase_orders.csv`` and ``transfer_orders.csv``: the rows as stored (the contract's columns, dates as
  ``YYYY-MM-DD``), no totals;
* ``orders.xlsx``: a sheet ``Purchases`` and a sheet ``Transfers`` with every row, then a sheet per
  supplier (``PO <supplier name>``) and a sheet per destination (``TO <location name>``), each with a
  totals row (``TOTAL`` in the first column; quantity, packs and value summed). A list without rows still
  gets its sheet (``Purchases`` / ``Transfers``) with the header row and no totals.

The root is ``INVENTORY_EXPORT_DIR`` when set, else ``data/exports`` under the project root
(:func:`export_root`). A workbook is a list for people: the automatic export after each plan skips it
when the two lists hold more than ``INVENTORY_EXPORT_XLSX_MAX_ROWS`` lines (default 100,000; the CSV files
hold every line, and ``inventory-assets export-plan --format xlsx`` writes the workbook at any size), and
says so in ``ExportResult.skipped``. Each file is written to a temporary name and renamed, so a reader never sees half a
file; exporting a run again replaces its files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import rustpy_xlsxwriter
import sqlalchemy as sa

from inventory_assets.io import db, plan_store

__all__ = [
    "EXPORT_DIR_VAR",
    "XLSX_MAX_ROWS_VAR",
    "DEFAULT_XLSX_MAX_ROWS",
    "xlsx_max_rows",
    "DEFAULT_EXPORT_DIR",
    "FORMATS",
    "WORKBOOK",
    "TOTAL_LABEL",
    "ExportResult",
    "export_root",
    "export_plan",
    "write_exports",
    "write_csv",
    "sheet_name",
    "workbook_sheets",
    "sheet_totals",
]

EXPORT_DIR_VAR = "INVENTORY_EXPORT_DIR"
XLSX_MAX_ROWS_VAR = "INVENTORY_EXPORT_XLSX_MAX_ROWS"
DEFAULT_XLSX_MAX_ROWS = 100_000
"""Most order lines the automatic export writes into a workbook (a workbook is for people to open)."""
DEFAULT_EXPORT_DIR = db.DATA_DIR / "exports"
FORMATS: tuple[str, ...] = ("csv", "xlsx")
WORKBOOK = "orders.xlsx"
TOTAL_LABEL = "TOTAL"
PURCHASES_SHEET = "Purchases"
TRANSFERS_SHEET = "Transfers"
SUM_COLUMNS: tuple[str, ...] = ("order_qty", "packs", "order_value")
"""The columns a totals row sums."""

DAY = "%Y-%m-%d"
FLOAT = "%.12g"
"""Numbers in the CSV files: 12 significant digits (``3852.78``, not the double's ``3852.7799999999997``)."""

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31
_SPECIAL = re.compile(r'[,"\r\n]')
"""What makes pandas quote a CSV field (its ``QUOTE_MINIMAL``): the delimiter, the quote, a line break."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_plan` wrote: the run, its folder, the files by name and the rows per list."""

    run_id: str
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Files not written, by name, with the reason."""


def export_root(environ: Mapping[str, str] | None = None) -> Path:
    """The folder the exports go under: ``INVENTORY_EXPORT_DIR`` when set and not empty, else
    ``data/exports`` under the project root."""
    value = (os.environ if environ is None else environ).get(EXPORT_DIR_VAR, "").strip()
    return Path(value).expanduser() if value else DEFAULT_EXPORT_DIR


def xlsx_max_rows(environ: Mapping[str, str] | None = None) -> int:
    """``INVENTORY_EXPORT_XLSX_MAX_ROWS`` when set (a whole number >= 0), else 100,000."""
    value = (os.environ if environ is None else environ).get(XLSX_MAX_ROWS_VAR, "").strip()
    if not value:
        return DEFAULT_XLSX_MAX_ROWS
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ValueError(f"{XLSX_MAX_ROWS_VAR}={value!r}: expected a whole number >= 0")
    return limit


def sheet_name(text: str, taken: Iterable[str] = ()) -> str:
    """``text`` as a valid Excel sheet name: ``[]:*?/\\`` replaced, no leading or trailing apostrophe, at
    most 31 characters, not empty, and unique (case-insensitively, as Excel compares) among ``taken``."""
    name = _SHEET_BAD.sub("_", text).strip().strip("'").strip() or "Sheet"
    if name.lower() == "history":  # reserved by Excel
        name = "History_"
    name = name[:_SHEET_MAX]
    used = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        suffix = f" ({n})"
        candidate = name[: _SHEET_MAX - len(suffix)] + suffix
    return candidate


def sheet_totals(frame: pd.DataFrame) -> dict[str, object] | None:
    """The totals row under a sheet's rows: ``TOTAL`` in the first column and the sums of ``SUM_COLUMNS``
    (``packs`` a whole number, the others rounded to 6 decimals); None for a list without rows."""
    if frame.empty:
        return None
    total: dict[str, object] = {frame.columns[0]: TOTAL_LABEL}
    for column in SUM_COLUMNS:
        if column in frame.columns:
            total[column] = round(float(frame[column].sum()), 6) if column != "packs" else int(frame[column].sum())
    return total


def workbook_sheets(purchases: pd.DataFrame, transfers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The workbook's sheets in order, by (valid, unique) sheet name: the two lists, then a sheet per
    supplier and per destination (each written with its :func:`sheet_totals`)."""
    sheets: dict[str, pd.DataFrame] = {PURCHASES_SHEET: purchases, TRANSFERS_SHEET: transfers}
    groups: list[tuple[str, pd.DataFrame]] = [
        (f"PO {name}", rows) for name, rows in purchases.groupby("supplier_name", sort=True, dropna=False)
    ]
    groups += [(f"TO {name}", rows) for name, rows in transfers.groupby("location_name", sort=True, dropna=False)]
    for title, rows in groups:
        sheets[sheet_name(title, sheets)] = rows.reset_index(drop=True)
    return sheets


def _replace(path: Path, write) -> None:
    """Write ``path`` through ``write(tmp_path)`` and rename: never half a file under the final name."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the workbook writes it, with its :func:`sheet_totals` row under the rows: dates without a
    time zone, booleans and numbers as they are (whole numbers nullable, so the totals row leaves their cells
    blank), and everything else as text (never a formula, whatever it starts with; missing stays blank)."""
    columns: dict[str, Any] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            if values.dt.tz is not None:
                values = values.dt.tz_localize(None)
        elif pd.api.types.is_integer_dtype(values):
            values = values.astype("Int64")
        elif not (
            isinstance(values.dtype, pd.StringDtype)
            or pd.api.types.is_bool_dtype(values)
            or pd.api.types.is_numeric_dtype(values)
        ):
            values = values.where(values.isna(), values.astype(str)).astype("str")
        columns[name] = values
    out = pd.DataFrame(columns, index=frame.index)
    total = sheet_totals(frame)
    if total is None:
        return out
    row = pd.DataFrame([total]).astype({name: out[name].dtype for name in total})
    return pd.concat([out, row], ignore_index=True)


def _width(frame: pd.DataFrame, column: Any) -> float:
    """A column's width: its header's or its first 200 values' longest text, plus 2, at most 60."""
    return min(max([len(str(column)), *(len(str(v)) for v in frame[column].head(200))]) + 2, 60)


def _write_workbook(path: Path, sheets: Mapping[str, pd.DataFrame]) -> None:
    # rustpy-xlsxwriter (rust_xlsxwriter under it) writes each sheet's Arrow columns in Rust: XlsxWriter's
    # per-cell Python took 12-13 µs a cell, seven times as long (docs/scaling-benchmarks.md).
    header = rustpy_xlsxwriter.Format().set_bold().set_border("thin").set_align("center").set_align("top")
    rustpy_xlsxwriter.write_worksheets(
        [(name, _sheet_frame(frame)) for name, frame in sheets.items()],
        str(path),
        freeze_panes={name: {"row": 1, "col": 0} for name in sheets},
        datetime_format="YYYY-MM-DD",
        column_widths={name: [_width(frame, c) for c in frame.columns] for name, frame in sheets.items()},
        header_format=dict.fromkeys(sheets, header),
    )


def _csv_texts(frame: pd.DataFrame) -> pd.DataFrame | None:
    """``frame``'s values as the text pandas' ``to_csv`` writes for them with ``DAY`` and ``FLOAT`` (each
    distinct value formatted once; a missing value empty), or None for a column of another kind or a column
    name pandas would quote."""
    if any(not isinstance(name, str) or _SPECIAL.search(name) for name in frame.columns):
        return None
    texts: dict[str, Any] = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.StringDtype):  # as it is (Arrow's own text, missing values empty)
            texts[name] = values
            continue
        if values.dtype == object:
            if not all(isinstance(v, str) for v in pd.unique(values[values.notna()])):
                return None
            texts[name] = values.astype("str")
            continue
        codes, uniques = pd.factorize(values)  # a missing value gets code -1: the empty text appended last
        if pd.api.types.is_datetime64_any_dtype(values):
            formatted = list(pd.DatetimeIndex(uniques).strftime(DAY))
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
            formatted = [str(v) for v in uniques.tolist()]
        elif pd.api.types.is_float_dtype(values):
            formatted = [FLOAT % v for v in uniques.tolist()]
        else:
            return None
        texts[name] = np.array([*formatted, None], dtype=object)[codes]
    return pd.DataFrame(texts, index=frame.index)


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """``frame`` as a CSV file (no index, dates ``DAY``, numbers ``FLOAT``, ``\\n`` line ends), byte for byte
    what pandas' ``to_csv`` writes. Arrow's CSV writer writes the values, each distinct one formatted once
    (`_arrow_csv`); where a text needs quoting (a comma, a quote or a line break) or a column is of another
    kind, pandas writes the file."""
    texts = _csv_texts(frame)
    if texts is not None:
        try:
            _arrow_csv(path, texts)
            return
        except pa.ArrowInvalid:  # a value pandas would quote
            pass
    frame.to_csv(path, index=False, date_format=DAY, float_format=FLOAT, lineterminator="\n")


def _arrow_csv(path: Path, texts: pd.DataFrame) -> None:
    """Text columns (`_csv_texts`) through Arrow's CSV writer, never quoted: ``pyarrow.ArrowInvalid`` for a
    value that would need quotes."""
    with open(path, "wb") as file:
        file.write(",".join(texts.columns).encode() + b"\n")
        table = pa.Table.from_pandas(texts, preserve_index=False)
        pa_csv.write_csv(table, file, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


def write_exports(
    folder: Path,
    orders: Mapping[str, pd.DataFrame],
    formats: Sequence[str] = FORMATS,
    *,
    max_workbook_rows: int | None = None,
    skipped: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write ``orders`` (``purchase_orders``, ``transfer_orders``) into ``folder`` in ``formats``; return the
    files by name (``purchase_orders.csv``, ``transfer_orders.csv``, ``orders.xlsx``). With
    ``max_workbook_rows``, the workbook is not written when the lists hold more lines; the reason goes to
    ``skipped``."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export formats {unknown}; known: {list(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if "csv" in formats:
        for name in (plan_store.PURCHASE_ORDERS_TABLE, plan_store.TRANSFER_ORDERS_TABLE):
            path = folder / f"{name}.csv"
            frame = orders[name]
            _replace(path, lambda tmp, frame=frame: write_csv(tmp, frame))
            files[path.name] = path
    lines = sum(len(frame) for frame in orders.values())
    if "xlsx" in formats and max_workbook_rows is not None and lines > max_workbook_rows:
        if skipped is not None:
            skipped[WORKBOOK] = (
                f"{lines:,} order lines exceed {max_workbook_rows:,} ({XLSX_MAX_ROWS_VAR}); the CSV files hold "
                "every line, and inventory-assets export-plan --format xlsx writes the workbook"
            )
    elif "xlsx" in formats:
        path = folder / WORKBOOK
        sheets = workbook_sheets(orders[plan_store.PURCHASE_ORDERS_TABLE], orders[plan_store.TRANSFER_ORDERS_TABLE])
        _replace(path, lambda tmp: _write_workbook(tmp, sheets))
        files[path.name] = path
    return files


def export_plan(
    engine: sa.Engine | str,
    run: str = "latest",
    *,
    root: Path | None = None,
    formats: Sequence[str] = FORMATS,
    retry_attempts: int = 4,
    max_workbook_rows: int | None = None,
) -> ExportResult:
    """Read committed run ``run`` (a run id or ``latest``) from the plan database and write its order lists
    under ``<root>/<run_id>/`` (root: :func:`export_root`). Raises ``plan_store.RunNotFoundError`` when the
    run has not committed, :class:`db.DatabaseError` on a database failure, ``OSError`` when the files
    cannot be written. ``max_workbook_rows``: see :func:`write_exports` (None: the workbook at any size)."""
    engine = db.make_engine(engine) if isinstance(engine, str) else engine
    database = engine.url.database
    if (
        engine.url.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not Path(database).exists()
    ):
        # Reading would create an empty database file: there is no plan to export.
        raise plan_store.RunNotFoundError(f"no plan database at {db.mask_url(engine.url)}: no plan has been committed")
    found = plan_store.resolve_run(engine, run, retry_attempts=retry_attempts)
    run_id = str(found["run_id"])
    orders = plan_store.run_orders(engine, run_id, retry_attempts=retry_attempts)
    folder = (root if root is not None else export_root()) / _folder_name(run_id)
    skipped: dict[str, str] = {}
    files = write_exports(folder, orders, formats, max_workbook_rows=max_workbook_rows, skipped=skipped)
    return ExportResult(
        run_id=run_id, folder=folder, files=files, rows={k: len(v) for k, v in orders.items()}, skipped=skipped
    )


def _folder_name(run_id: str) -> str:
    """A run id as a folder name (Dagster's run ids are UUIDs; anything else is made path-safe)."""
    safe = re.sub(r"[^\w.\-]", "_", run_id).strip(".")
    return safe or "run"
