"""The demo data generator (``inventory_assets.demo.data``) and the source tables
(``inventory_assets.contract.tables``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from inventory_assets.contract import tables
from inventory_assets.demo import data as demo_data
from inventory_assets.demo.data import PRESETS, DemoSpec, TablesExistError
from inventory_assets.io import db
from inventory_assets_tests.conftest import backend_params

# The contract's columns (shared/contract.md), spelled out here so that a change to either side shows.
CONTRACT_COLUMNS = {
    "sales": ["sale_id", "sold_at", "product_id", "location_id", "quantity", "unit_price"],
    "locations": ["location_id", "name", "echelon", "parent_location_id", "capacity_units"],
    "inventory": ["product_id", "location_id", "on_hand", "on_order", "as_of"],
    "costs": [
        "product_id",
        "unit_cost",
        "holding_cost_rate",
        "stockout_cost",
        "waste_cost",
        "shelf_life_days",
        "min_order_qty",
        "order_multiple",
        "product_name",
        "supplier_id",
        "supplier_name",
    ],
    "receipts": ["product_id", "location_id", "ordered_at", "received_at", "quantity"],
}
KEYS = {
    "sales": ["sale_id"],
    "locations": ["location_id"],
    "inventory": ["product_id", "location_id"],
    "costs": ["product_id"],
    "receipts": ["product_id", "location_id", "ordered_at", "received_at", "quantity"],
}
TINY = DemoSpec(products=30, dcs=1, stores=2, days=20, seed=7)
SHAPE = DemoSpec(products=2000, dcs=1, stores=4, days=91, seed=11)


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return demo_data.generate(PRESETS["small"])


@pytest.fixture(scope="module")
def shape() -> dict[str, pd.DataFrame]:
    return demo_data.generate(SHAPE)


def _store_pairs(inventory: pd.DataFrame) -> pd.DataFrame:
    return inventory.loc[inventory["location_id"].str.startswith("S"), ["product_id", "location_id"]]


@pytest.fixture(scope="module")
def small_plans(small: dict[str, pd.DataFrame]) -> dict[float, pd.DataFrame]:
    """The plan of the `small` preset at a $100,000 budget and with no budget limit (pure core, no Dagster)."""
    from inventory_assets.analytics.features import compute_features
    from inventory_assets.analytics.merge import merge_dataset
    from inventory_assets.contract.validation import validate_source
    from inventory_assets.optimization.params import PlanParameters
    from inventory_assets.optimization.plan import plan_procurement

    sales = small["sales"].assign(sale_date=pd.to_datetime(small["sales"]["sold_at"]).dt.normalize())
    daily = sales.groupby(["sale_date", "product_id", "location_id"], as_index=False)["quantity"].sum()
    end = daily["sale_date"].max()
    start = end - pd.Timedelta(days=89)
    sources = {t: validate_source(t, small[t]).frame for t in ("inventory", "costs", "locations", "receipts")}
    merged, _ = merge_dataset(daily[daily["sale_date"] >= start], *sources.values(), window_start=start, window_end=end)
    features = compute_features(merged)
    return {b: plan_procurement(features, PlanParameters(budget=b)).plan for b in (100_000.0, 1e9)}


# --- spec and determinism ------------------------------------------------------------------------------


def test_presets_match_the_issue() -> None:
    assert [(s.products, s.dcs, s.stores, s.days) for s in PRESETS.values()] == [
        (200, 1, 5, 120),
        (10_000, 2, 20, 180),
        (100_000, 1, 9, 90),
    ]
    assert all(s.end_date == date(2026, 11, 20) for s in PRESETS.values())


@pytest.mark.parametrize("bad", [{"products": 0}, {"stores": -1}, {"days": 1.5}, {"seed": -3}, {"dcs": True}])
def test_spec_rejects_bad_sizes(bad: dict) -> None:
    fields = {"products": 5, "dcs": 1, "stores": 1, "days": 5} | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        DemoSpec(**fields)


def test_same_seed_same_frames_and_other_seed_other_frames() -> None:
    spec = DemoSpec(products=60, dcs=2, stores=3, days=40, seed=5)
    first, second = demo_data.generate(spec), demo_data.generate(spec)
    for name in CONTRACT_COLUMNS:
        pd.testing.assert_frame_equal(first[name], second[name])
    other = demo_data.generate(spec.replace(seed=6))
    for name in ("sales", "inventory", "costs", "receipts"):
        assert not first[name].equals(other[name]), name


def test_chunking_does_not_change_the_data() -> None:
    spec = DemoSpec(products=80, dcs=1, stores=3, days=30, seed=3)
    whole = demo_data.generate(spec)["sales"]
    chunks = list(demo_data.generate_streaming(spec, chunk_rows=500)["sales"])
    assert len(chunks) > 3
    assert all(len(c) >= 500 for c in chunks[:-1])
    assert [c.attrs["fraction"] for c in chunks][-1] == 1.0
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole, check_flags=False)


def test_frames_have_exactly_the_contract_columns_and_types(small: dict[str, pd.DataFrame]) -> None:
    assert list(small) == list(CONTRACT_COLUMNS)
    for name, columns in CONTRACT_COLUMNS.items():
        assert list(small[name].columns) == columns, name
        assert [c.name for c in tables.SOURCE_TABLES[name].columns] == columns, name
        assert not small[name].duplicated(KEYS[name]).any() or name == "receipts", name
        assert isinstance(small[name].index, pd.RangeIndex)
    assert set(tables.CLOUD_METADATA.tables) == {"sales"}
    assert set(tables.ONPREM_METADATA.tables) == {"locations", "inventory", "costs", "receipts"}
    sales = small["sales"]
    assert sales["sale_id"].dtype == np.int64 and sales["sold_at"].dtype == "datetime64[ns]"
    assert small["locations"]["echelon"].dtype == np.int64
    assert str(small["costs"]["shelf_life_days"].dtype) == "Int64"
    # Generated ids are plain ASCII (Unicode ids are the business of other tests).
    for name, column in (("costs", "product_id"), ("locations", "location_id")):
        assert small[name][column].str.fullmatch(r"[A-Z]+\d+").all()


# --- the rules of the contract ------------------------------------------------------------------------


def test_network(small: dict[str, pd.DataFrame]) -> None:
    loc = small["locations"].set_index("location_id")
    dcs, stores = loc[loc["echelon"] == 0], loc[loc["echelon"] == 1]
    assert list(dcs.index) == ["DC01"] and len(stores) == 5
    assert dcs["parent_location_id"].isna().all()
    assert stores["parent_location_id"].isin(dcs.index).all()
    assert set(loc["echelon"]) == {0, 1}
    # Medium: two DCs, stores assigned round-robin.
    medium_like = demo_data.generate(DemoSpec(products=5, dcs=2, stores=5, days=7))["locations"]
    assert medium_like["parent_location_id"].tolist()[2:] == ["DC01", "DC02", "DC01", "DC02", "DC01"]


def test_sales_rules(small: dict[str, pd.DataFrame]) -> None:
    spec = PRESETS["small"]
    sales, inventory = small["sales"], small["inventory"]
    assert sales["sale_id"].is_unique and sales["sale_id"].is_monotonic_increasing
    assert sales["sale_id"].iloc[0] == 1
    assert sales["sold_at"].is_monotonic_increasing  # chronological: sale_id grows with time
    assert sales["sold_at"].min() == pd.Timestamp(spec.start_date)
    assert sales["sold_at"].max() == pd.Timestamp(spec.end_date)
    assert (sales["sold_at"] == sales["sold_at"].dt.normalize()).all()
    assert (sales["quantity"] > 0).all() and (sales["quantity"] == np.round(sales["quantity"])).all()
    assert sales["quantity"].max() > 1  # several units per line happen
    price = sales["unit_price"]
    assert 0.002 < price.isna().mean() < 0.03
    assert (price.dropna() > 0).all()
    # Sales only at stores and only for stocked pairs.
    assert sales["location_id"].str.startswith("S").all()
    stocked = set(map(tuple, _store_pairs(inventory).to_numpy()))
    assert set(map(tuple, sales[["product_id", "location_id"]].drop_duplicates().to_numpy())) <= stocked
    # About 1 % of stocked store pairs (and a few more slow ones) sell nothing.
    sold = sales[["product_id", "location_id"]].drop_duplicates()
    assert 0.005 <= 1 - len(sold) / len(stocked) <= 0.06


def test_inventory_rules(small: dict[str, pd.DataFrame]) -> None:
    spec = PRESETS["small"]
    inventory, costs, locations = small["inventory"], small["costs"], small["locations"]
    assert not inventory.duplicated(["product_id", "location_id"]).any()
    assert inventory["product_id"].isin(costs["product_id"]).all()
    assert inventory["location_id"].isin(locations["location_id"]).all()
    full = spec.products * (spec.dcs + spec.stores)
    assert full - 10 <= len(inventory) < full  # a handful of pairs are not stocked
    assert len(inventory[inventory["location_id"] == "DC01"]) == spec.products  # the DC stocks everything
    assert (inventory["on_hand"] >= 0).all() and np.isfinite(inventory["on_hand"]).all()
    assert (inventory["on_hand"] == np.round(inventory["on_hand"])).all()
    on_order = inventory["on_order"]
    assert 0.1 < on_order.isna().mean() < 0.5 and (on_order.dropna() >= 0).all() and (on_order > 0).any()
    assert (inventory["as_of"] == pd.Timestamp(spec.end_date)).all()


def test_costs_rules(small: dict[str, pd.DataFrame]) -> None:
    costs = small["costs"]
    assert costs["product_id"].is_unique
    assert costs["unit_cost"].between(1, 200).all() and costs["unit_cost"].nunique() > 100
    assert costs["holding_cost_rate"].between(0.15, 0.35).all()
    holding_per_unit_year = costs["holding_cost_rate"] * costs["unit_cost"]
    assert (costs["stockout_cost"] > holding_per_unit_year).all()
    perishable = costs["shelf_life_days"].notna()
    assert 0.25 <= perishable.mean() <= 0.42
    assert costs.loc[perishable, "shelf_life_days"].between(3, 30).all()
    assert costs.loc[perishable, "shelf_life_days"].nunique() >= 5
    ratio = costs.loc[perishable, "waste_cost"] / costs.loc[perishable, "unit_cost"]
    assert ratio.between(0.95, 1.2).all()
    assert (costs["waste_cost"] >= 0).all()
    packs = costs["order_multiple"]
    assert set(packs.dropna()) == {1, 6, 12, 24}
    assert 0 < packs.isna().sum() <= 0.1 * len(costs)
    moq = costs["min_order_qty"]
    assert 0.2 < moq.isna().mean() < 0.6
    with_moq = moq.notna()
    assert ((moq[with_moq] % packs[with_moq].fillna(1)) == 0).all()


def test_costs_name_products_and_their_suppliers(small: dict[str, pd.DataFrame]) -> None:
    costs = small["costs"]
    assert costs[["product_name", "supplier_id", "supplier_name"]].notna().all().all()
    assert not costs["product_name"].eq(costs["product_id"]).any()
    assert costs["product_name"].nunique() > len(costs) // 2  # readable and varied
    assert costs["supplier_id"].str.fullmatch(r"SUP\d{3}").all()
    # One name per supplier, one supplier per name; a few suppliers serve many products.
    pairs = costs[["supplier_id", "supplier_name"]].drop_duplicates()
    assert pairs["supplier_id"].is_unique and pairs["supplier_name"].is_unique
    assert 6 <= len(pairs) <= 20 and costs["supplier_id"].value_counts().max() >= 10
    # Seeded like the rest: the same spec gives the same names.
    again = demo_data.generate(PRESETS["small"])["costs"]
    pd.testing.assert_frame_equal(costs, again)


def test_receipts_rules(small: dict[str, pd.DataFrame]) -> None:
    spec = PRESETS["small"]
    receipts, inventory = small["receipts"], small["inventory"]
    assert (receipts["received_at"] >= receipts["ordered_at"]).all()
    assert receipts["received_at"].between(pd.Timestamp(spec.start_date), pd.Timestamp(spec.end_date)).all()
    assert receipts["ordered_at"].min() >= pd.Timestamp(spec.start_date)  # leads are shorter than the window
    assert (receipts["quantity"] > 0).all()
    per_pair = receipts.groupby(["product_id", "location_id"]).size()
    assert len(per_pair) == len(inventory)  # every stocked pair has receipts ...
    assert per_pair.min() >= 1 and per_pair.median() <= 8  # ... a few
    lead = (receipts["received_at"] - receipts["ordered_at"]).dt.days
    at_dc = receipts["location_id"].str.startswith("DC")
    assert lead[~at_dc].between(1, 3).all() and lead[~at_dc].nunique() >= 2
    assert lead[at_dc].between(1, 60).all()
    by_product = lead[at_dc].groupby(receipts.loc[at_dc, "product_id"]).mean()
    assert by_product.min() < 5 and by_product.max() > 12  # suppliers differ
    assert lead[at_dc].groupby(receipts.loc[at_dc, "product_id"]).std().median() > 0  # and vary


def test_stock_positions_spread(small: dict[str, pd.DataFrame]) -> None:
    spec = PRESETS["small"]
    sales, inventory = small["sales"], small["inventory"]
    rate = sales.groupby(["product_id", "location_id"])["quantity"].sum().rename("rate") / spec.days
    stores = inventory.merge(rate.reset_index(), how="inner")
    cover = stores["on_hand"] / stores["rate"]
    assert 0.02 < (cover < 2).mean() < 0.3  # some near stock-out (0 or under two days)
    assert (stores["on_hand"] == 0).any()
    assert 0.05 < (cover > 60).mean() < 0.4  # some overstocked
    # The DC holds a good part of its stores' needs.
    dc = inventory[inventory["location_id"] == "DC01"]
    assert dc["on_hand"].sum() > 0.25 * stores["rate"].sum() * 7


def test_capacity_binds_for_a_few_stores(small_plans: dict[float, pd.DataFrame], small: dict) -> None:
    """Today's stock fits every store; topping up (no budget limit) is held back by capacity at a few."""
    locations, inventory = small["locations"], small["inventory"]
    stores = locations[locations["echelon"] == 1].set_index("location_id")["capacity_units"]
    held = inventory.assign(p=inventory["on_hand"] + inventory["on_order"].fillna(0)).groupby("location_id")["p"].sum()
    assert stores.notna().all() and (stores >= held.loc[stores.index]).all()
    unconstrained = small_plans[1e9]
    capped = unconstrained.loc[unconstrained["reason_code"] == "limited_by_capacity", "location_id"].unique()
    assert 1 <= len(capped) < len(stores)


# --- the shape of demand ------------------------------------------------------------------------------


def test_demand_is_heavy_tailed_intermittent_and_weekly(shape: dict[str, pd.DataFrame]) -> None:
    sales, inventory = shape["sales"], shape["inventory"]
    pairs = _store_pairs(inventory)
    per_pair = sales.groupby(["product_id", "location_id"]).agg(days=("sold_at", "nunique"), units=("quantity", "sum"))
    per_pair = pairs.merge(per_pair.reset_index(), how="left").fillna({"days": 0, "units": 0})
    # Intermittency: many pairs sell on fewer than 30 % of the days.
    assert (per_pair["days"] < 0.3 * SHAPE.days).mean() > 0.35
    # Fast movers exist: some pairs sell five or more units a day, and sell nearly every day.
    rate = per_pair["units"] / SHAPE.days
    assert (rate >= 5).sum() >= 20 and (per_pair["days"] >= 0.95 * SHAPE.days).sum() >= 20
    # Heavy tail: the top 20 % of pairs sell well over half of all units.
    top = rate.sort_values(ascending=False).head(len(rate) // 5).sum()
    assert top / rate.sum() > 0.6
    # Weekly seasonality: Saturday is the peak, clearly above the early week.
    by_weekday = sales.groupby(sales["sold_at"].dt.day_of_week)["quantity"].sum()
    by_weekday = by_weekday / by_weekday.mean()
    assert by_weekday.idxmax() == 5
    assert by_weekday[5] > 1.2 * by_weekday[[0, 1, 2]].mean()
    # Fast movers sell several units per line.
    fast_products = per_pair.loc[rate >= 5, "product_id"].unique()
    assert sales.loc[sales["product_id"].isin(fast_products), "quantity"].mean() > 1.3


def test_cheaper_and_perishable_items_sell_faster(shape: dict[str, pd.DataFrame]) -> None:
    units = shape["sales"].groupby("product_id")["quantity"].sum()
    costs = shape["costs"].set_index("product_id").assign(units=units).fillna({"units": 0})
    perishable = costs["shelf_life_days"].notna()
    assert costs.loc[perishable, "units"].median() > costs.loc[~perishable, "units"].median()
    assert costs["units"].corr(costs["unit_cost"], method="spearman") < -0.1


def test_small_is_calibrated_for_a_100k_budget(small_plans: dict[float, pd.DataFrame]) -> None:
    """The real plan (features + model) on `small`: feasible with $100,000 (critical safety stocks fit),
    the budget binds, and the unconstrained plan would spend more."""
    constrained, unconstrained = small_plans[100_000.0], small_plans[1e9]
    spend = constrained["order_value"].sum()
    assert 0.99 * 100_000 <= spend <= 100_000 + 1e-6
    assert (constrained["reason_code"] == "limited_by_budget").sum() >= 1
    # the expected-cost plan stops where a unit no longer pays its holding and expiry (about $111,000)
    assert unconstrained["order_value"].sum() > 1.05 * 100_000


# --- writing to the databases -------------------------------------------------------------------------


def _read_back(cloud_url: str, onprem_url: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, columns in CONTRACT_COLUMNS.items():
        url = cloud_url if name == "sales" else onprem_url
        frame = db.read_frame(db.make_engine(url), f"SELECT {', '.join(columns)} FROM {name}")
        out[name] = _normalise(frame, name)
    return out


def _normalise(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Driver values (Decimal, date, str dates, ints) as the generator's dtypes, sorted by key."""
    frame = frame.copy()
    for column in frame.columns:
        sql_type = tables.SOURCE_TABLES[name].columns[column].type
        if isinstance(sql_type, sa.Date):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        elif column == "shelf_life_days":
            frame[column] = pd.array([None if pd.isna(v) else int(v) for v in frame[column]], dtype="Int64")
        elif isinstance(sql_type, sa.Integer):
            frame[column] = frame[column].astype(np.int64)
        elif isinstance(sql_type, sa.Numeric):
            values = frame[column].astype(object).where(frame[column].notna(), np.nan)
            frame[column] = pd.to_numeric(values).astype(float)
        else:
            frame[column] = frame[column].astype("str")
    return frame.sort_values(KEYS[name]).reset_index(drop=True)


def _assert_same(written: dict[str, pd.DataFrame], read: dict[str, pd.DataFrame]) -> None:
    for name in CONTRACT_COLUMNS:
        expected = _normalise(written[name], name)
        pd.testing.assert_frame_equal(read[name], expected, check_exact=False, rtol=1e-9, obj=name)


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_write_reads_back_identical(empty_database: str) -> None:
    frames = demo_data.generate(TINY)
    before = {name: frame.copy() for name, frame in frames.items()}
    messages: list[str] = []
    counts = demo_data.write(frames, empty_database, empty_database, progress=messages.append)
    assert counts == {name: len(frame) for name, frame in frames.items()}
    for name, frame in frames.items():  # the caller's frames are not modified
        pd.testing.assert_frame_equal(frame, before[name])
    _assert_same(frames, _read_back(empty_database, empty_database))
    assert any(m.startswith("sales:") for m in messages) and any(m.startswith("receipts:") for m in messages)
    engine = db.make_engine(empty_database)
    inspector = sa.inspect(engine)
    assert {"ix_sales_day_product_location", "ix_sales_product_location"} <= {
        i["name"] for i in inspector.get_indexes("sales")
    }
    assert inspector.get_pk_constraint("inventory")["constrained_columns"] == ["product_id", "location_id"]
    if engine.dialect.name == "postgresql":  # analyzed after the load: the sales read's plan needs the statistics
        with engine.connect() as conn:
            analyzed = conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            ).scalars()
            assert set(analyzed) == set(frames)


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_refuses_existing_tables_unless_replace(empty_database: str) -> None:
    frames = demo_data.generate(TINY)
    demo_data.write(frames, empty_database, empty_database)
    with pytest.raises(TablesExistError) as refused:
        demo_data.write(demo_data.generate(TINY.replace(seed=8)), empty_database, empty_database)
    named = [name for names in refused.value.tables.values() for name in names]
    assert sorted(named) == sorted(CONTRACT_COLUMNS)
    assert "replace" in str(refused.value) and "sales" in str(refused.value)
    _assert_same(frames, _read_back(empty_database, empty_database))  # untouched

    other = demo_data.generate(TINY.replace(seed=8))
    demo_data.write(other, empty_database, empty_database, replace=True)
    _assert_same(other, _read_back(empty_database, empty_database))


@pytest.mark.parametrize("empty_database", backend_params(), indirect=True)
def test_one_existing_table_is_enough_to_refuse_and_nothing_is_written(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    tables.COSTS.create(engine)
    with pytest.raises(TablesExistError, match="costs") as refused:
        demo_data.build(TINY, empty_database, empty_database)
    assert list(refused.value.tables.values()) == [["costs"]]
    assert db.table_names(engine) == {"costs"}


def test_streamed_build_equals_generate_on_separate_sqlite_files(tmp_path) -> None:
    cloud, onprem = f"sqlite:///{tmp_path / 'cloud.db'}", f"sqlite:///{tmp_path / 'onprem.db'}"
    messages: list[str] = []
    counts = demo_data.build(TINY, cloud, onprem, progress=messages.append, chunk_rows=200)
    frames = demo_data.generate(TINY)
    assert counts["sales"] == len(frames["sales"])
    _assert_same(frames, _read_back(cloud, onprem))
    assert db.table_names(db.make_engine(cloud)) == {"sales"}
    assert db.table_names(db.make_engine(onprem)) == {"locations", "inventory", "costs", "receipts"}
    progress = [m for m in messages if "rows written" in m]
    assert len(progress) > 2 and "100%" in progress[-1]
    # The bulk-load PRAGMAs are undone on the pooled connection.
    with db.make_engine(cloud).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() != 0


def test_write_checks_frames(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    frames = demo_data.generate(TINY)
    with pytest.raises(ValueError, match="receipts"):
        demo_data.write({k: v for k, v in frames.items() if k != "receipts"}, url, url)
    broken = dict(frames, costs=frames["costs"].drop(columns=["waste_cost"]))
    with pytest.raises(ValueError, match="waste_cost"):
        demo_data.write(broken, url, url)
