"""What runs leave in the instance's storage (``defs/storage.py``, issue 18): each asset's value as Parquet in
a folder of its own run; the sales graph's day ranges removed (they were 197 MB a run at medium, never
removed); the folders of finished runs removed once a newer run stored the asset, those of runs still
going kept; a partial run reading the latest materialization; the pickles of earlier versions replaced."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from inventory_assets.io import value_store
from inventory_assets_tests.helpers import materialize, write_demo


def folders(storage: Path, asset: str) -> set[str]:
    return {p.name for p in (storage / asset).iterdir()} if (storage / asset).is_dir() else set()


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_runs_store_their_values_as_parquet_keyed_by_run_and_clean_up(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    with dg.instance_for_test() as instance:
        storage = Path(instance.storage_directory())
        (storage / "sales").parent.mkdir(parents=True, exist_ok=True)
        (storage / "sales").write_bytes(b"a pickle of an earlier version")  # the old layout: replaced
        result = materialize(instance=instance, run_config={"ops": {"sales": {"config": {"day_ranges": 3}}}})
        assert result.success
        day_ranges = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
        assert sum(1 for k in day_ranges if k and k.startswith("sales.sales_days[")) == 3  # they were stored...
        assert not list((storage / result.run_id).glob("sales.*"))  # ...and removed once sales was

        first = result.run_id
        sales = storage / "sales" / first
        assert sorted(p.name for p in sales.iterdir()) == ["frame-0.parquet", value_store.VALUE_FILE]
        assert b"pandas" not in (sales / value_store.VALUE_FILE).read_bytes()  # the frame is in the Parquet file
        stored = value_store.load_value(sales)
        assert stored.frame.equals(result.asset_value(dg.AssetKey("sales")).frame)
        assert folders(storage, "procurement_plan") == {first}
        materialized = instance.get_latest_materialization_event(dg.AssetKey("sales"))
        assert materialized is not None and materialized.asset_materialization is not None
        assert materialized.asset_materialization.metadata["path"].value == str(sales)

        # A run still going keeps its folder; a finished run's folder goes once a newer run stored the asset.
        going = str(uuid.uuid4())
        instance.add_run(dg.DagsterRun(job_name="planning_job", run_id=going, status=dg.DagsterRunStatus.STARTED))
        (storage / "sales" / going).mkdir()
        again = materialize(["sales"], instance=instance, run_config={"ops": {"sales": {"config": {"day_ranges": 2}}}})
        assert again.success and not list((storage / again.run_id).glob("sales.*"))
        assert folders(storage, "sales") == {again.run_id, going}
        assert folders(storage, "procurement_plan") == {first}  # not stored again: still the latest

        # A partial run reads each input from the run of its latest materialization.
        partial = materialize(["merged_dataset"], instance=instance)
        assert partial.success
        assert folders(storage, "merged_dataset") == {partial.run_id}


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_a_value_whose_folder_is_gone_fails_naming_the_asset(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    with dg.instance_for_test() as instance:
        storage = Path(instance.storage_directory())
        assert materialize(["locations", "costs"], instance=instance).success
        for folder in (storage / "costs").iterdir():
            value_store.load_value(folder)
            (folder / value_store.VALUE_FILE).unlink()
        failed = materialize(["inventory"], instance=instance)
        assert not failed.success
        (failure,) = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
        message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
        assert "costs has no stored value in this Dagster instance" in message


def test_an_input_declared_with_columns_reads_only_those(tmp_path: Path) -> None:
    from inventory_assets.contract import spec
    from inventory_assets.definitions import defs
    from inventory_assets.defs.run_config import RunConfigCheck
    from inventory_assets.defs.storage import ProjectIOManager

    @dg.asset
    def wide() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]})

    @dg.asset(ins={"wide": dg.AssetIn(metadata={"columns": ["c", "a"]})})
    def narrow(wide: pd.DataFrame) -> int:
        assert list(wide.columns) == ["c", "a"] and wide["a"].tolist() == [1, 2]
        return len(wide)

    io_manager = ProjectIOManager(run_config_check=RunConfigCheck(), base_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        assert dg.materialize([wide, narrow], resources={"io_manager": io_manager}, instance=instance).success
    # the demand steps read the sales frame's demand columns only
    for asset in ("merged_dataset", "demand_forecast"):
        node = defs().resolve_assets_def(asset).node_def
        assert node.input_def_named("sales").metadata == {"columns": list(spec.SALES_DEMAND_COLUMNS)}, asset
