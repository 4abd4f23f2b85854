"""The backtest's flat settings, the comparison table, and reading its sources from the databases."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.backtest import (
    DEFAULT_POLICIES,
    BacktestInputError,
    BacktestParameters,
    BacktestSettings,
    comparison,
    format_comparison,
    run_backtest,
    sales_days_needed,
)
from inventory_assets.backtest.settings import FIELD_DOCS
from inventory_assets.io import backtest_sources, db
from inventory_assets.optimization.params import PlanParameters
from inventory_assets_tests.helpers import TINY, write_demo


def test_the_settings_defaults_are_the_cores() -> None:
    settings = BacktestSettings()
    assert settings.policies == DEFAULT_POLICIES
    core = BacktestParameters()
    built = settings.parameters()
    for field in fields(BacktestParameters):
        if field.name not in ("plan", "features", "options"):
            assert getattr(built, field.name) == getattr(core, field.name), field.name
    assert built.plan == PlanParameters()
    assert set(FIELD_DOCS) == {f.name for f in fields(BacktestSettings)}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"policies": ("plan", "nope")}, "unknown"),
        ({"policies": ()}, "none given"),
        ({"policies": ("plan", "plan")}, "repeated"),
        ({"weeks": 0}, "weeks must be between 1 and 522, got 0"),
        ({"weeks": 10**6}, "weeks must be between 1 and 522"),
        ({"budget": -1.0}, "budget"),
        ({"history_days": 5}, "too short"),
        ({"history_days": 10**5}, "history_days must be at most 3660"),
        ({"critical_classes": ("A", "Q")}, "critical_classes must be among"),
        ({"plan_time_limit_seconds": -1.0}, "plan settings"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_read(values: dict, message: str) -> None:
    with pytest.raises(BacktestInputError, match=message):
        BacktestSettings(**values)


def test_the_sales_read_covers_the_held_out_weeks_and_the_feature_window() -> None:
    assert sales_days_needed(BacktestParameters(weeks=8)) == 56 + 90
    assert sales_days_needed(BacktestParameters(weeks=2, history_days=30)) == 14 + 30


def test_the_comparison_is_the_totals_in_run_order() -> None:
    results = pd.DataFrame(
        {
            "policy": ["b", "b", "a"],
            "abc_class": ["all", "A", "all"],
            "echelon": ["all", "all", "all"],
            "fill_rate": [0.5, 0.6, np.nan],
            "cycle_service_level": [0.4, 0.1, 0.9],
            "lost_value": [1234.4, 1.0, 0.0],
            "mean_on_hand_value": [1e6, 1.0, 2e6],
            "waste_value": [0.0, 0.0, 10.0],
            "spend": [5.0, 1.0, 6.0],
            "orders": [3.0, 1.0, 4.0],
        }
    )
    table = comparison(results)
    assert table["policy"].tolist() == ["b", "a"]
    text = format_comparison(table).splitlines()
    assert text[0].split()[:3] == ["policy", "fill", "rate"]
    assert text[2].split() == ["b", "0.500", "0.400", "1,234", "1,000,000", "0", "5", "3"]
    assert text[3].split()[1] == "-"


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, str]:
    urls = {var: f"sqlite:///{tmp_path / (var.lower() + '.db')}" for var in db.DEFAULT_URLS}
    write_demo(urls)
    return urls


def _engines(urls: dict[str, str]) -> tuple[sa.Engine, sa.Engine]:
    return db.make_engine(urls[db.CLOUD_URL_VAR]), db.make_engine(urls[db.ONPREM_URL_VAR])


def test_the_sources_are_read_validated_and_fit_the_backtest(tiny: dict[str, str]) -> None:
    read = backtest_sources.read_backtest_sources(*_engines(tiny), 30)
    assert read.window.days == 30
    assert read.sales["sale_date"].min() == pd.Timestamp(read.window.start)
    assert read.sales.attrs["window_end"] == pd.Timestamp(read.window.end)
    assert len(read.inventory) > 0 and len(read.costs) == TINY.products
    whole = backtest_sources.read_backtest_sources(*_engines(tiny), 10_000)
    assert whole.window.days == TINY.days  # clipped to the data
    result = run_backtest(**whole.frames, params=BacktestParameters(weeks=2), policies=["order_up_to"])
    assert result.run["data_start"] == str(whole.window.start)
    assert result.run["history_days"] == TINY.days - 14


def test_invalid_sources_list_every_failure_of_every_table(tiny: dict[str, str]) -> None:
    _, onprem = _engines(tiny)
    with onprem.begin() as conn:
        conn.execute(sa.text("UPDATE inventory SET on_hand = -1 WHERE rowid IN (SELECT rowid FROM inventory LIMIT 2)"))
        conn.execute(sa.text("UPDATE receipts SET received_at = '2000-01-01' WHERE rowid = 1"))
    with pytest.raises(backtest_sources.BacktestSourcesError) as raised:
        backtest_sources.read_backtest_sources(*_engines(tiny), 30)
    text = str(raised.value)
    assert "inventory: " in text and "on_hand" in text
    assert "receipts: " in text
    tables = {r.table for r in raised.value.results if not r.passed}
    assert tables == {"inventory", "receipts"}


def test_unknown_inventory_references_are_refused(tiny: dict[str, str]) -> None:
    _, onprem = _engines(tiny)
    with onprem.begin() as conn:
        location = conn.execute(sa.text("SELECT location_id FROM locations LIMIT 1")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO inventory (product_id, location_id, on_hand, on_order, as_of) "
                "VALUES ('GHOST', :l, 1, 0, '2026-01-01')"
            ),
            {"l": location},
        )
    with pytest.raises(backtest_sources.BacktestSourcesError, match="unknown_product"):
        backtest_sources.read_backtest_sources(*_engines(tiny), 30)


def test_no_sales_is_an_error(tiny: dict[str, str]) -> None:
    cloud, _ = _engines(tiny)
    with cloud.begin() as conn:
        conn.execute(sa.text("DELETE FROM sales"))
    with pytest.raises(backtest_sources.BacktestSourcesError, match="holds no sales"):
        backtest_sources.read_backtest_sources(*_engines(tiny), 30)
