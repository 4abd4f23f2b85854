"""The source assets and their checks, materialized with Dagster against real databases."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract import spec, tables
from inventory_assets.contract.sales import SalesFrame, SalesWindow
from inventory_assets.defs import constants
from inventory_assets.io import db
from inventory_assets_tests.conftest import backend_params
from inventory_assets_tests.helpers import (
    check_results,
    materialize,
    materialized_keys,
    metadata_text,
    point_databases_at,
    value,
    write_demo,
)

SOURCES = dg.AssetSelection.groups(constants.SOURCES_GROUP)
VALID = {t: constants.VALID_CHECK.format(table=t) for t in constants.SOURCE_TABLES}


def _execute(url: str, statement: str, params: dict | None = None) -> None:
    with db.make_engine(url).begin() as conn:
        conn.execute(sa.text(statement), params or {})


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_sources_materialize_and_pass_their_checks(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    result = materialize(SOURCES, raise_on_error=True)
    assert materialized_keys(result) == set(constants.SOURCE_TABLES)
    checks = check_results(result)
    for table in constants.SOURCE_TABLES:
        assert checks[VALID[table]].passed, checks[VALID[table]].description
    assert checks[constants.INVENTORY_REFERENCES_CHECK].passed
    sales_value = value(result, "sales")
    assert isinstance(sales_value, SalesFrame)
    sales = sales_value.frame
    assert list(sales.columns) == spec.SALES.column_names
    # 45 days of data < 90-day window
    assert sales_value.window == SalesWindow(dt.date(2026, 10, 7), dt.date(2026, 11, 20))
    assert not sales.attrs, "the window travels typed, not in DataFrame.attrs"
    materialization = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("sales")
    ).materialization
    assert materialization.metadata["dagster/row_count"].value == len(sales)
    assert materialization.metadata["window_end"].value == "2026-11-20"
    assert "| sale_date |" in metadata_text(materialization.metadata["preview"])


def _source_frames(urls: dict[str, str]) -> dict[str, pd.DataFrame]:
    write_demo(urls)
    result = materialize(SOURCES, raise_on_error=True)
    frames = {table: value(result, table) for table in constants.SOURCE_TABLES}
    return {table: v.frame if isinstance(v, SalesFrame) else v for table, v in frames.items()}


@pytest.mark.postgresql
@pytest.mark.mariadb
def test_same_frames_from_sqlite_postgresql_and_mariadb(
    tmp_path, monkeypatch: pytest.MonkeyPatch, postgres_database: str, mariadb_database: str
) -> None:
    frames = {}
    for backend, url in (("sqlite", None), ("postgresql", postgres_database), ("mariadb", mariadb_database)):
        frames[backend] = _source_frames(point_databases_at(url, tmp_path, monkeypatch))
    for table in constants.SOURCE_TABLES:
        reference = frames["sqlite"][table]
        for backend in ("postgresql", "mariadb"):
            other = frames[backend][table]
            pd.testing.assert_frame_equal(reference, other, check_exact=False, rtol=1e-9, obj=f"{table} on {backend}")


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_bad_rows_fail_the_blocking_check_with_every_row_listed(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    onprem = database_env[db.ONPREM_URL_VAR]
    _execute(
        onprem, "UPDATE inventory SET on_hand = -5 WHERE location_id = 'S001' AND product_id IN ('P000001', 'P000002')"
    )
    _execute(onprem, "UPDATE costs SET unit_cost = 0 WHERE product_id = 'P000003'")
    three_days_earlier = {
        "sqlite": "date(ordered_at, '-3 day')",
        "postgresql": "ordered_at - 3",
        "mysql": "DATE_SUB(ordered_at, INTERVAL 3 DAY)",
    }[db.dialect_name(onprem)]
    _execute(onprem, f"UPDATE receipts SET received_at = {three_days_earlier} WHERE product_id = 'P000004'")
    result = materialize(SOURCES)
    checks = check_results(result)
    inventory = checks[VALID["inventory"]]
    assert not inventory.passed
    assert inventory.severity == dg.AssetCheckSeverity.ERROR
    report = metadata_text(inventory.metadata["failure_cases"])
    assert "P000001 / S001" in report and "P000002 / S001" in report
    assert not checks[VALID["costs"]].passed
    assert "P000003" in metadata_text(checks[VALID["costs"]].metadata["failure_cases"])
    assert not checks[VALID["receipts"]].passed
    assert checks[VALID["sales"]].passed and checks[VALID["locations"]].passed


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_an_empty_source_is_an_error(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    _execute(database_env[db.ONPREM_URL_VAR], "DELETE FROM costs")
    result = materialize(SOURCES)
    check = check_results(result)[VALID["costs"]]
    assert not check.passed
    assert "not_empty" in metadata_text(check.metadata["failure_cases"])


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_a_location_cycle_and_a_missing_parent_are_named(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    onprem = database_env[db.ONPREM_URL_VAR]
    _execute(onprem, "UPDATE locations SET parent_location_id = 'S001', echelon = 2 WHERE location_id = 'DC01'")
    _execute(onprem, "UPDATE locations SET parent_location_id = 'NOWHERE' WHERE location_id = 'S002'")
    check = check_results(materialize(SOURCES))[VALID["locations"]]
    assert not check.passed
    cases = metadata_text(check.metadata["failure_cases"])
    assert "cycle" in cases and "missing_parent" in cases and "NOWHERE" in cases


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_unknown_ids_block_inventory_and_warn_on_sales(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    onprem, cloud = database_env[db.ONPREM_URL_VAR], database_env[db.CLOUD_URL_VAR]
    _execute(
        cloud,
        "INSERT INTO sales (sale_id, sold_at, product_id, location_id, quantity, unit_price) "
        "VALUES (999999999, :d, 'P000001', 'MARS', 2, 1)",
        {"d": pd.Timestamp("2026-11-19").date()},
    )
    sales = check_results(materialize(SOURCES))[constants.SALES_REFERENCES_CHECK]
    # a few units at an unknown location: a warning, within max_unknown_sales_share
    assert not sales.passed and sales.severity == dg.AssetCheckSeverity.WARN
    assert sales.metadata["failures"].value == 1
    assert 0 < float(str(sales.metadata["unknown_units_share"].value)) < 0.05
    _execute(
        onprem,
        "INSERT INTO inventory (product_id, location_id, on_hand, on_order, as_of) VALUES ('GHOST', 'S001', 1, 0, :d)",
        {"d": pd.Timestamp("2026-11-20").date()},
    )
    checks = check_results(materialize(SOURCES))
    inventory = checks[constants.INVENTORY_REFERENCES_CHECK]
    assert not inventory.passed and inventory.severity == dg.AssetCheckSeverity.ERROR
    assert "GHOST" in metadata_text(inventory.metadata["failure_cases"])
    # the sales gate reads the inventory's snapshot: it does not run on an inventory that failed
    assert constants.SALES_REFERENCES_CHECK not in checks


@pytest.mark.mariadb
@pytest.mark.parametrize("empty_database", backend_params("postgresql", "mariadb"), indirect=True)
def test_four_byte_unicode_ids_round_trip(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    onprem, cloud = database_env[db.ONPREM_URL_VAR], database_env[db.CLOUD_URL_VAR]
    product = "P🍓-製品"
    _execute(
        onprem,
        "INSERT INTO costs (product_id, unit_cost, holding_cost_rate, stockout_cost, waste_cost) "
        "VALUES (:p, 2.5, 0.2, 3, 2.5)",
        {"p": product},
    )
    _execute(
        onprem,
        "INSERT INTO inventory (product_id, location_id, on_hand, on_order, as_of) VALUES (:p, 'S001', 4, NULL, :d)",
        {"p": product, "d": pd.Timestamp("2026-11-20").date()},
    )
    _execute(
        cloud,
        "INSERT INTO sales (sale_id, sold_at, product_id, location_id, quantity, unit_price) "
        "VALUES (999999999, :d, :p, 'S001', 2, 3.5)",
        {"p": product, "d": pd.Timestamp("2026-11-19").date()},
    )
    result = materialize(SOURCES, raise_on_error=True)
    assert product in set(value(result, "costs")["product_id"])
    inventory = value(result, "inventory").set_index(["product_id", "location_id"])
    assert inventory.loc[(product, "S001"), "on_order"] == 0.0
    assert product in set(value(result, "sales").frame["product_id"])


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_run_config_points_a_source_at_another_table_or_query(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    onprem = database_env[db.ONPREM_URL_VAR]
    engine = db.make_engine(onprem)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE costs_copy AS SELECT * FROM costs"))
    run_config = dg.RunConfig(
        ops={
            "costs": {"config": {"table": "costs_copy"}},
            "sales": {"config": {"history_days": 7, "query": "SELECT * FROM sales WHERE location_id = 'S001'"}},
        }
    )
    result = materialize(SOURCES, run_config=run_config, raise_on_error=True)
    assert value(result, "sales").frame["location_id"].unique().tolist() == ["S001"]
    assert value(result, "sales").window.start == dt.date(2026, 11, 14)
    bad = dg.RunConfig(ops={"costs": {"config": {"table": "costs; DROP TABLE costs"}}})
    failed = materialize(SOURCES, run_config=bad)
    assert not failed.success
    assert not [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # permanent: no retry
    assert "costs" in db.table_names(engine)


def test_source_tables_define_the_contract_columns() -> None:
    from inventory_assets.io.queries import CONTRACT_COLUMNS

    for name, columns in CONTRACT_COLUMNS.items():
        assert [c.name for c in tables.SOURCE_TABLES[name].columns] == columns


def _sales_run(day_ranges: int) -> tuple[dg.ExecuteInProcessResult, SalesFrame | None]:
    result = materialize(SOURCES, run_config={"ops": {"sales": {"config": {"day_ranges": day_ranges}}}})
    frame = value(result, "sales") if result.success else None
    return result, frame


def _sales_days_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(
        e.step_key
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS" and e.step_key and e.step_key.startswith("sales.sales_days[")
    )


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_sales_read_in_day_ranges_is_the_same_frame_and_the_same_report(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    whole, frame = _sales_run(1)
    assert whole.success and len(_sales_days_steps(whole)) == 1 and frame is not None
    for day_ranges in (4, 1000):  # more ranges than days: one range per day
        result, parts = _sales_run(day_ranges)
        assert parts is not None
        steps = _sales_days_steps(result)
        assert len(steps) == (4 if day_ranges == 4 else frame.frame["sale_date"].nunique()), steps
        pd.testing.assert_frame_equal(parts.frame, frame.frame, check_exact=True)
        assert parts.window == frame.window
        assert check_results(result)[VALID["sales"]].passed
        materialization = next(
            e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("sales")
        ).materialization
        assert materialization.metadata["day_ranges"].value == len(steps)

    # Bad sale lines on days that fall into different ranges: the same failures, rows renumbered.
    cloud = database_env[db.CLOUD_URL_VAR]
    for n, (day, quantity) in enumerate((("2026-10-09", -4), ("2026-11-18", -1))):
        _execute(
            cloud,
            "INSERT INTO sales (sale_id, sold_at, product_id, location_id, quantity, unit_price) "
            "VALUES (:i, :d, 'P000001', 'S001', :q, 1)",
            {"i": 900_000_000 + n, "d": pd.Timestamp(day).date(), "q": quantity},
        )
    reports = {}
    for day_ranges in (1, 4):
        result, _ = _sales_run(day_ranges)
        assert not result.success, "a failed blocking check stops the run"
        check = check_results(result)[VALID["sales"]]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        reports[day_ranges] = {k: v.value for k, v in check.metadata.items()}
    for name in reports[1]:
        assert reports[4][name] == reports[1][name], f"{name}:\n{reports[4][name]}\n{reports[1][name]}"
    cases = reports[1]["failure_cases"]
    assert isinstance(cases, str)
    assert "2026-10-09 / P000001 / S001" in cases and "2026-11-18 / P000001 / S001" in cases, cases
