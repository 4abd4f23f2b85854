"""The order lists in the plan database and their export files, on real SQLite, PostgreSQL and MariaDB.

The files are opened and read back (CSV with pandas, XLSX with openpyxl through pandas and openpyxl itself)
and compared with what the plan database holds for the run; the CLI runs end to end on the tiny demo.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from inventory_assets import cli
from inventory_assets.io import db, plan_export, plan_store
from inventory_assets.reporting.orders import order_lists
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import materialize, write_demo
from inventory_assets_tests.io.test_plan_store import RUN, T0, make_plan, rows_of

all_backends = pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
PURCHASES, TRANSFERS = plan_store.PURCHASE_ORDERS_TABLE, plan_store.TRANSFER_ORDERS_TABLE
DAY = date(2025, 3, 1)


def lists_of(plan: pd.DataFrame) -> dict[str, pd.DataFrame]:
    costs = pd.DataFrame({"product_id": plan["product_id"].unique()})
    costs["product_name"] = "Name of " + costs["product_id"]
    costs["supplier_id"] = [["SUP1", "SUP/2*", None][i % 3] for i in range(len(costs))]  # no name, no supplier
    costs["supplier_name"] = costs["supplier_id"].map({"SUP1": "Springfield Foods: [fresh]"})
    features = plan[["product_id", "location_id"]].assign(lead_time_mean=3.5)
    lists = order_lists(plan, order_date=DAY, features=features, costs=costs, locations=None)
    return {PURCHASES: lists.purchases, TRANSFERS: lists.transfers}


def read_csv(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    """A CSV export read back with the dtypes of ``like`` (ids as text, dates as dates)."""
    texts = {c: "str" for c in like.columns if like[c].dtype == object or str(like[c].dtype) == "str"}
    dates = [c for c in like.columns if str(like[c].dtype).startswith("datetime64")]
    frame = pd.read_csv(path, dtype=texts, parse_dates=dates, keep_default_na=False, na_values=[""])
    for c in dates:
        frame[c] = frame[c].astype("datetime64[ns]")
    for c in like.columns:
        if c not in texts and c not in dates:
            frame[c] = frame[c].astype(like[c].dtype)
    return frame


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, check_exact=False, rtol=1e-12
    )


def read_sheet(path: Path, sheet: str, like: pd.DataFrame) -> pd.DataFrame:
    """A workbook sheet without its totals row, with the dtypes of ``like``."""
    frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", dtype=object)
    if len(frame):
        assert frame.iloc[-1, 0] == plan_export.TOTAL_LABEL
        frame = frame.iloc[:-1]
    out = {}
    for c in like.columns:
        if str(like[c].dtype).startswith("datetime64"):
            out[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
        elif like[c].dtype == object or str(like[c].dtype) == "str":
            out[c] = pd.Series(frame[c].where(frame[c].notna(), None), dtype="str")
        else:
            out[c] = frame[c].astype(like[c].dtype)
    return pd.DataFrame(out, columns=like.columns)


def assert_exports_match(files: dict[str, Path], stored: dict[str, pd.DataFrame]) -> None:
    """The CSV files and the workbook equal the plan database's rows of the run."""
    for name in (PURCHASES, TRANSFERS):
        assert_same(read_csv(files[f"{name}.csv"], stored[name]), stored[name])
    book = files[plan_export.WORKBOOK]
    names = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert names[:2] == ["Purchases", "Transfers"]
    assert len({n.lower() for n in names}) == len(names)
    for n in names:
        assert len(n) <= 31 and not set("[]:*?/\\") & set(n), n
    purchases, transfers = stored[PURCHASES], stored[TRANSFERS]
    assert_same(read_sheet(book, "Purchases", purchases), purchases)
    assert_same(read_sheet(book, "Transfers", transfers), transfers)
    # One sheet per supplier and per destination; together they hold every row, each with its totals.
    per_supplier = [n for n in names if n.startswith("PO ")]
    per_destination = [n for n in names if n.startswith("TO ")]
    assert len(per_supplier) == purchases["supplier_name"].nunique()
    assert len(per_destination) == transfers["location_name"].nunique()
    for sheets, whole in ((per_supplier, purchases), (per_destination, transfers)):
        if not sheets:
            continue
        parts = pd.concat([read_sheet(book, n, whole) for n in sheets], ignore_index=True)
        key = ["product_id", "location_id"]
        assert_same(parts.sort_values(key, ignore_index=True), whole.sort_values(key, ignore_index=True))
        for n in sheets:
            raw = pd.read_excel(book, sheet_name=n, engine="openpyxl")
            total, rows = raw.iloc[-1], raw.iloc[:-1]
            assert total.iloc[0] == plan_export.TOTAL_LABEL
            for column in plan_export.SUM_COLUMNS:
                assert total[column] == pytest.approx(rows[column].astype(float).sum())


@all_backends
def test_orders_commit_with_the_plan_and_export_back(empty_database: str, tmp_path: Path) -> None:
    engine = db.make_engine(empty_database)
    plan = make_plan(30, seed=3)
    lists = lists_of(plan)
    assert len(lists[PURCHASES]) and len(lists[TRANSFERS])
    written = plan_store.write_plan(engine, "run-1", plan, RUN, planned_at=T0, orders=lists)
    assert written.order_rows == {PURCHASES: len(lists[PURCHASES]), TRANSFERS: len(lists[TRANSFERS])}

    stored = plan_store.run_orders(engine, "run-1")
    for name in (PURCHASES, TRANSFERS):
        pd.testing.assert_frame_equal(stored[name], lists[name], check_dtype=False)
    # run_orders reads through an Arrow reader where the database has one (SQLite, PostgreSQL): the same
    # frames, dtypes and all, as from SQLAlchemy's rows (the reference, and MariaDB's read of a run id).
    for name, table in plan_store.ORDER_TABLES.items():
        sql = plan_store._orders_sql(engine.dialect, table)
        rows = db.read_frame(engine, sql, {"run_id": "run-1"}, share_text=False)
        pd.testing.assert_frame_equal(stored[name], plan_store._orders_frame(table, rows))

    # Rewriting the run leaves one copy of its lists.
    plan_store.write_plan(engine, "run-1", plan, RUN, planned_at=T0, orders=lists)
    assert {k: len(v) for k, v in plan_store.run_orders(engine, "run-1").items()} == written.order_rows

    result = plan_export.export_plan(engine, "latest", root=tmp_path)
    assert result.run_id == "run-1" and result.folder == tmp_path / "run-1"
    assert set(result.files) == {"purchase_orders.csv", "transfer_orders.csv", "orders.xlsx"}
    assert_exports_match(result.files, stored)
    assert (stored[PURCHASES]["expected_arrival"] == pd.Timestamp(DAY + timedelta(days=4))).all()

    with pytest.raises(plan_store.RunNotFoundError):
        plan_export.export_plan(engine, "no-such-run", root=tmp_path)


def test_the_automatic_export_skips_a_workbook_too_long_to_open_and_says_why(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    plan = make_plan(30, seed=3)
    lists = lists_of(plan)
    plan_store.write_plan(engine, "run-1", plan, RUN, planned_at=T0, orders=lists)
    lines = len(lists[PURCHASES]) + len(lists[TRANSFERS])

    capped = plan_export.export_plan(engine, "run-1", root=tmp_path / "capped", max_workbook_rows=lines - 1)
    assert set(capped.files) == {"purchase_orders.csv", "transfer_orders.csv"}
    assert not (capped.folder / plan_export.WORKBOOK).exists()
    reason = capped.skipped[plan_export.WORKBOOK]
    assert f"{lines:,} order lines exceed {lines - 1:,}" in reason and plan_export.XLSX_MAX_ROWS_VAR in reason
    stored = plan_store.run_orders(engine, "run-1")
    for name in (PURCHASES, TRANSFERS):  # the CSV files still hold every line
        assert len(pd.read_csv(capped.files[f"{name}.csv"])) == len(stored[name]) > 0

    at_limit = plan_export.export_plan(engine, "run-1", root=tmp_path / "at_limit", max_workbook_rows=lines)
    assert plan_export.WORKBOOK in at_limit.files and not at_limit.skipped


def test_the_workbook_limit_comes_from_the_environment() -> None:
    assert plan_export.xlsx_max_rows({}) == plan_export.DEFAULT_XLSX_MAX_ROWS
    assert plan_export.xlsx_max_rows({plan_export.XLSX_MAX_ROWS_VAR: " 250 "}) == 250
    for bad in ("-1", "many", "1.5"):
        with pytest.raises(ValueError, match=plan_export.XLSX_MAX_ROWS_VAR):
            plan_export.xlsx_max_rows({plan_export.XLSX_MAX_ROWS_VAR: bad})


@all_backends
def test_a_plan_without_orders_exports_empty_sheets_with_headers(empty_database: str, tmp_path: Path) -> None:
    engine = db.make_engine(empty_database)
    plan = make_plan(8, seed=4).assign(order_qty=0.0, order_value=0.0)
    plan_store.write_plan(engine, "empty", plan, RUN, planned_at=T0, orders=lists_of(plan))
    result = plan_export.export_plan(engine, "empty", root=tmp_path)
    assert result.rows == {PURCHASES: 0, TRANSFERS: 0}
    for name, table in ((PURCHASES, "purchase_orders"), (TRANSFERS, "transfer_orders")):
        columns = [c.name for c in plan_store.ORDER_TABLES[table].columns if c.name != "run_id"]
        assert result.files[f"{name}.csv"].read_text().strip() == ",".join(columns)
    book = openpyxl.load_workbook(result.files[plan_export.WORKBOOK])
    assert book.sheetnames == ["Purchases", "Transfers"]
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 1 and rows[0][0] in ("supplier_id", "source_location_id")


@all_backends
def test_a_failure_after_the_plan_rows_leaves_neither_plan_nor_orders(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    old = make_plan(10, seed=1)
    plan_store.write_plan(engine, "old", old, RUN, planned_at=T0, orders=lists_of(old))
    new = make_plan(20, seed=2)
    lists = lists_of(new)
    # The database refuses the transfers (a duplicate key), after the plan's rows and the purchases are in.
    lists[TRANSFERS] = pd.concat([lists[TRANSFERS], lists[TRANSFERS].iloc[[0]]], ignore_index=True)
    with pytest.raises(db.DatabaseError) as info:
        plan_store.write_plan(engine, "new", new, RUN, planned_at=T0 + timedelta(hours=1), orders=lists)
    assert not info.value.transient
    assert rows_of(empty_database, "new") == 0
    assert {k: len(v) for k, v in plan_store.run_orders(engine, "new").items()} == {PURCHASES: 0, TRANSFERS: 0}
    assert plan_store.resolve_run(engine, "latest")["run_id"] == "old"
    assert len(plan_store.run_orders(engine, "old")[PURCHASES]) == len(lists_of(old)[PURCHASES])


def test_bad_lists_are_refused_before_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    plan = make_plan(10)
    lists = lists_of(plan)
    with pytest.raises(ValueError, match="unknown order lists"):
        plan_store.write_plan(url, "r", plan, RUN, orders={"orders": lists[PURCHASES]})
    with pytest.raises(ValueError, match="the purchase_orders rows lack the columns reason"):
        plan_store.write_plan(url, "r", plan, RUN, orders={PURCHASES: lists[PURCHASES].drop(columns="reason")})
    assert plan_store.current_run(url) is None


def test_workbook_cells_keep_their_types_and_text_is_never_a_formula(tmp_path: Path) -> None:
    lists = lists_of(make_plan(12, seed=5))
    purchases = lists[PURCHASES].copy()
    purchases.loc[0, "product_name"] = '=HYPERLINK("http://x","y")'  # a name a spreadsheet would run
    purchases.loc[1, "product_name"] = None
    purchases.loc[1, "order_date"] = pd.NaT
    purchases.loc[2, "unit_cost"] = float("nan")
    files = plan_export.write_exports(tmp_path, {PURCHASES: purchases, TRANSFERS: lists[TRANSFERS]}, ["xlsx"])
    sheet = openpyxl.load_workbook(files[plan_export.WORKBOOK])["Purchases"]
    header = [c.value for c in sheet[1]]
    cells = {name: [row[i] for row in sheet.iter_rows(min_row=2)] for i, name in enumerate(header)}
    assert cells["product_name"][0].value == purchases.loc[0, "product_name"]
    assert cells["product_name"][0].data_type == "s"  # text, not a formula
    assert cells["product_name"][1].value is None and cells["order_date"][1].value is None
    assert cells["unit_cost"][2].value is None  # missing stays blank
    assert cells["order_date"][0].value == pd.Timestamp(DAY) and cells["order_date"][0].number_format == "YYYY-MM-DD"
    assert cells["packs"][0].data_type == "n" and cells["packs"][0].value == purchases.loc[0, "packs"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    total = [c.value for c in list(sheet.iter_rows())[-1]]
    assert total[0] == plan_export.TOTAL_LABEL
    assert total[header.index("order_value")] == pytest.approx(purchases["order_value"].sum())
    assert total[header.index("packs")] == purchases["packs"].sum()
    assert total[header.index("product_id")] is None


def test_exporting_from_a_missing_sqlite_file_creates_no_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    with pytest.raises(plan_store.RunNotFoundError, match="no plan database"):
        plan_export.export_plan(url, root=tmp_path)
    assert not (tmp_path / "absent.db").exists()


def test_sheet_names_are_valid_for_excel() -> None:
    taken: list[str] = []
    for text in ("PO A/B: [x]*?\\", "PO " + "x" * 40, "PO " + "x" * 40, "'quoted'", "History", "po a_b_ _x____"):
        name = plan_export.sheet_name(text, taken)
        assert 0 < len(name) <= 31 and not set("[]:*?/\\") & set(name) and not name.startswith("'")
        assert name.lower() not in {t.lower() for t in taken} and name.lower() != "history"
        taken.append(name)
    assert taken[1] != taken[2] and taken[2].endswith(" (2)")


def test_the_export_root_is_configured_by_the_environment(tmp_path: Path) -> None:
    assert plan_export.export_root({}) == plan_export.DEFAULT_EXPORT_DIR
    assert plan_export.DEFAULT_EXPORT_DIR == db.DATA_DIR / "exports"
    assert plan_export.export_root({plan_export.EXPORT_DIR_VAR: str(tmp_path)}) == tmp_path


def test_export_plan_end_to_end_on_the_tiny_demo(
    database_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plan_export.EXPORT_DIR_VAR, str(tmp_path / "asset-exports"))
    write_demo(database_env)
    result = materialize(raise_on_error=True)
    run_id = result.run_id

    # The assets: the lists, the commit, the files with their dagster/uri.
    purchases = result.asset_value(dg.AssetKey(PURCHASES))
    assert len(purchases) and not purchases["supplier_name"].eq(purchases["supplier_id"]).any()  # demo names
    published = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.step_materialization_data.materialization.asset_key == dg.AssetKey("published_plan")
    ]
    assert len(published) == 1
    metadata = published[0].metadata
    assert metadata["dagster/uri"].value == str(tmp_path / "asset-exports" / run_id)
    exports = metadata["exports"].value
    assert isinstance(exports, dict) and set(exports) == {"purchase_orders.csv", "transfer_orders.csv", "orders.xlsx"}
    assert all(Path(path).is_file() for path in exports.values())

    # The command: latest is this run; the files equal the database's rows.
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["export-plan", "--out", str(tmp_path / "cli")], out=out, err=err)
    assert code == cli.EXIT_OK, err.getvalue()
    folder = tmp_path / "cli" / run_id
    files = {p.name: p for p in folder.iterdir()}
    assert set(files) == {"purchase_orders.csv", "transfer_orders.csv", "orders.xlsx"}
    stored = plan_store.run_orders(database_env[db.PLAN_URL_VAR], run_id)
    assert_exports_match(files, stored)
    assert_same(stored[PURCHASES], purchases)
    assert str(folder / "orders.xlsx") in out.getvalue()

    # One format, a given run id.
    code = cli.main(
        ["export-plan", "--run", run_id, "--format", "csv", "--out", str(tmp_path / "csv")], out=out, err=err
    )
    assert code == cli.EXIT_OK and {p.name for p in (tmp_path / "csv" / run_id).iterdir()} == {
        "purchase_orders.csv",
        "transfer_orders.csv",
    }
    # A run that committed nothing is a usage error (2).
    err = io.StringIO()
    assert cli.main(["export-plan", "--run", "nope", "--out", str(tmp_path)], out=out, err=err) == cli.EXIT_USAGE
    assert "run 'nope' has committed no plan" in err.getvalue()


def test_export_plan_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["export-plan", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in (
        "--run",
        "latest|RUN_ID",
        "--format",
        "{csv,xlsx}",
        "--out",
        "DIR",
        "Exit codes",
        "INVENTORY_PLAN_DB_URL",
    ):
        assert word in text, word


def _every_kind(text: list[object]) -> pd.DataFrame:
    n = len(text)
    return pd.DataFrame(
        {
            "text": pd.Series(text, dtype="str"),
            "objects": pd.Series([None if i % 3 == 0 else f"id {i}" for i in range(n)], dtype=object),
            "empty": pd.Series([None] * n, dtype=object),
            "whole": pd.Series(range(n), dtype="int64") * 7 - 3,
            "flag": pd.Series([i % 2 == 0 for i in range(n)], dtype=bool),
            "number": pd.Series([3852.7799999999997, -0.0, np.nan, np.inf, 1e-9, 123456789012345.0, 0.1 + 0.2][:n] * 2)[
                :n
            ],
            "day": pd.Series(pd.to_datetime(["2026-11-30", None, "2027-01-02", "2026-11-30", None, "2026-02-28"][:n])),
        }
    )


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(_every_kind(["a", "Ünïcode ok", None, "", " spaced ", "x;y"]), id="arrow-writes-it"),
        pytest.param(_every_kind(["a", "Pasta, family size", None, "", "b", "c"]), id="a-comma-pandas-quotes"),
        pytest.param(_every_kind(['say "hi"', "b", None, "", "line\nbreak", "c"]), id="quotes-and-line-breaks"),
        pytest.param(_every_kind([])[:0], id="no-rows"),
    ],
)
def test_the_csv_files_are_what_pandas_writes_byte_for_byte(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    plan_export.write_csv(path, frame)
    want = frame.to_csv(
        None, index=False, date_format=plan_export.DAY, float_format=plan_export.FLOAT, lineterminator="\n"
    )
    assert path.read_bytes() == want.encode()
    # Arrow's writer wrote it where no text needs quotes, and refuses where one does (pandas then writes it).
    texts = plan_export._csv_texts(frame)
    assert texts is not None
    needs_quotes = frame["text"].str.contains('[,"\n]', regex=True).fillna(False).any()
    if needs_quotes:
        with pytest.raises(pa.ArrowInvalid):
            plan_export._arrow_csv(tmp_path / "arrow.csv", texts)
    else:
        plan_export._arrow_csv(tmp_path / "arrow.csv", texts)
        assert (tmp_path / "arrow.csv").read_bytes() == want.encode()


def test_a_column_of_another_kind_is_written_by_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame({"kind": pd.Categorical(["a", "b"]), "mixed": [1, "x"], "n": [1.5, 2.0]})
    assert plan_export._csv_texts(frame) is None
    assert plan_export._csv_texts(frame[["n"]].rename(columns={"n": "a,b"})) is None
    plan_export.write_csv(tmp_path / "f.csv", frame)
    assert (tmp_path / "f.csv").read_text() == "kind,mixed,n\na,1,1.5\nb,x,2\n"


def test_the_order_lists_csv_is_what_pandas_writes(tmp_path: Path) -> None:
    lists = lists_of(make_plan(40, seed=5))
    for name, frame in lists.items():
        plan_export.write_csv(tmp_path / name, frame)
        want = frame.to_csv(None, index=False, date_format=plan_export.DAY, float_format=plan_export.FLOAT)
        assert (tmp_path / name).read_text() == want


def test_on_a_sqlite_file_arrows_ingest_stores_what_executemany_stores(tmp_path: Path, monkeypatch) -> None:
    """A SQLite file's plan, order lists and run row go in through ADBC's Arrow ingest (`db.sqlite_writer`);
    every stored value and its SQLite type are those SQLAlchemy's executemany stores (NULL floats, None ids,
    booleans, days and timestamps as text, unicode)."""
    plan = make_plan(40, seed=11, products=["P1", "Pü", "P😀", "P 4", "P'5", *(f"P{i}" for i in range(6, 21))])
    lists = lists_of(plan)
    assert len(lists[PURCHASES]) and len(lists[TRANSFERS])
    arrow_file, tuples_file = tmp_path / "arrow.db", tmp_path / "tuples.db"
    arrow_url, tuples_url = f"sqlite:///{arrow_file}", f"sqlite:///{tuples_file}"
    loads: list[str] = []
    load = plan_store.bulk.BulkLoader.load

    def recorded(self, rows):
        loads.append(self.table.name)
        load(self, rows)

    monkeypatch.setattr(plan_store.bulk.BulkLoader, "load", recorded)
    plan_store.write_plan(arrow_url, "run", plan, RUN, planned_at=T0, batch_rows=7, orders=lists)
    assert loads == []  # nothing through executemany
    with monkeypatch.context() as patched:
        patched.setattr(plan_store.db, "sqlite_writer", lambda engine: contextlib.nullcontext(None))
        plan_store.write_plan(tuples_url, "run", plan, RUN, planned_at=T0, batch_rows=7, orders=lists)
    assert loads  # the reference went through executemany
    for table in (plan_store.PLAN, plan_store.RUNS, *plan_store.ORDER_TABLES.values()):
        names = ", ".join(f'"{c.name}", typeof("{c.name}")' for c in table.columns if c.name != "committed_at")
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "rowid"
        stored = []
        for path in (arrow_file, tuples_file):
            with sqlite3.connect(path) as conn:
                stored.append(conn.execute(f'SELECT {names} FROM "{table.name}" ORDER BY {order}').fetchall())
        assert stored[0] == stored[1] and stored[0], table.name
