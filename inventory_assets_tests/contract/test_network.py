"""The location network: problems listed in full, tree helpers, no hang on cycles."""

from __future__ import annotations

import pandas as pd
import pytest

from inventory_assets.contract.network import (
    NetworkError,
    ancestor_pairs,
    locations_with_children,
    network_problems,
)


def locations(rows: list[tuple[str, int, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "location_id": pd.Series([r[0] for r in rows], dtype="str"),
            "name": pd.Series([f"site {r[0]}" for r in rows], dtype="str"),
            "echelon": [r[1] for r in rows],
            "parent_location_id": pd.Series([r[2] for r in rows], dtype="str"),
            "capacity_units": [float("nan")] * len(rows),
        }
    )


TREE = locations([("DC", 0, None), ("R1", 1, "DC"), ("S1", 2, "R1"), ("S2", 2, "R1"), ("S3", 1, "DC")])


def test_valid_network_has_no_problems():
    problems = network_problems(TREE)
    assert problems.empty
    assert list(problems.columns) == ["location_id", "problem", "detail"]


def test_ancestors_and_descendants():
    pairs = ancestor_pairs(TREE)
    got = set(zip(pairs["location_id"], pairs["ancestor_id"], pairs["distance"], strict=True))
    assert got == {
        ("R1", "DC", 1),
        ("S1", "R1", 1),
        ("S1", "DC", 2),
        ("S2", "R1", 1),
        ("S2", "DC", 2),
        ("S3", "DC", 1),
    }
    with_self = ancestor_pairs(TREE, include_self=True)
    assert len(with_self) == len(pairs) + len(TREE)
    descendants_of_dc = set(pairs.loc[pairs["ancestor_id"] == "DC", "location_id"])
    assert descendants_of_dc == {"R1", "S1", "S2", "S3"}
    assert set(locations_with_children(TREE)) == {"DC", "R1"}


def test_every_bad_location_is_listed():
    bad = locations(
        [
            ("DC", 0, None),
            ("X", 1, "NOPE"),  # missing parent
            ("R", 3, None),  # root with echelon 3
            ("S", 3, "DC"),  # echelon should be 1
            ("A", 1, "B"),  # A <-> B cycle
            ("B", 1, "A"),
            ("C", 2, "A"),  # runs into the cycle
            ("Z", 0, "Z"),  # self-loop
        ]
    )
    problems = network_problems(bad)
    got = set(zip(problems["location_id"], problems["problem"], strict=True))
    assert ("X", "missing_parent") in got
    assert ("R", "root_echelon") in got
    assert ("S", "echelon_mismatch") in got
    assert {("A", "cycle"), ("B", "cycle"), ("C", "cycle"), ("Z", "cycle")} <= got
    assert ("DC", "cycle") not in got and ("X", "cycle") not in got
    # A <-> B both have echelon 1, so each also mismatches its parent; Z (self-loop) too.
    assert ("A", "echelon_mismatch") in got and ("Z", "echelon_mismatch") in got
    detail = dict(zip(zip(problems["location_id"], problems["problem"], strict=True), problems["detail"], strict=True))
    assert "NOPE" in detail[("X", "missing_parent")]
    assert "run into the cycle A -> B -> A" in detail[("C", "cycle")]
    assert "on the cycle" in detail[("A", "cycle")]
    assert set(problems["problem"]) <= {"missing_parent", "echelon_mismatch", "cycle", "root_echelon"}


def test_long_cycle_terminates_and_ancestors_refuse_it():
    n = 500
    ring = locations([(f"L{i:03d}", 1, f"L{(i + 1) % n:03d}") for i in range(n)])
    problems = network_problems(ring)
    assert (problems["problem"] == "cycle").sum() == n
    with pytest.raises(NetworkError, match="cycle"):
        ancestor_pairs(ring)


def test_missing_parent_ends_the_chain():
    net = locations([("DC", 0, None), ("S", 1, "GONE")])
    assert ancestor_pairs(net).empty
    assert list(network_problems(net)["problem"]) == ["missing_parent"]


def test_empty_network():
    empty = locations([])
    assert network_problems(empty).empty
    assert ancestor_pairs(empty).empty
