"""Shared fixtures: real, empty databases on SQLite, PostgreSQL and MariaDB.

PostgreSQL and MariaDB are reached at ``INVENTORY_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and ``INVENTORY_TEST_MARIADB_URL`` (default
``mysql+pymysql://root@127.0.0.1:3306/test``). Each test session creates its own scratch database on each
server and drops it at the end; each test gets its tables dropped before it runs. Where a server does not
answer, its tests skip with a message saying how to enable them, except under CI (``CI=true``), where
they must run and so fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory_assets.io import db
from inventory_assets.io.plan_export import EXPORT_DIR_VAR

POSTGRES_ADMIN_URL = os.environ.get("INVENTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("INVENTORY_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ("sqlite", "postgresql", "mariadb")
_ENABLE_HINT = {
    "postgresql": "start PostgreSQL on 127.0.0.1:5432 (trust auth, database 'test') or set INVENTORY_TEST_POSTGRES_URL",
    "mariadb": "start MariaDB on 127.0.0.1:3306 (root, no password, database 'test') or set INVENTORY_TEST_MARIADB_URL",
}


def _unavailable(backend: str, error: Exception) -> None:
    message = f"{backend} is not reachable ({db.describe_error(error)}); to run these tests, {_ENABLE_HINT[backend]}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the {backend} tests: {message}")
    pytest.skip(message)


def _server_database(admin_url: str, backend: str) -> Iterator[str]:
    """Create a scratch database on the server; yield its URL; drop it afterwards."""
    name = f"ia_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    except sa.exc.DBAPIError as error:
        _unavailable(backend, error)
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        db.make_engine.cache_clear()
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a scratch PostgreSQL database for this test session."""
    yield from _server_database(POSTGRES_ADMIN_URL, "postgresql")


@pytest.fixture(scope="session")
def mariadb_database() -> Iterator[str]:
    """URL of a scratch MariaDB database (utf8mb4, binary collation) for this test session."""
    yield from _server_database(MARIADB_ADMIN_URL, "mariadb")


def drop_all_tables(url: str) -> None:
    """Drop every table and view in the database at ``url``."""
    engine = db.make_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, views=True)
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        for view in inspector.get_view_names():
            conn.exec_driver_sql(f"DROP VIEW {conn.dialect.identifier_preparer.quote(view)}")
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the backend named by the test's parameter (``sqlite``, ``postgresql``, ``mariadb``)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url = request.getfixturevalue("postgres_database" if backend == "postgresql" else "mariadb_database")
    drop_all_tables(url)
    return url


def backend_params(*backends: str) -> list:
    """``pytest.param`` values for ``empty_database``, marked so ``-m 'not mariadb'`` can deselect them."""
    return [pytest.param(b, marks=getattr(pytest.mark, b) if b != "sqlite" else (), id=b) for b in backends or BACKENDS]


@pytest.fixture
def database_env(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The three INVENTORY_*_DB_URL variables pointed at one empty database (or three SQLite files)."""
    if empty_database.startswith("sqlite"):
        database = sa.make_url(empty_database).database
        assert database is not None, f"{empty_database} names no database file"
        base = Path(database).parent
        urls = {
            db.CLOUD_URL_VAR: f"sqlite:///{base / 'cloud.db'}",
            db.ONPREM_URL_VAR: f"sqlite:///{base / 'onprem.db'}",
            db.PLAN_URL_VAR: f"sqlite:///{base / 'plan.db'}",
        }
    else:
        urls = {var: empty_database for var in (db.CLOUD_URL_VAR, db.ONPREM_URL_VAR, db.PLAN_URL_VAR)}
    for var, url in urls.items():
        monkeypatch.setenv(var, url)
    return urls


@pytest.fixture(autouse=True, scope="session")
def _exports_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every planning run exports its order lists; the tests' go to a temporary folder, not data/exports.

    Subprocesses (the CLI, dagster dev) inherit the variable.
    """
    saved = os.environ.get(EXPORT_DIR_VAR)
    os.environ[EXPORT_DIR_VAR] = str(tmp_path_factory.mktemp("exports"))
    yield
    if saved is None:
        os.environ.pop(EXPORT_DIR_VAR, None)
    else:
        os.environ[EXPORT_DIR_VAR] = saved
