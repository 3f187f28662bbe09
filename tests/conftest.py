"""Shared fixtures: every database test runs against SQLite and a real PostgreSQL.

`db_url` is a fresh, empty database per test (parametrized "sqlite" / "postgresql");
`engine` is an engine on it with the migrations applied. PostgreSQL is the server at
``ATTUNE_SYNC_TEST_PG_URL`` (default: local, trust auth, user postgres). If it cannot be
reached the PostgreSQL variants fail loudly: skipping would hide the production backend.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

SRC = Path(__file__).resolve().parent.parent / "src"
if str(SRC) not in sys.path:
    # Tests run from a checkout whether or not the package is pip-installed.
    sys.path.insert(0, str(SRC))

from attune_sync.db.engine import make_engine, mask_url  # noqa: E402
from attune_sync.db.migrate import upgrade  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "ATTUNE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_DB_PREFIX = "attune_sync_t_"


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (psycopg does not know "+psycopg")."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(_libpq_url(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL at {mask_url(PG_ADMIN_URL)} is unreachable ({exc}). Start it, or point "
            "ATTUNE_SYNC_TEST_PG_URL at a server where the user may CREATE DATABASE.",
            pytrace=False,
        )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped (forcibly) after the test."""
    name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's temporary directory (not created yet)."""
    return f"sqlite:///{tmp_path / 'attune-sync.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL, once per backend."""
    name = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database at the newest schema."""
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A private copy of the bundled packs/: the README's tour invites users to edit them."""
    import shutil

    source = Path(__file__).resolve().parents[1] / "packs"
    return Path(shutil.copytree(source, tmp_path / "bundled-packs"))
