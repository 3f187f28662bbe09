"""The settled mark's one row (`sync_settled`); what it means is `attune_sync.settled`.

The change count misses writes made with PostgreSQL's triggers disabled
(`session_replication_role = replica`: a restore, a person repairing rows by hand). So on
PostgreSQL the mark also holds a stamp of the synced rows themselves: per table, the number
of rows and the sum of their `xmin` (the transaction that wrote each row version). Any
insert, update or delete, triggers or not, changes it: a row written later has a larger
`xmin` than every row it replaces, so the sum can only stay the same when the count changes.
It costs one scan of a system column per table. SQLite's triggers cannot be switched off.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, text

from attune_sync.db import schema as t
from attune_sync.settled import Mark

_ID = 1


def read_mark(conn: Connection) -> Mark | None:
    row = conn.execute(select(t.sync_settled).where(t.sync_settled.c.id == _ID)).first()
    return Mark.from_row(dict(row._mapping)) if row is not None else None


_STAMPED = (
    "runtime",
    "pack",
    "trigger",
    "sensor",
    "sensor_trigger",
    "action",
    "rule",
    "sync_managed_pack",
    "sync_override",
)


def row_stamp(conn: Connection) -> str | None:
    """PostgreSQL: what the synced rows are, as count and xmin sum per table; else None."""
    if conn.dialect.name != "postgresql":
        return None
    parts = " UNION ALL ".join(
        f"SELECT '{name}', count(*), coalesce(sum(xmin::text::bigint), 0) FROM \"{name}\""
        for name in _STAMPED
    )
    # Sorted here: PostgreSQL may run the branches in parallel and return them in any order.
    rows = sorted(f"{name}:{count}:{total}" for name, count, total in conn.execute(text(parts)))
    return ";".join(rows)


def write_mark(conn: Connection, mark: Mark) -> None:
    """Replace the mark, in the caller's transaction."""
    conn.execute(delete(t.sync_settled))
    conn.execute(insert(t.sync_settled).values(id=_ID, **mark.as_row()))
