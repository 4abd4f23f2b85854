"""`diagnose.diagnose_with_iis` on LPs that carry segment and partial-sum columns.

`matrix.to_segment_form` adds segment columns (family ``inbound_segment``, owned by a leaf row)
and `matrix.split_dense_rows` adds partial-sum columns (family ``partial_sum``, owner -1) and
chunk rows (owner: the owner of the split row).  Neither kind may name a product on its own.
"""

from __future__ import annotations

import numpy as np
import pytest

from inventory_assets.optimization.data import build_plan_data
from inventory_assets.optimization.diagnose import diagnose_with_iis
from inventory_assets.optimization.errors import PlanInfeasibleError
from inventory_assets.optimization.matrix import (
    COL_FAMILIES,
    ROW_FAMILIES,
    build_matrix,
    split_dense_rows,
    to_segment_form,
)
from inventory_assets.optimization.params import PlanParameters
from inventory_assets.optimization.plan import build_lp
from inventory_assets.optimization.sets import build_sets
from inventory_assets.optimization.solve import solve
from inventory_assets_tests.optimization.factories import features


def pack_bound_frame():
    """P1 and P2 each need 5 units in packs of 6 ($10 a unit): $100 fractional, $120 in whole packs.

    P3 (last row) needs nothing and has no pack or MOQ decision.
    """
    pack = {"location_id": "DC", "safety_stock": 5, "order_up_to": 5, "abc_class": "A", "order_multiple": 6}
    return features(
        [
            {"product_id": "P1", **pack},
            {"product_id": "P2", **pack},
            {"product_id": "P3", "location_id": "DC", "on_hand": 10, "order_up_to": 5},
        ],
        network={"DC": None},
    )


def test_pack_diagnosis_names_only_products_with_pack_or_moq_columns():
    params = PlanParameters(objective="target_gap", budget=110)
    data = build_plan_data(pack_bound_frame(), params)
    lp = split_dense_rows(build_lp(data, "matrix"), max_nnz=1)
    partial = lp.col_family == COL_FAMILIES.index("partial_sum")
    assert partial.any() and (lp.col_owner[partial] == -1).all()
    assert data.product_id[-1] == "P3"  # what owner -1 would index

    with pytest.raises(PlanInfeasibleError) as info:
        solve(lp, params, data)  # the MIP is infeasible, its LP relaxation is not: empty IIS
    err = info.value
    assert err.family == "pack"
    assert err.product_ids == ("P1", "P2")
    assert str(err).endswith("review packs/MOQs of: P1, P2")


def test_pack_diagnosis_ignores_segment_columns():
    params = PlanParameters(objective="target_gap", budget=110, relax_integrality=True)
    data = build_plan_data(pack_bound_frame(), params)
    sets = build_sets(data)
    lp = to_segment_form(build_matrix(data, sets), data, sets)
    segments = lp.col_family == COL_FAMILIES.index("inbound_segment")
    assert segments.any() and (lp.col_owner[segments] >= 0).all()

    # the relaxation is feasible, so the IIS is empty; a relaxation has no pack or MOQ columns
    err = diagnose_with_iis(lp, data)
    assert err.family == "pack"
    assert err.product_ids == ()


def test_iis_chunk_rows_of_a_split_capacity_row_name_no_product():
    # three critical products at the DC need 12 units, the DC holds 10 (less P0's unit on hand);
    # P0 is row 0, and 0 is also the DC's location code, the owner of the capacity row's chunks
    rows = [{"product_id": "P0", "location_id": "DC", "on_hand": 1, "capacity_units": 10}]
    for product in ("P1", "P2", "P3"):
        rows += [
            {
                "product_id": product,
                "location_id": "DC",
                "safety_stock": 4,
                "order_up_to": 4,
                "abc_class": "A",
                "capacity_units": 10,
            },
            {"product_id": product, "location_id": "S1", "order_up_to": 3},
        ]
    params = PlanParameters(objective="target_gap", relax_integrality=True)
    data = build_plan_data(features(rows, network={"DC": None, "S1": "DC"}), params)
    sets = build_sets(data)
    lp = split_dense_rows(to_segment_form(build_matrix(data, sets), data, sets), max_nnz=2)
    chunks = lp.row_family == ROW_FAMILIES.index("partial_sum")
    dc = int(np.flatnonzero(data.location_ids == "DC")[0])
    assert data.product_id[dc] == "P0" and (lp.row_owner[chunks] == dc).any()

    with pytest.raises(PlanInfeasibleError) as info:
        solve(lp, params, data)
    err = info.value
    assert {"capacity", "critical_minimum"} <= set(err.family.split("+"))
    assert err.product_ids == ("P1", "P2", "P3")
    assert str(err).endswith("locations: DC")
