"""The one SQLAlchemy resource, instantiated once per database (cloud, on-prem, plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from inventory_assets.io import db

T = TypeVar("T")


class SqlDatabase(dg.ConfigurableResource):
    """A database reached through SQLAlchemy (any dialect: SQLite, PostgreSQL, MariaDB/MySQL, ...).

    The URL comes from an environment variable named by ``url_env_var`` (read when the resource is used,
    with the embedded SQLite default when unset) so the password never lands in run config;
    everything shown (logs, metadata, errors) carries the masked URL only.
    """

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db; unset: read from url_env_var.",
    )
    url_env_var: str | None = Field(
        default=None,
        description="Environment variable holding the URL, read when the resource is used (the URL never enters "
        "run config); unset or empty means the embedded SQLite default of that variable (docs/data-contract.md).",
    )
    connect_timeout_seconds: int = Field(default=10, description="Seconds to wait for a connection.")
    query_timeout_seconds: float = Field(
        default=900.0, description="Statement timeout for reads where the dialect supports one (PostgreSQL, MariaDB)."
    )
    retry_attempts: int = Field(
        default=4, description="Attempts for an operation that meets a transient fault (dropped connection, restart)."
    )
    retry_base_delay_seconds: float = Field(
        default=0.5, description="First backoff delay; it doubles after each transient fault (capped at 8 s)."
    )
    step_retries: int = Field(
        default=2,
        ge=0,
        description="Times a step that still meets a transient fault after those attempts runs again (never for a "
        "permanent error).",
    )
    step_retry_delay_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Wait before the step runs again; it doubles for each further step attempt (30 s, then 60 s).",
    )
    queries: dict[str, str] = Field(
        default_factory=dict,
        description="Optional SELECT per source table name (e.g. {'sales': 'SELECT ... FROM my_sales'}) "
        "returning the contract columns; run config of the asset overrides it.",
    )

    @property
    def resolved_url(self) -> str:
        """``url``, else the value of ``url_env_var``, else that variable's embedded SQLite default."""
        if self.url:
            return self.url
        if self.url_env_var is None:
            raise ValueError("SqlDatabase needs url or url_env_var")
        return db.url_from_env(self.url_env_var)

    @property
    def engine(self) -> sa.Engine:
        """The pooled engine (pool_pre_ping, hide_parameters), cached per process and URL."""
        return db.make_engine(self.resolved_url, self.connect_timeout_seconds)

    @property
    def masked_url(self) -> str:
        """The URL with its password masked: the only form that is logged or shown."""
        return db.mask_url(self.resolved_url)

    @property
    def dialect(self) -> str:
        return db.dialect_name(self.resolved_url)

    def run(self, fn: Callable[[sa.Engine], T], *, what: str) -> T:
        """``fn(engine)`` with retries on transient faults; a :class:`db.DatabaseError` (masked) otherwise."""
        return db.retry(
            lambda: fn(self.engine),
            attempts=self.retry_attempts,
            base_delay=self.retry_base_delay_seconds,
            what=what,
            url=self.resolved_url,
        )


def database_resources() -> dict[str, SqlDatabase]:
    """The three databases, their URLs read from the environment when a run uses them."""
    return {
        "cloud_db": SqlDatabase(url_env_var=db.CLOUD_URL_VAR),
        "onprem_db": SqlDatabase(url_env_var=db.ONPREM_URL_VAR),
        "plan_db": SqlDatabase(url_env_var=db.PLAN_URL_VAR),
    }


resources = dg.Definitions(resources=database_resources())
