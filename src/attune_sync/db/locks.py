"""The write lock every writer of the pack tables takes before it reads what it will change.

Two writers that each read, plan and then write can both succeed while the database ends
up equal to neither tree (each plans against rows the other is about to change). So every
writer (`apply`, the daemon, the REST API's writes) opens its transaction, takes this lock,
and only then reads: the second writer waits for the first to commit and plans from what
the first committed.

* PostgreSQL: a transaction-scoped advisory lock (`pg_advisory_xact_lock`), released by
  COMMIT or ROLLBACK, waited for at most `wait_seconds` (`lock_timeout`).
* SQLite: the engine begins every writing transaction with BEGIN IMMEDIATE, which already
  holds the database's single write lock; its wait is bounded by the busy timeout
  (`SQLITE_BUSY_TIMEOUT_MS`). Nothing more to take.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from .engine import SQLITE_BUSY_TIMEOUT_MS

WRITE_LOCK_KEY = 0x41_54_54_53_59_41_50  # "ATTSYAP"
"""The advisory lock key shared by every attune-sync writer of one PostgreSQL database."""

DEFAULT_WRITE_LOCK_WAIT_S = 60.0
"""How long a writer waits for another writer's transaction before giving up."""

_LOCK_NOT_AVAILABLE = "55P03"


class WriteLockBusy(Exception):
    """Another writer held the write lock for longer than this one would wait."""


def take_write_lock(conn: Connection, wait_seconds: float = DEFAULT_WRITE_LOCK_WAIT_S) -> None:
    """Hold the write lock until `conn`'s transaction ends; call it before reading.

    Raises WriteLockBusy when another writer keeps it longer than `wait_seconds`; the
    transaction is then unusable and must be rolled back (leaving its `with` block does).
    """
    if conn.dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE took the write lock (waits SQLITE_BUSY_TIMEOUT_MS)
    previous = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    ms = max(1, int(wait_seconds * 1000))
    conn.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{ms}ms"})
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    except OperationalError as error:
        code = getattr(error.orig, "sqlstate", None)
        if code == _LOCK_NOT_AVAILABLE:
            raise WriteLockBusy(
                f"another attune-sync writer held the database's write lock for more than "
                f"{wait_seconds:g} s; nothing was changed (try again, or look for a stuck run)"
            ) from error
        raise
    conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": str(previous)})


def sqlite_write_wait_seconds() -> float:
    """How long a SQLite writer waits for another writer (the busy timeout)."""
    return SQLITE_BUSY_TIMEOUT_MS / 1000


def set_run_timeouts(conn: Connection, seconds: float) -> None:
    """Bound every statement and lock wait of `conn`'s transaction (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return
    ms = f"{max(1, int(seconds * 1000))}ms"
    conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})
    conn.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": ms})
