"""The bulk loader's MariaDB path (multi-row INSERTs of values PyMySQL escapes) against a real server: every
value back as written, text that would break SQL included, statements split at the driver's size limit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory_assets.io import bulk, db
from inventory_assets_tests.conftest import backend_params

FLOATS = [0.0, -0.0, 0.1 + 0.2, 3.0, 1e-300, 1.7976931348623157e308, -2.5e-7, 123456789.123456789]
TEXTS = ["P1", "x'; DROP TABLE t; --", "back\\slash", 'quote"d', "Ünï 漢字 🍓", "", "%s %(x)s", "P 1 "]


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
@pytest.mark.parametrize("sql_mode", ["", "NO_BACKSLASH_ESCAPES"])
def test_values_load_exactly_across_statements(empty_database: str, sql_mode: str) -> None:
    engine = db.make_engine(empty_database)
    meta = sa.MetaData()
    table = sa.Table(
        "bulk_values",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("x", sa.Double),
        sa.Column("s", sa.String(64, collation="utf8mb4_bin")),
        sa.Column("b", sa.Boolean),
        sa.Column("t", sa.DateTime),
    )
    meta.create_all(engine)
    stamp = dt.datetime(2026, 11, 30, 23, 59, 58)  # DATETIME keeps whole seconds
    rows = [
        (i, FLOATS[i % len(FLOATS)] if i % 11 else None, TEXTS[i % len(TEXTS)] if i % 13 else None, i % 2 == 0, stamp)
        for i in range(40_000)  # about 2 MB of VALUES: more than one statement of PyMySQL's 1 MB limit
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET SESSION sql_mode = '{sql_mode}'")
        loader = bulk.BulkLoader(conn, table)
        assert loader.values_prefix is not None
        loader.load(rows)
        got = conn.execute(sa.select(table).order_by(table.c.id)).all()
    assert [tuple(r) for r in got] == rows
    meta.drop_all(engine)


@pytest.mark.parametrize("empty_database", backend_params("mariadb"), indirect=True)
def test_a_value_mariadb_cannot_hold_fails_as_a_database_error(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    meta = sa.MetaData()
    table = sa.Table("bulk_inf", meta, sa.Column("x", sa.Double))
    meta.create_all(engine)
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        bulk.BulkLoader(conn, table).load([(1.0,), (float("inf"),)])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    meta.drop_all(engine)


def test_table_rows_convert_whole_columns_send_null_where_allowed_and_refuse_the_rest() -> None:
    """`db.table_rows`: the driver values of a frame, column by column: NULL for a missing value of a
    nullable column of any type, every problem of every column in one error."""
    import numpy as np
    import pandas as pd

    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("run_id", sa.String(8), nullable=False),
        sa.Column("name", sa.String(5)),
        sa.Column("count", sa.BigInteger),
        sa.Column("amount", sa.Double),
        sa.Column("day", sa.Date),
        sa.Column("flag", sa.Boolean),
        sa.Column("code", sa.String(5), nullable=False),
    )
    frame = pd.DataFrame(
        {
            "name": pd.array(["a", None, "ccc"], dtype="str"),
            "count": [1.0, np.nan, 3.0],
            "amount": [0.1, 2.5, np.nan],
            "day": pd.to_datetime(["2026-11-30", None, "2026-12-01"]),
            "flag": [True, False, None],
            "code": [7, 8, 9],
        }
    )
    rows = db.table_rows(table, frame, {"run_id": "r1"}, "the rows")
    assert rows == [
        ("r1", "a", 1, 0.1, dt.date(2026, 11, 30), True, "7"),
        ("r1", None, None, 2.5, None, False, "8"),
        ("r1", "ccc", 3, None, dt.date(2026, 12, 1), None, "9"),
    ]
    assert [type(v) for v in rows[0]] == [str, str, int, float, dt.date, bool, str]
    bad = frame.assign(name=["toolong", "b", "c"], count=[1.5, 2.0, 3.0], amount=[1.0, np.inf, "x"], code=[1, None, 3])
    with pytest.raises(ValueError) as info:
        db.table_rows(table, bad, {"run_id": "r1"}, "the rows")
    assert str(info.value) == (
        "the rows cannot be written: name: text longer than 5 characters; count: not whole numbers; "
        "amount: non-finite or non-numeric values; code: 1 missing value(s)"
    )
    assert db.table_rows(table, frame.iloc[:0], {"run_id": "r1"}, "the rows") == []
