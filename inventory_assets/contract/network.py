"""The location network (a forest of replenishment trees): validation and tree helpers.

Pure pandas/numpy; no Dagster. The input is the validated ``locations`` frame of ``docs/frames.md``
(``location_id``, ``name``, ``echelon``, ``parent_location_id``, ``capacity_units``).

Every function is vectorised over locations (pointer doubling on an integer parent array), so none can
loop forever on a network with a cycle: the work is bounded by ``log2(number of locations)`` doublings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "PROBLEM_KINDS",
    "NetworkError",
    "network_problems",
    "parent_positions",
    "ancestor_pairs",
    "locations_with_children",
    "depths",
]

#: The values of ``network_problems(...)["problem"]``.
PROBLEM_KINDS = ("missing_parent", "echelon_mismatch", "cycle", "root_echelon")

_NO_PARENT = -1


class NetworkError(ValueError):
    """The location network is not a forest (a cycle), so ancestors are undefined."""


def _unique_locations(locations: pd.DataFrame) -> pd.DataFrame:
    """The first row of each ``location_id`` (duplicates are the schema's business, not ours)."""
    frame = locations.loc[:, ["location_id", "echelon", "parent_location_id"]]
    frame = frame[frame["location_id"].notna()]
    return frame.drop_duplicates("location_id", keep="first").reset_index(drop=True)


def parent_positions(locations: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """``(ids, parent)``: the location ids and, for each, the position of its parent in ``ids``.

    ``parent[i] == -1`` when location ``i`` has no parent or its parent does not exist (a missing parent
    is reported by :func:`network_problems`; here it ends the chain like a root).
    """
    frame = _unique_locations(locations)
    ids = pd.Index(frame["location_id"].astype(str), dtype=str)
    raw_parent = frame["parent_location_id"]
    parent = np.full(len(ids), _NO_PARENT, dtype=np.int64)
    has_parent = raw_parent.notna().to_numpy()
    if has_parent.any():
        parent[has_parent] = ids.get_indexer(raw_parent[has_parent].astype(str))
    return ids, parent


def _jump(parent: np.ndarray, steps_at_least: int) -> np.ndarray:
    """Where each node lands after ``2**k >= steps_at_least`` parent steps (-1 = fell off a root)."""
    n = len(parent)
    # Sentinel n absorbs: following a root's parent stays at the sentinel.
    nxt = np.where(parent < 0, n, parent)
    nxt = np.append(nxt, n)
    reach = 1
    while reach < max(steps_at_least, 1):
        nxt = nxt[nxt]
        reach *= 2
    out = nxt[:n]
    return np.where(out == n, -1, out)


def network_problems(locations: pd.DataFrame) -> pd.DataFrame:
    """Every bad location of the network, one row per (location, problem).

    Columns: ``location_id``, ``problem`` (one of :data:`PROBLEM_KINDS`), ``detail`` (human text).

    - ``missing_parent``: ``parent_location_id`` names no location.
    - ``root_echelon``: a location without parent whose ``echelon`` is not 0.
    - ``echelon_mismatch``: ``echelon`` is not the parent's ``echelon + 1``.
    - ``cycle``: following parents never reaches a root: the location is on a cycle, or its chain of
      parents runs into one (the detail says which).

    Empty frame (with those columns) for a valid network. Never loops: cycles are found by pointer
    doubling, ``O(n log n)``.
    """
    frame = _unique_locations(locations)
    ids, parent = parent_positions(locations)
    n = len(ids)
    rows: list[pd.DataFrame] = []

    raw_parent = frame["parent_location_id"]
    echelon = pd.to_numeric(frame["echelon"], errors="coerce").to_numpy(dtype=float)
    has_parent_value = raw_parent.notna().to_numpy()

    missing = has_parent_value & (parent < 0)
    if missing.any():
        rows.append(
            pd.DataFrame(
                {
                    "location_id": ids[missing],
                    "problem": "missing_parent",
                    "detail": [f"parent_location_id {p!r} is not a location" for p in raw_parent[missing].astype(str)],
                }
            )
        )

    root = ~has_parent_value
    bad_root = root & (echelon != 0)
    if bad_root.any():
        rows.append(
            pd.DataFrame(
                {
                    "location_id": ids[bad_root],
                    "problem": "root_echelon",
                    "detail": [f"has no parent, so its echelon must be 0, not {e:g}" for e in echelon[bad_root]],
                }
            )
        )

    linked = parent >= 0
    expected = np.full(n, np.nan)
    expected[linked] = echelon[parent[linked]] + 1
    mismatch = linked & (echelon != expected)
    if mismatch.any():
        rows.append(
            pd.DataFrame(
                {
                    "location_id": ids[mismatch],
                    "problem": "echelon_mismatch",
                    "detail": [
                        f"echelon {e:g} but parent {ids[p]!r} has echelon {echelon[p]:g}, expected {x:g}"
                        for e, p, x in zip(echelon[mismatch], parent[mismatch], expected[mismatch], strict=True)
                    ],
                }
            )
        )

    if n:
        landing = _jump(parent, n)  # after >= n steps: -1 if a root was reached, else a node on a cycle
        stuck = landing >= 0
        if stuck.any():
            on_cycle = np.zeros(n, dtype=bool)
            on_cycle[np.unique(landing[stuck])] = True
            # Name each cycle by its smallest member id so the detail is deterministic.
            cycle_label = {}
            for start in np.flatnonzero(on_cycle):
                if start in cycle_label:
                    continue
                members = [start]
                nxt = parent[start]
                while nxt != start and len(members) <= n:  # bounded: a cycle has at most n members
                    members.append(nxt)
                    nxt = parent[nxt]
                text = " -> ".join(ids[m] for m in members) + f" -> {ids[start]}"
                for m in members:
                    cycle_label[m] = text
            details = [
                f"on the cycle {cycle_label[i]}"
                if on_cycle[i]
                else f"its parents never reach a root; they run into the cycle {cycle_label[landing[i]]}"
                for i in np.flatnonzero(stuck)
            ]
            rows.append(pd.DataFrame({"location_id": ids[stuck], "problem": "cycle", "detail": details}))

    if not rows:
        return pd.DataFrame(
            {
                "location_id": pd.Series(dtype=str),
                "problem": pd.Series(dtype=str),
                "detail": pd.Series(dtype=str),
            }
        )
    out = pd.concat(rows, ignore_index=True)
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    out["_kind"] = out["problem"].map(order)
    out = out.sort_values(["location_id", "_kind"], kind="stable").drop(columns="_kind")
    return out.reset_index(drop=True).astype({"location_id": str, "problem": str, "detail": str})


def ancestor_pairs(locations: pd.DataFrame, *, include_self: bool = False) -> pd.DataFrame:
    """Every (location, ancestor) pair of the network, vectorised.

    Columns: ``location_id``, ``ancestor_id``, ``distance`` (1 = parent, 2 = grandparent, ...; 0 for the
    location itself when ``include_self``). Read the other way round it is the descendant mapping: the
    rows with ``ancestor_id == X`` are X's descendants. A missing parent ends the chain like a root.

    Raises :class:`NetworkError` when the network has a cycle.
    """
    ids, parent = parent_positions(locations)
    n = len(ids)
    if n and (_jump(parent, n) >= 0).any():
        bad = network_problems(locations)
        bad = bad.loc[bad["problem"] == "cycle", "location_id"].tolist()
        raise NetworkError(f"the location network has a cycle through {bad}")
    loc_parts: list[np.ndarray] = []
    anc_parts: list[np.ndarray] = []
    dist_parts: list[np.ndarray] = []
    node = np.arange(n)
    current = np.arange(n)
    distance = 0
    if include_self:
        loc_parts.append(node)
        anc_parts.append(current)
        dist_parts.append(np.zeros(n, dtype=np.int64))
    while True:
        distance += 1
        alive = current >= 0
        current = np.where(alive, parent[np.where(alive, current, 0)], -1)
        keep = current >= 0
        if not keep.any() or distance > n:
            break
        loc_parts.append(node[keep])
        anc_parts.append(current[keep])
        dist_parts.append(np.full(int(keep.sum()), distance, dtype=np.int64))
    loc_idx = np.concatenate(loc_parts) if loc_parts else np.array([], dtype=np.int64)
    anc_idx = np.concatenate(anc_parts) if anc_parts else np.array([], dtype=np.int64)
    dist = np.concatenate(dist_parts) if dist_parts else np.array([], dtype=np.int64)
    out = pd.DataFrame(
        {
            "location_id": pd.Series(ids.to_numpy()[loc_idx], dtype=str),
            "ancestor_id": pd.Series(ids.to_numpy()[anc_idx], dtype=str),
            "distance": dist,
        }
    )
    return out.sort_values(["location_id", "distance"], kind="stable").reset_index(drop=True)


def locations_with_children(locations: pd.DataFrame) -> pd.Index:
    """The ids of locations that replenish at least one other location (the upper echelons)."""
    ids, parent = parent_positions(locations)
    has_child = np.zeros(len(ids), dtype=bool)
    has_child[parent[parent >= 0]] = True
    return ids[has_child]


def depths(parent: np.ndarray) -> np.ndarray:
    """Each node's number of parent steps to its root (0 for a root), from parent positions (-1 = none).

    Raises :class:`NetworkError` when following parents runs into a cycle."""
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    if n and (_jump(parent, n) >= 0).any():
        raise NetworkError("the location network has a cycle")
    depth = np.zeros(n, dtype=np.int64)
    current = parent.copy()
    while (current >= 0).any():  # acyclic: at most the depth of the deepest tree
        alive = current >= 0
        depth[alive] += 1
        current = np.where(alive, parent[np.where(alive, current, 0)], -1)
    return depth
