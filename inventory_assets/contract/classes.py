"""The machinery of the contract as data: :class:`Column` and :class:`Table`, and what is generated from them.

``inventory_assets.contract.spec`` states every table and frame once with these classes (as PUDL's
``metadata/fields.py`` and ``resources/*.py`` do with ``metadata/classes.py``); this module turns a
:class:`Table` into

* a pandera ``DataFrameSchema`` (:meth:`Table.to_pandera`),
* a SQLAlchemy ``Table`` (:meth:`Table.to_sqlalchemy`),
* the default SELECT columns, the columns a user's query may omit, the key and the NULL defaults
  (:attr:`Table.column_names`, :attr:`Table.optional_columns`, :attr:`Table.key`, :attr:`Table.null_defaults`),
* a markdown table of its columns for the docs (:meth:`Table.markdown`).

Pure pandas/pandera/SQLAlchemy (no Dagster, nothing above the contract layer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa
from pandera import extensions
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable

__all__ = [
    "ID_LENGTH",
    "TEXT_LENGTH",
    "MYSQL_TABLE_OPTIONS",
    "Kind",
    "Column",
    "FrameCheck",
    "Table",
    "UtcDateTime",
    "is_mysql",
    "no_pad_binary_collation",
    "finite",
    "whole_number",
]

ID_LENGTH = 64
"""Every id (product, location, run): ``VARCHAR(64)``."""
TEXT_LENGTH = 32
"""Short texts of the plan tables (ABC class, reason code, status, solver): ``VARCHAR(32)``."""

MYSQL_TABLE_OPTIONS: dict[str, str] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
    "mariadb_collate": "utf8mb4_bin",
}
"""Every table on MySQL/MariaDB: InnoDB (transactions), utf8mb4 (4-byte Unicode ids) with a binary
collation (ids compare exactly, as on PostgreSQL and SQLite). Given for both dialect names: a
``mysql+pymysql://`` URL compiles with ``mysql_*``, a ``mariadb+pymysql://`` URL with ``mariadb_*``.
``utf8mb4_bin`` pads trailing spaces (``'P1'`` and ``'P1 '`` would be one key), so ``CREATE TABLE`` writes
the server's NO PAD binary collation in its place (:func:`no_pad_binary_collation`)."""

_PAD_SPACE_BINARY = "utf8mb4_bin"


def no_pad_binary_collation(dialect: sa.Dialect) -> str:
    """The utf8mb4 collation that compares bytes with trailing spaces significant, as Python compares text:
    MariaDB's ``utf8mb4_nopad_bin``, MySQL's ``utf8mb4_0900_bin`` (8.0.17 and later). An older MySQL has
    none and keeps ``utf8mb4_bin`` (ids differing only in trailing spaces collide there: docs/plan-store.md).
    The server is known once the dialect has connected (``create_all`` connects before it compiles)."""
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    if tuple(dialect.server_version_info or ()) >= (8, 0, 17):
        return "utf8mb4_0900_bin"
    return _PAD_SPACE_BINARY


@compiles(CreateTable, "mysql")
@compiles(CreateTable, "mariadb")
def _create_table_no_pad(element: CreateTable, compiler: Any, **kw: Any) -> str:
    """``CREATE TABLE`` on MySQL/MariaDB with the NO PAD binary collation where a table asks for
    ``utf8mb4_bin`` (the contract's tables, :data:`MYSQL_TABLE_OPTIONS`)."""
    sql: str = compiler.visit_create_table(element, **kw)
    return re.sub(rf"\bCOLLATE[ =]{_PAD_SPACE_BINARY}\b", f"COLLATE {no_pad_binary_collation(compiler.dialect)}", sql)


Kind = Literal["id", "text", "integer", "number", "day", "timestamp", "flag", "serial", "json"]
"""What a column holds; it fixes the SQL type and the frame dtype:

======== ================================== ==========================================
kind     SQL                                frame dtype
======== ================================== ==========================================
id       VARCHAR(64)                        str
text     VARCHAR(length or 32)              str
integer  INTEGER (BIGINT in the plan store) int64; float64 (NaN = NULL) when nullable
number   NUMERIC(18, 4) (DOUBLE in plan)    float64
day      DATE                               datetime64[ns] at midnight
timestamp UTC timestamp (`UtcDateTime`)     datetime64[us, UTC]
flag     BOOLEAN                            bool
serial   BIGINT (SQLite: INTEGER, the rowid) int64
json     TEXT (MySQL: MEDIUMTEXT)           str
======== ================================== ==========================================
"""

_SQL_TYPE_WORDS: dict[str, str] = {
    "id": "text",
    "text": "text",
    "integer": "integer",
    "number": "numeric",
    "day": "date",
    "timestamp": "timestamp (UTC)",
    "flag": "boolean",
    "serial": "integer",
    "json": "text (JSON)",
}


def _register(fn: Callable[..., pd.Series]) -> Callable[..., pd.Series]:
    """Register ``fn`` as a pandera check method (once per process: pandera refuses a second name)."""
    if hasattr(pa.Check, fn.__name__):
        return fn
    return extensions.register_check_method(statistics=["enabled"], check_type="vectorized")(fn)


@_register
def finite(series: pd.Series, *, enabled: bool = True) -> pd.Series:
    """Every value is a finite number: no +/-inf (NaN passes here; nullability is checked on its own)."""
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    return pd.Series(~np.isinf(values) | (not enabled), index=series.index)


@_register
def whole_number(series: pd.Series, *, enabled: bool = True) -> pd.Series:
    """Every value is a whole number (NaN passes)."""
    values = series.astype("float64")
    return values.isna() | (np.floor(values) == values) | (not enabled)


def _not_infinite(series: pd.Series) -> pd.Series:
    return ~np.isinf(series.astype(float))


@dataclass(frozen=True)
class Column:
    """One column: what it holds, what NULL means, whether a query may omit it, and its value rules."""

    name: str
    kind: Kind
    doc: str
    """What the column holds (pandera description, SQL comment, docs)."""
    nullable: bool = False
    null_means: float | None = None
    """The value a NULL stands for, applied once on read (``validation.apply_null_defaults``); None: NULL stays."""
    null_doc: str = ""
    """What NULL means, in words, when it is not a value (``"not perishable"``, ``"unlimited"``)."""
    optional: bool = False
    """A user's SELECT may omit the column; it is then read as NULL."""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    eq: float | None = None
    in_range: tuple[float, float] | None = None
    isin: tuple[str, ...] | None = None
    finite: bool = False
    """No +/-inf (pandera's ``ge``/``gt`` accept ``inf``)."""
    whole: bool = False
    """A whole number (checked on a nullable integer read as float)."""
    unique: bool = False
    min_length: int | None = None
    """Shortest text (1: no empty ids)."""
    length: int | None = None
    """SQL length of a ``text`` column (default `TEXT_LENGTH`)."""
    note: str = ""
    """A rule stated elsewhere (a frame-wide check, a cross-table check), for the docs."""
    primary_key: bool = False
    sql_comment: bool = True
    """Store ``doc`` as the SQL column comment."""

    def rules(self) -> list[str]:
        """The value rules in words (docs)."""
        out: list[str] = []
        if self.unique:
            out.append("unique")
        for word, value in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt), ("=", self.eq)):
            if value is not None:
                out.append(f"{word} {value:g}")
        if self.in_range is not None:
            out.append(f"in [{self.in_range[0]:g}, {self.in_range[1]:g}]")
        if self.isin is not None:
            out.append("one of " + ", ".join(f"`{v}`" for v in self.isin))
        if self.finite:
            out.append("finite")
        if self.whole and self.kind != "integer":
            out.append("whole")
        if self.min_length:
            out.append("not empty")
        if self.null_means is not None:
            out.append(f"NULL = {self.null_means:g}")
        elif self.null_doc:
            out.append(f"NULL = {self.null_doc}")
        if self.optional:
            out.append("may be omitted")
        if self.note:
            out.append(self.note)
        return out

    def type_words(self) -> str:
        return _SQL_TYPE_WORDS[self.kind] + (", nullable" if self.nullable else "")

    def frame_dtype(self) -> Any:
        """The pandera dtype of the column in a frame."""
        if self.kind in ("id", "text", "json"):
            return str
        if self.kind == "flag":
            return bool
        if self.kind in ("integer", "serial"):
            return float if self.nullable else int
        if self.kind == "number":
            return float
        if self.kind == "day":
            return pa.DateTime
        raise TypeError(f"column {self.name!r} of kind {self.kind!r} has no frame dtype")

    def checks(self, *, extension_finite: bool) -> list[pa.Check]:
        """The column's pandera checks, in pandera's ``Field`` order (built-ins, then extensions).

        ``extension_finite``: the registered ``finite``/``whole_number`` checks (source frames, reported as
        ``finite(enabled=True)``); else a check named ``finite`` (the frames between assets)."""
        out: list[pa.Check] = []
        if self.eq is not None:
            out.append(pa.Check.equal_to(self.eq))
        if self.gt is not None:
            out.append(pa.Check.greater_than(self.gt))
        if self.ge is not None:
            out.append(pa.Check.greater_than_or_equal_to(self.ge))
        if self.lt is not None:
            out.append(pa.Check.less_than(self.lt))
        if self.le is not None:
            out.append(pa.Check.less_than_or_equal_to(self.le))
        if self.in_range is not None:
            out.append(pa.Check.in_range(*self.in_range))
        if self.isin is not None:
            out.append(pa.Check.isin(list(self.isin)))
        if self.min_length is not None:
            out.append(pa.Check.str_length(min_value=self.min_length))
        if extension_finite:
            if self.finite:
                out.append(pa.Check.finite(enabled=True))
            if self.whole:
                out.append(pa.Check.whole_number(enabled=True))
        elif self.finite:
            out.append(pa.Check(_not_infinite, name="finite"))
        return out

    def to_pandera(self, *, extension_finite: bool) -> pa.Column:
        """The pandera column (coerced by its frame's schema)."""
        return pa.Column(
            self.frame_dtype(),
            checks=self.checks(extension_finite=extension_finite),
            nullable=self.nullable,
            unique=self.unique,
            required=True,
            name=self.name,
            description=self.doc,
        )

    def sql_type(self, store: Literal["source", "plan"]) -> sa.types.TypeEngine:
        """The SQLAlchemy type: ``source`` tables keep exact decimals, the ``plan`` store IEEE doubles."""
        if self.kind == "id":
            return sa.String(ID_LENGTH)
        if self.kind == "text":
            return sa.String(self.length or TEXT_LENGTH)
        if self.kind == "integer":
            return sa.Integer() if store == "source" else sa.BigInteger()
        if self.kind == "serial":
            return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        if self.kind == "number":
            # source: exact NUMERIC read back as float; plan: IEEE double on every dialect, bit-identical.
            return sa.Numeric(18, 4, asdecimal=False) if store == "source" else sa.Double()
        if self.kind == "day":
            return sa.Date()
        if self.kind == "timestamp":
            return UtcDateTime()
        if self.kind == "flag":
            return sa.Boolean(create_constraint=False)
        if self.kind == "json":
            return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
        raise TypeError(f"column {self.name!r}: unknown kind {self.kind!r}")

    def to_sqlalchemy(self, store: Literal["source", "plan"], *, primary_key: bool) -> sa.Column:
        return sa.Column(
            self.name,
            self.sql_type(store),
            nullable=self.nullable and not primary_key,
            primary_key=primary_key,
            unique=self.unique and not primary_key and store == "plan",
            autoincrement=False if self.kind == "serial" else "auto",
            comment=self.doc if self.sql_comment else None,
        )


@dataclass(frozen=True)
class FrameCheck:
    """A check over whole rows of a frame (compares columns); pandera reports it by ``name``."""

    name: str
    fn: Callable[[pd.DataFrame], pd.Series]
    description: str | None = None

    def to_pandera(self) -> pa.Check:
        return pa.Check(self.fn, name=self.name, description=self.description)


@dataclass(frozen=True)
class Table:
    """A source table, a frame passed between assets, or a plan table: its columns, key and rules."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    """The row's identity: frames are sorted by it and failures name it."""
    unique_key: bool = False
    """The key is unique (checked: by the column's own ``unique`` for a one-column key, else frame-wide)."""
    schema_name: str | None = None
    """Name of the generated pandera schema (reported as the column of frame-wide failures)."""
    schema_doc: str | None = None
    """Description of the generated pandera schema (default: ``doc``)."""
    strict: bool | Literal["filter"] = "filter"
    """pandera ``strict``: ``"filter"`` drops the extra columns of a user's query."""
    finite_as: Literal["extension", "named"] = "extension"
    """How the ``finite`` rule is reported (see :meth:`Column.checks`)."""
    checks: tuple[FrameCheck, ...] = ()
    """Frame-wide checks, in order."""
    column_checks: tuple[tuple[str, FrameCheck], ...] = ()
    sql_primary_key: tuple[str, ...] = ()
    sql_indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(name, columns) of each SQL index."""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is stated twice")
        unknown = set(self.key) - set(names)
        if unknown:
            raise ValueError(f"{self.name}: key columns {sorted(unknown)} are not columns")

    # --- plain data -----------------------------------------------------------------------------------

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def optional_columns(self) -> set[str]:
        """Columns a user's SELECT may omit (read as NULL)."""
        return {c.name for c in self.columns if c.optional}

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.optional]

    @property
    def null_defaults(self) -> dict[str, float]:
        """What a NULL in each column means, where it means a value."""
        return {c.name: c.null_means for c in self.columns if c.null_means is not None}

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def select(self, names: list[str] | tuple[str, ...], *, name: str | None = None, **changes: Any) -> Table:
        """A table of some of this table's columns (e.g. a frame that carries them on)."""
        return Table(
            name=name or self.name,
            doc=changes.pop("doc", self.doc),
            columns=tuple(self.column(n) for n in names),
            **changes,
        )

    # --- generated ------------------------------------------------------------------------------------

    def to_pandera(self) -> pa.DataFrameSchema:
        """The pandera schema: every column with its dtype, nullability and rules; coerce; the key."""
        extension = self.finite_as == "extension"
        columns = {c.name: c.to_pandera(extension_finite=extension) for c in self.columns}
        by_column: dict[str, list[pa.Check]] = {}
        for name, check in self.column_checks:
            by_column.setdefault(name, []).append(check.to_pandera())
        for name, extra in by_column.items():
            columns[name].checks.extend(extra)
        unique = list(self.key) if self.unique_key and len(self.key) > 1 else None
        return pa.DataFrameSchema(
            columns=columns,
            checks=[check.to_pandera() for check in self.checks],
            coerce=True,
            strict=self.strict,
            name=self.schema_name,
            unique=unique,
            description=self.schema_doc if self.schema_doc is not None else self.doc,
        )

    def to_sqlalchemy(
        self,
        metadata: sa.MetaData,
        store: Literal["source", "plan"],
        *,
        order: list[str] | None = None,
        comment: str | None = None,
    ) -> sa.Table:
        """The SQLAlchemy table (columns in ``order`` if given), with the MySQL/MariaDB options."""
        names = order or self.column_names
        primary = set(self.sql_primary_key)
        items: list[sa.schema.SchemaItem] = [
            self.column(n).to_sqlalchemy(store, primary_key=n in primary) for n in names
        ]
        items += [sa.Index(index_name, *columns) for index_name, columns in self.sql_indexes]
        options: dict[str, Any] = dict(MYSQL_TABLE_OPTIONS)
        return sa.Table(self.name, metadata, *items, comment=comment if comment is not None else self.doc, **options)

    def markdown(self) -> str:
        """The docs' column table: column, type, rule and meaning."""
        lines = ["| column | type | rule | meaning |", "|---|---|---|---|"]
        for c in self.columns:
            rule = "; ".join(c.rules()).replace("|", "\\|")
            lines.append(f"| `{c.name}` | {c.type_words()} | {rule} | {c.doc.replace('|', chr(92) + '|')} |")
        return "\n".join(lines)


# --- SQL types shared by the tables ------------------------------------------------------------------------


def is_mysql(dialect: sa.Dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


def utc(value: datetime | pd.Timestamp | str) -> datetime:
    """``value`` as an aware UTC datetime with microsecond precision (naive values are taken as UTC)."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError("planned_at must be a timestamp, not NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.floor("us").to_pydatetime()


class UtcDateTime(sa.types.TypeDecorator):
    """A UTC timestamp: ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, ``DATETIME(6)`` (UTC, microseconds)
    on MySQL/MariaDB, SQLAlchemy's ISO text on SQLite. Accepts naive (taken as UTC) or aware
    datetimes; always returns aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if is_mysql(dialect):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
