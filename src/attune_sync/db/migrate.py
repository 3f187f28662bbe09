"""Bring a database to the newest schema, safely even when several processes start at once."""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, insert, inspect, select, text

from attune_sync.db import schema as t
from attune_sync.db.engine import SCHEMA_OPTION, DatabaseError, DatabaseTooNew, mask_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

MIGRATION_LOCK_KEY = 0x41_54_54_53_59_4E_43  # "ATTSYNC": any constant all processes share
"""The PostgreSQL advisory lock key that serialises migrations."""

OWN_TABLES = frozenset(t.metadata.tables)
"""Tables attune-sync creates (besides alembic_version)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic `Config` for the migrations shipped inside the package; no alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_REVISION = re.compile(r'^(down_)?revision: .*= "?([0-9A-Za-z_]+|None)"?$', re.MULTILINE)


@cache
def _revision_graph() -> dict[str, str | None]:
    """Revision -> the one it revises, read from the migration files' headers.

    Alembic itself is imported only to migrate: a database already at head is checked with
    this alone (importing alembic costs a one-shot command a fifth of a second). A test
    holds it equal to what alembic reads.
    """
    graph: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("[0-9]*.py")):
        found = {bool(down): value for down, value in _REVISION.findall(path.read_text())}
        down = found.get(True)
        graph[found[False]] = None if down in (None, "None") else down
    return graph


def head_revision() -> str | None:
    """The newest revision this build of attune-sync knows."""
    graph = _revision_graph()
    heads = set(graph) - {down for down in graph.values() if down is not None}
    return heads.pop() if len(heads) == 1 else None


def known_revisions() -> frozenset[str]:
    """Every revision this build of attune-sync ships."""
    return frozenset(_revision_graph())


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return _stored_revision(conn)


def _stored_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row is not None else None


def checked_revision(conn: Connection) -> str | None:
    """The database's revision (None: no attune-sync schema yet), refusing what is not ours.

    Raises DatabaseTooNew for a revision this build does not know (a newer attune-sync
    migrated it), and DatabaseError when tables of attune-sync's names exist that it did
    not create (Attune's own, say), naming them.
    """
    url = mask_url(conn.engine.url)
    names = set(inspect(conn).get_table_names())
    revision = _stored_revision(conn) if "alembic_version" in names else None
    if revision is not None and revision not in known_revisions():
        raise DatabaseTooNew(
            f"the database {url!r} is newer than this attune-sync: it is at schema revision "
            f"{revision!r}, which this version (newest {head_revision()!r}) does not know. "
            "It was migrated by a newer attune-sync: run that version (or a newer one) "
            "against it; this one changes nothing there",
            url=url,
        )
    clash = sorted(names & OWN_TABLES)
    if revision is None and clash:
        raise DatabaseError(
            f"the database {url!r} already holds tables named {', '.join(clash)} that "
            "attune-sync did not create (they may be Attune's own); nothing was changed. "
            "Give attune-sync a schema of its own with --db-schema NAME "
            "(ATTUNE_SYNC_DB_SCHEMA), or use another database",
            url=url,
        )
    return revision


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision` in one transaction, serialised against other processes.

    Everything, including the lock, happens in a single transaction: on PostgreSQL a
    transaction-scoped advisory lock (released by commit or rollback, so it can never leak
    into the pool the way a session lock can); on SQLite the engine's BEGIN IMMEDIATE takes
    the write lock first. A second process therefore waits, then finds the schema at head
    and does nothing. A database of a newer attune-sync, or one holding foreign tables of
    attune-sync's names, is refused before anything is written. The change counter's row
    is put back if someone removed it.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            schema = engine.get_execution_options().get(SCHEMA_OPTION)
            if schema is not None:
                # The name was checked by make_engine: lower-case letters, digits and _.
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        if checked_revision(conn) != head_revision() or revision != "head":
            from alembic import command

            command.upgrade(alembic_config(conn), revision)
        if "sync_db_version" in inspect(conn).get_table_names():
            repair_change_counter(conn)


def repair_change_counter(conn: Connection) -> bool:
    """Put the change counter's row back if it is missing; True when it was.

    Its new value is the current time in microseconds, beyond anything a count of writes
    reaches, so no process can mistake the repaired counter for one it saw before.
    """
    if conn.execute(select(t.sync_db_version.c.id)).first() is not None:
        return False
    conn.execute(insert(t.sync_db_version).values(id=1, version=fresh_counter_value(), applying=0))
    return True


def fresh_counter_value() -> int:
    return time.time_ns() // 1000


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate down to `revision` ("base" drops everything). For tests and emergencies."""
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        command.downgrade(alembic_config(conn), revision)
