"""Rows a managed pack left behind when its pack row was deleted without the cascade.

The `sqlite3` shell runs with foreign keys off: `DELETE FROM pack` there leaves the pack's
triggers, sensors, actions, rules and bookkeeping pointing at a pack id that no longer
exists, and a sensor can be left pointing at a deleted trigger. Such rows would make the
pack invalid forever (its refs "already exist, in no pack"). For packs attune-sync manages
they are removed, as the cascade would have: `load_actual` leaves them out of what the
planner sees and the apply removes them first. A leftover still used by another pack's
sensor or rule stays, with a warning saying how to remove it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Connection, delete, select

from attune_sync.db import schema as t
from attune_sync.db.changes import begin_own_writes, end_own_writes

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Orphans:
    """Ids to remove, by table name (`remove_orphans` deletes in an order foreign keys allow)."""

    ids: dict[str, set[int]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    """Leftovers still referenced elsewhere: described, with the fix, but not removed."""

    def __bool__(self) -> bool:
        return any(self.ids.values())

    def of(self, table: str) -> set[int]:
        return self.ids.get(table, set())


def _ids(conn: Connection, query: Any) -> set[int]:
    return {int(row[0]) for row in conn.execute(query)}


def find_orphans(conn: Connection) -> Orphans:
    """The leftovers of managed packs whose pack row is gone (a few anti-joins)."""
    managed = select(t.sync_managed_pack.c.pack_id)
    packs = select(t.pack.c.id)
    gone = managed.where(t.sync_managed_pack.c.pack_id.not_in(packs))
    gone_ids = _ids(conn, gone)
    s, r, a, tr, st = t.sensor, t.rule, t.action, t.trigger, t.sensor_trigger
    sensors = _ids(
        conn,
        select(s.c.id).where(
            s.c.pack.in_(managed),
            s.c.pack.not_in(packs)
            | s.c.trigger.not_in(select(tr.c.id))
            | s.c.runtime.not_in(select(t.runtime.c.id)),
        ),
    )
    orphans = Orphans({"sensor": sensors})
    if not gone_ids:
        return orphans
    rules = _ids(conn, select(r.c.id).where(r.c.pack.in_(gone_ids)))
    orphans.ids["rule"] = rules
    actions: set[int] = set()
    for row in conn.execute(select(a.c.id, a.c.ref).where(a.c.pack.in_(gone_ids))):
        users = _ids(conn, select(r.c.id).where(r.c.action == row.id)) - rules
        _keep_or_remove(orphans, actions, "action", row.id, row.ref, users, "rule")
    orphans.ids["action"] = actions
    triggers: set[int] = set()
    for row in conn.execute(select(tr.c.id, tr.c.ref).where(tr.c.pack.in_(gone_ids))):
        users = _ids(conn, select(s.c.id).where(s.c.trigger == row.id))
        listed_by = select(st.c.sensor).where(
            st.c.trigger == row.id, st.c.sensor.in_(select(s.c.id))
        )
        users = (users | _ids(conn, listed_by)) - sensors
        users |= _ids(conn, select(r.c.id).where(r.c.trigger == row.id)) - rules
        _keep_or_remove(orphans, triggers, "trigger", row.id, row.ref, users, "sensor or rule")
    orphans.ids["trigger"] = triggers
    kept_packs: set[int] = set()
    for table in (tr, s, a, r):
        removed = orphans.of(table.name)
        query = select(table.c.id, table.c.pack).where(table.c.pack.in_(gone_ids))
        kept_packs.update(int(row.pack) for row in conn.execute(query) if row.id not in removed)
    orphans.ids["sync_managed_pack"] = gone_ids - kept_packs
    return orphans


def _keep_or_remove(
    orphans: Orphans, remove: set[int], kind: str, id_: int, ref: str, users: set[int], by: str
) -> None:
    if not users:
        remove.add(id_)
        return
    orphans.kept.append(
        f"{kind} {ref!r} (id {id_}) belongs to a managed pack whose row was deleted without "
        f"its cascade, but another pack's {by} still uses it; remove or change that {by}, "
        f"then the next sync removes the {kind}"
    )


_ORDER = ("rule", "sensor", "action", "trigger", "sync_managed_pack")


def remove_orphans(conn: Connection) -> int:
    """Delete what `find_orphans` finds, inside the caller's transaction; rows removed.

    Counted as one write of attune-sync's own, so other processes re-read the database.
    """
    orphans = find_orphans(conn)
    for text in orphans.kept:
        log.warning("orphaned row kept", detail=text)
    if not orphans:
        return 0
    begin_own_writes(conn)
    removed = 0
    for name in _ORDER:
        ids = sorted(orphans.of(name))
        if not ids:
            continue
        table = t.metadata.tables[name]
        key = table.c.pack_id if name == "sync_managed_pack" else table.c.id
        removed += int(conn.execute(delete(table).where(key.in_(ids))).rowcount)
    end_own_writes(conn)
    log.warning("removed rows left behind by a pack deleted without its cascade", rows=removed)
    return removed
