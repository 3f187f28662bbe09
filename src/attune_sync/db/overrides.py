"""Reading and writing `sync_override` rows (see attune_sync.overrides)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_, delete, select, tuple_

from attune_sync.db import schema as t
from attune_sync.overrides import Override


def load_overrides(conn: Connection) -> dict[tuple[str, str], Override]:
    o = t.sync_override
    return {
        (row.kind, row.ref): Override(
            row.kind, row.ref, row.enabled, row.file_enabled, row.set_by, row.set_at
        )
        for row in conn.execute(select(o).order_by(o.c.kind, o.c.ref))
    }


def load_override(conn: Connection, kind: str, ref: str) -> Override | None:
    """The override of one object, if any."""
    o = t.sync_override
    row = conn.execute(select(o).where(o.c.kind == kind, o.c.ref == ref)).first()
    if row is None:
        return None
    return Override(row.kind, row.ref, row.enabled, row.file_enabled, row.set_by, row.set_at)


def set_override(conn: Connection, override: Override) -> None:
    """Record `override`, replacing any earlier one of the same object."""
    o = t.sync_override
    conn.execute(delete(o).where(and_(o.c.kind == override.kind, o.c.ref == override.ref)))
    conn.execute(
        o.insert().values(
            kind=override.kind,
            ref=override.ref,
            enabled=override.enabled,
            file_enabled=override.file_enabled,
            set_by=override.set_by,
            set_at=override.set_at,
        )
    )


def clear_override(conn: Connection, kind: str, ref: str) -> bool:
    """Remove the override of one object; whether there was one."""
    o = t.sync_override
    found = conn.execute(delete(o).where(and_(o.c.kind == kind, o.c.ref == ref))).rowcount
    return bool(found)


def end_overrides(conn: Connection, ended: Iterable[tuple[str, str]], *, deleted: bool) -> None:
    """Remove overrides the plan ended and, after deletes, those whose object is gone.

    Without the second sweep an override would outlive its sensor and silently apply to a
    new one that later takes the same ref.
    """
    o = t.sync_override
    keys = list(ended)
    if keys:
        conn.execute(delete(o).where(tuple_(o.c.kind, o.c.ref).in_(keys)))
    if deleted:
        for kind, table in (("trigger", t.trigger), ("sensor", t.sensor)):
            conn.execute(delete(o).where(o.c.kind == kind, o.c.ref.not_in(select(table.c.ref))))
