"""Bring a database to the newest schema, safely even when several processes start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

MIGRATION_LOCK_KEY = 0x41_54_54_53_59_4E_43  # "ATTSYNC": any constant all processes share
"""The PostgreSQL advisory lock key that serialises migrations."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic `Config` for the migrations shipped inside the package; no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this build of attune-sync knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision` in one transaction, serialised against other processes.

    Everything, including the lock, happens in a single transaction: on PostgreSQL a
    transaction-scoped advisory lock (released by commit or rollback, so it can never leak
    into the pool the way a session lock can); on SQLite the engine's BEGIN IMMEDIATE takes
    the write lock first. A second process therefore waits, then finds the schema at head
    and does nothing.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate down to `revision` ("base" drops everything). For tests and emergencies."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        command.downgrade(alembic_config(conn), revision)
