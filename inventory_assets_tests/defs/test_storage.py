"""What a run leaves in the instance's storage: the assets' values, and not the sales graph's day ranges
(issue 18: they were 197 MB a run at medium and never removed)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from inventory_assets_tests.helpers import materialize, write_demo


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_a_run_keeps_its_assets_and_removes_the_sales_day_ranges(database_env: dict[str, str]) -> None:
    write_demo(database_env)
    with dg.instance_for_test() as instance:
        storage = Path(instance.storage_directory())
        result = materialize(instance=instance, run_config={"ops": {"sales": {"config": {"day_ranges": 3}}}})
        assert result.success
        day_ranges = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
        assert sum(1 for k in day_ranges if k and k.startswith("sales.sales_days[")) == 3  # they were stored...
        assert not list((storage / result.run_id).glob("sales.*"))  # ...and removed once sales was
        assert (storage / "sales").is_file() and (storage / "procurement_plan").is_file()
        # a run of the sales graph alone cleans up after itself too
        again = materialize(["sales"], instance=instance, run_config={"ops": {"sales": {"config": {"day_ranges": 2}}}})
        assert again.success and not list((storage / again.run_id).glob("sales.*"))
