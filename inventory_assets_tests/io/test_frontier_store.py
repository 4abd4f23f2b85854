"""The budget frontier store on real SQLite, PostgreSQL and MariaDB databases (no mocks)."""

from __future__ import annotations

import pandas as pd
import pytest

from inventory_assets.io import frontier_store
from inventory_assets.optimization.frontier import FRONTIER_COLUMNS
from inventory_assets_tests.conftest import backend_params

all_backends = pytest.mark.parametrize("empty_database", backend_params(), indirect=True)


def points(n: int = 3, shift: float = 0.0) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "point": range(1, n + 1),
            "budget": [1000.0 * (k + 1) + shift for k in range(n)],
            "is_configured": [k == 1 for k in range(n)],
            "spend": [900.0 * (k + 1) for k in range(n)],
            "expected_cost": [5000.0 - 100 * k for k in range(n)],
            "expected_lost_units": [40.0 - k for k in range(n)],
            "expected_lost_value": [400.0 - 10 * k for k in range(n)],
            "expected_fill_rate": [0.9 + 0.01 * k for k in range(n)],
            "expected_dc_shortfall_units": [12.5 - k for k in range(n)],
            "rows_at_risk": [5 - k for k in range(n)],
            "shadow_price": [0.5 / (k + 1) for k in range(n)],
            "status": "optimal",
            "saturation_budget": 1000.0 * n,
        }
    )
    return frame[list(FRONTIER_COLUMNS)]


@all_backends
def test_written_points_read_back_and_a_rewrite_keeps_one_copy(empty_database: str) -> None:
    assert frontier_store.write_frontier(empty_database, "run-1", points()) == 3
    assert frontier_store.write_frontier(empty_database, "run-1", points(4, shift=0.5)) == 4
    frontier_store.write_frontier(empty_database, "run-2", points(2))
    back = frontier_store.read_frontier(empty_database, "run-1")
    assert len(back) == 4 and back["budget"].tolist() == [1000.5, 2000.5, 3000.5, 4000.5]
    assert back["is_configured"].astype(bool).tolist() == [False, True, False, False]
    assert back["status"].tolist() == ["optimal"] * 4
    assert len(frontier_store.read_frontier(empty_database, "run-2")) == 2


@all_backends
def test_bad_values_are_refused_before_anything_is_written(empty_database: str) -> None:
    bad = points()
    bad.loc[1, "spend"] = float("inf")
    with pytest.raises(ValueError, match="spend: non-finite"):
        frontier_store.write_frontier(empty_database, "run-1", bad)
    with pytest.raises(ValueError, match="lack the columns status"):
        frontier_store.write_frontier(empty_database, "run-1", points().drop(columns=["status"]))
    with pytest.raises(ValueError, match="empty"):
        frontier_store.write_frontier(empty_database, "run-1", points().iloc[:0])
    frontier_store.ensure_table(empty_database)
    assert frontier_store.read_frontier(empty_database, "run-1").empty
