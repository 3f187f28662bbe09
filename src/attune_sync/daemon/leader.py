"""Which replica applies: a PostgreSQL session advisory lock on a dedicated connection.

The lock lives on a psycopg connection of its own, outside SQLAlchemy's pool: a session lock
on a pooled connection would survive being "returned" and leak to whoever checks it out
next. When the leader process dies its connection closes and PostgreSQL frees the lock, so
a standby's next try (every `leader_retry` seconds) takes over.

Each apply transaction also takes a transaction-scoped advisory lock (a different key), so
even a leader that lost its lock without noticing yet can never apply alongside another.
SQLite has no server to hold a lock: one daemon per database file; BEGIN IMMEDIATE
serialises writers anyway.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

import psycopg
import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)

LEADER_LOCK_KEY = 0x41_54_54_53_59_4C_44  # "ATTSYLD"
APPLY_LOCK_KEY = 0x41_54_54_53_59_41_50  # "ATTSYAP"


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """True when this replica is (still) the leader."""

    def release(self) -> None: ...


class AlwaysLeader:
    """SQLite: there is nobody to compete with."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class PostgresLeadership:
    def __init__(self, url: str, key: int = LEADER_LOCK_KEY) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self._conninfo = parsed.render_as_string(hide_password=False)
        self._key = key
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free; if held, check the connection holding it is alive."""
        try:
            if self._conn is not None:
                # Still ours only if the session that holds it still exists.
                self._conn.execute("SELECT 1")
                return True
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=5,
                application_name="attune-sync-leader",
                # Notice a dead server (and so a lost lock) within about half a minute.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row is not None and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        except psycopg.Error as error:
            if self._conn is not None:
                log.warning("leader connection lost; leadership given up", error=str(error))
            self._drop()
            raise

    def release(self) -> None:
        # Closing the session frees the lock; an explicit unlock first is just politeness.
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
