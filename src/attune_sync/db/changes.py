"""The change count: how the daemon knows, cheaply, whether anyone else wrote the database.

The count is `sync_db_version.version` plus the rows of `sync_change`. Database triggers
raise it for every transaction of anyone else that writes the synced tables (migrations
0002 and 0004); attune-sync's own apply silences them for its transaction and counts
itself once. On PostgreSQL each foreign transaction inserts one row under its own
transaction id, so unrelated writers never wait on each other; syncs fold those rows into
the counter, which only attune-sync (serialised by its apply lock) ever updates. On SQLite,
a single writer at a time anyway, the triggers bump the counter row itself.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from attune_sync.db import schema as t
from attune_sync.db.migrate import fresh_counter_value, repair_change_counter

OWN_WRITES_SETTING = "attune_sync.own_writes"
"""PostgreSQL setting, local to a transaction, that tells the triggers the writes are ours."""

_unknown = itertools.count(1)


def read_db_version(conn: Connection) -> int:
    """A number that every committed write to the synced tables, by anyone, changes.

    Without the counter's row (removed by a cleanup script, a partial restore) the answer
    is a number never returned before, so nobody trusts a stale copy; the next apply, or
    the next start, puts the row back.
    """
    counter = select(t.sync_db_version.c.version).where(t.sync_db_version.c.id == 1)
    noted = select(func.count()).select_from(t.sync_change)
    version, pending = conn.execute(
        select(counter.scalar_subquery(), noted.scalar_subquery())
    ).one()
    if version is None:
        return -next(_unknown)
    return int(version) + int(pending)


def begin_own_writes(conn: Connection) -> None:
    """Silence the change triggers for this transaction's writes; `end_own_writes` counts them.

    Other transactions keep counting theirs. Besides saving a counter update per statement,
    this lets the daemon tell its own writes from everybody else's. Idempotent.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.set_config(OWN_WRITES_SETTING, "on", True)))
        return
    found = conn.execute(update(t.sync_db_version).values(applying=1)).rowcount
    if not found:
        conn.execute(
            insert(t.sync_db_version).values(id=1, version=fresh_counter_value(), applying=1)
        )


def end_own_writes(conn: Connection) -> None:
    """Count this transaction's writes once, on the counter row only attune-sync updates."""
    values: dict[str, Any] = {"version": t.sync_db_version.c.version + 1}
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.set_config(OWN_WRITES_SETTING, "off", True)))
    else:
        values["applying"] = 0
    if not conn.execute(update(t.sync_db_version).values(**values)).rowcount:
        repair_change_counter(conn)


def fold_changes(conn: Connection) -> None:
    """Put a removed counter row back, and move noted changes into it (count unchanged).

    Called by every committed run. The fold deletes only rows committed (or written by this
    transaction) when its statement starts: a transaction still writing keeps its row and
    is counted when it commits.
    """
    if repair_change_counter(conn) or conn.dialect.name != "postgresql":
        return
    if conn.execute(select(t.sync_change.c.txid).limit(1)).first() is None:
        return  # nothing to fold: leave the counter row (and the WAL) alone
    gone = delete(t.sync_change).returning(t.sync_change.c.txid).cte("gone")
    folded = select(func.count()).select_from(gone).scalar_subquery()
    conn.execute(
        update(t.sync_db_version)
        .where(t.sync_db_version.c.id == 1)
        .values(version=t.sync_db_version.c.version + folded)
    )
