"""Bulk insert of row tuples through each driver's fastest path, inside the caller's transaction.

The one loader of the project: the demo generator (``demo/data.py``) loads the source tables with it, the
plan store (``plan_store.py``) its plan rows and order lists, the backtest store its results. Where rows go
to the driver as they are, `BulkLoader.driver_rows` passes dates and timestamps through the dialect's
bind processors first (SQLite: SQLAlchemy's ISO text), as SQLAlchemy's own statements would.

* PostgreSQL: ``COPY ... FROM STDIN`` on the transaction's own psycopg connection; binary when the
  PostgreSQL type of every column is given (2-3x faster than text), else text.
* MySQL/MariaDB through PyMySQL: multi-row ``INSERT`` statements whose values PyMySQL escapes itself
  (``Cursor.mogrify``, each distinct value once), as its ``executemany`` would build them.
* SQLite (and MySQL through another driver): ``executemany`` of one ``INSERT`` with the driver's own
  parameter markers, ``chunk_rows`` rows at a time.
* Any other driver: SQLAlchemy's typed executemany of ``table.insert()``.

The plan store writes a SQLite file through ADBC instead, in a transaction of its own (`db.sqlite_writer`):
`arrow_table` gives the Arrow columns whose ingest stores what ``executemany`` of `BulkLoader` stores.

Driver errors are raised as SQLAlchemy's ``DBAPIError`` without bound values, so ``db.retry`` and
``db.describe_error`` classify and describe them as any other statement's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

__all__ = ["BulkLoader", "arrow_table", "dbapi_error"]


def dbapi_error(conn: sa.Connection, statement: str, error: Any, cursor: Any = None) -> sa.exc.StatementError:
    """The exception SQLAlchemy raises for its own statements (classified by db.retry; values hidden)."""
    return sa.exc.DBAPIError.instance(
        statement,
        None,
        error,
        conn.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor),
        dialect=conn.dialect,
    )


class BulkLoader:
    """Inserts batches of row tuples (in ``table``'s column order, or ``columns``') into ``table``."""

    def __init__(
        self,
        conn: sa.Connection,
        table: sa.Table,
        *,
        columns: Sequence[str] | None = None,
        copy_types: Sequence[str] | None = None,
        chunk_rows: int = 20_000,
    ) -> None:
        self.conn = conn
        self.table = table
        self.names = list(columns) if columns is not None else [c.name for c in table.columns]
        self.chunk_rows = chunk_rows
        self.copy_types = list(copy_types) if copy_types is not None else None
        quote = conn.dialect.identifier_preparer
        table_sql = quote.format_table(table)
        columns_sql = ", ".join(quote.quote(name) for name in self.names)
        self.backend = conn.dialect.name
        self.values_prefix: str | None = None
        if self.backend == "postgresql":
            binary = " (FORMAT BINARY)" if self.copy_types is not None else ""
            self.sql: str | None = f"COPY {table_sql} ({columns_sql}) FROM STDIN{binary}"
        elif self.backend in ("mysql", "mariadb") and conn.dialect.driver == "pymysql":
            self.values_prefix = f"INSERT INTO {table_sql} ({columns_sql}) VALUES "
            self.sql = self.values_prefix
        elif conn.dialect.paramstyle in ("qmark", "format", "pyformat"):
            marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            self.sql = f"INSERT INTO {table_sql} ({columns_sql}) VALUES ({', '.join([marker] * len(self.names))})"
        else:  # any other driver: SQLAlchemy's typed executemany
            self.sql = None

    @property
    def driver_values(self) -> bool:
        """Whether rows go to the driver as they are (bind processors are the caller's business:
        `driver_rows`)."""
        return self.sql is not None

    def processor(self, name: str) -> Any:
        """The bind processor of column ``name`` where the rows go to the driver as they are and its type
        has one on this dialect (SQLite: SQLAlchemy's ISO text of a date or a timestamp), else None. Taken
        from the dialect's own type: a type decorator's alone would leave a ``datetime`` that ``sqlite3``
        converts again, by its own (deprecated) adapter, for every row."""
        if not self.driver_values or self.backend == "postgresql":  # COPY takes the Python values
            return None
        column_type = self.table.c[name].type
        base = column_type.impl_instance if isinstance(column_type, sa.types.TypeDecorator) else column_type
        if not isinstance(base, (sa.Date, sa.DateTime)):
            return None
        return column_type.dialect_impl(self.conn.dialect).bind_processor(self.conn.dialect)

    def driver_rows(self, rows: list[tuple]) -> list[tuple]:
        """``rows`` with each date and timestamp through its column's `processor`, once per distinct value."""
        processors = {i: f for i, name in enumerate(self.names) if (f := self.processor(name)) is not None}
        if not processors or not rows:
            return rows
        converted = {
            i: {v: None if v is None else f(v) for v in {row[i] for row in rows}} for i, f in processors.items()
        }
        return [tuple(converted[i][v] if i in converted else v for i, v in enumerate(row)) for row in rows]

    def load(self, rows: list[tuple]) -> None:
        """Insert ``rows`` (nothing for an empty list)."""
        if not rows:
            return
        if self.backend == "postgresql":
            self._copy(rows)
        elif self.values_prefix is not None:
            self._insert_literals(rows)
        elif self.sql is not None:
            for lo in range(0, len(rows), self.chunk_rows):
                self.conn.exec_driver_sql(self.sql, rows[lo : lo + self.chunk_rows])
        else:
            self.conn.execute(self.table.insert(), [dict(zip(self.names, row, strict=True)) for row in rows])

    def _copy(self, rows: list[tuple]) -> None:
        import psycopg  # the PostgreSQL driver, present only where PostgreSQL is used

        assert self.sql is not None
        raw = self.conn.connection.driver_connection
        assert raw is not None, "a checked-out connection has its driver connection"
        with raw.cursor() as cursor:
            try:
                with cursor.copy(self.sql) as copy:
                    if self.copy_types is not None:
                        copy.set_types(self.copy_types)
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as error:
                raise dbapi_error(self.conn, self.sql, error, cursor) from None

    def _insert_literals(self, rows: list[tuple]) -> None:
        """Multi-row INSERTs whose values PyMySQL escapes itself (its public ``Cursor.mogrify``, what its
        ``executemany`` sends), each distinct value once and each float by ``repr``: its executemany spent
        about a microsecond of Python per value (docs/scaling-benchmarks.md). Statements stay under the
        cursor's ``max_stmt_length``, as executemany's do."""
        import pymysql  # the MariaDB/MySQL driver, present only where it is used

        assert self.values_prefix is not None
        raw = self.conn.connection.driver_connection
        assert raw is not None, "a checked-out connection has its driver connection"
        statement = self.values_prefix
        with raw.cursor() as cursor:
            escaped: dict[object, str] = {}

            def escape(value: object) -> str:
                key = value if type(value) is str else (type(value), value)
                text = escaped.get(key)
                if text is None:
                    text = escaped[key] = cursor.mogrify("%s", (value,))
                return text

            limit = cursor.max_stmt_length
            try:
                parts: list[str] = []
                size = len(statement)
                for row in rows:
                    values = []
                    for value in row:
                        if type(value) is float:
                            text = repr(value)
                            if "e" not in text:  # PyMySQL writes an exponent; it refuses inf and nan itself
                                text = escape(value) if text in ("inf", "-inf", "nan") else text + "e0"
                        elif value is None:
                            text = "NULL"
                        else:
                            text = escape(value)
                        values.append(text)
                    line = "(" + ",".join(values) + ")"
                    if parts and size + len(line) + 1 > limit:
                        cursor.execute(statement + ",".join(parts))
                        parts, size = [], len(statement)
                    parts.append(line)
                    size += len(line) + 1
                if parts:
                    cursor.execute(statement + ",".join(parts))
            except pymysql.Error as error:
                raise dbapi_error(self.conn, self.values_prefix, error, cursor) from None


def arrow_table(table: sa.Table, columns: Mapping[str, Any], dialect: sa.Dialect) -> Any:
    """``columns`` (name -> a list or an array of the column's values, one per row) as the Arrow table whose
    ingest (`db.SqliteWriter`) stores what `BulkLoader` stores through ``executemany`` on ``dialect``: dates
    and timestamps as their bind processors' text (each distinct value once, as `BulkLoader.driver_rows`),
    booleans as 0 and 1, whole numbers as int64, text as text, other numbers as float64 (NaN as NULL, as
    SQLite stores it). ``table``'s columns not in ``columns`` are left out (their defaults apply)."""
    import pyarrow as pa

    names, arrays = [], []
    for column in table.columns:
        if column.name not in columns:
            continue
        values = columns[column.name]
        base = column.type.impl_instance if isinstance(column.type, sa.types.TypeDecorator) else column.type
        if isinstance(base, (sa.Date, sa.DateTime)):
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            texts = {v: v if v is None or process is None else process(v) for v in set(values)}
            array = pa.array([texts[v] for v in values], pa.string())
        elif isinstance(base, sa.Boolean):
            array = pa.array(values, pa.bool_()).cast(pa.int64())
        elif isinstance(base, sa.Integer):
            array = pa.array(values, pa.int64())
        elif isinstance(base, sa.String):
            array = pa.array(values, pa.string())
        else:
            array = pa.array(np.asarray(values, dtype=float), pa.float64(), from_pandas=True)
        names.append(column.name)
        arrays.append(array)
    return pa.table(arrays, names=names)
