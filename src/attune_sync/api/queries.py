"""Every read the API makes, in SQLAlchemy Core; the connection is the caller's.

`*_ref` values come from joins on the foreign keys (the truth Attune cascades by), as the
sync's own reads do. Lists page by id through a subquery on the primary key (a "deferred
join"), so a page deep in a list costs about what the first one does: the offset walks a
narrow index, and only the page's rows are joined and fetched. Whole lists go further and
keep their ids while the database's change counter stands still (`_OrderedIds`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select

from attune_sync.db import schema as t
from attune_sync.db.state import read_db_version

from .pagination import Page

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Managed:
    """A pack the sync manages: the folder it is read from and each object's file."""

    folder: str
    sources: dict[str, str] | None

    def path(self, kind: str, ref: str) -> str:
        """The file that holds the object, relative to the packs root."""
        known = self.sources or {}
        if kind == "pack":
            return known.get("pack") or f"{self.folder}/pack.yaml"
        # Recorded by every sync since migration 0005; before it, the file the ref implies.
        return known.get(f"{kind}:{ref}") or f"{self.folder}/{kind}s/{ref.rsplit('.', 1)[-1]}.yaml"


def _pack_select() -> Select[Any]:
    return select(*t.pack.c)


def _trigger_select() -> Select[Any]:
    tr = t.trigger
    return select(
        tr.c.id,
        tr.c.ref,
        tr.c.pack,
        t.pack.c.ref.label("pack_ref"),
        tr.c.label,
        tr.c.description,
        tr.c.enabled,
        tr.c.param_schema,
        tr.c.out_schema,
        tr.c.created,
        tr.c.updated,
    ).outerjoin(t.pack, tr.c.pack == t.pack.c.id)


def _sensor_select() -> Select[Any]:
    s = t.sensor
    return (
        select(
            s.c.id,
            s.c.ref,
            s.c.pack,
            t.pack.c.ref.label("pack_ref"),
            s.c.label,
            s.c.description,
            s.c.entrypoint,
            s.c.runtime,
            t.runtime.c.ref.label("runtime_ref"),
            s.c.trigger,
            t.trigger.c.ref.label("trigger_ref"),
            s.c.enabled,
            s.c.param_schema,
            s.c.created,
            s.c.updated,
        )
        .join(t.pack, s.c.pack == t.pack.c.id)
        .join(t.runtime, s.c.runtime == t.runtime.c.id)
        .join(t.trigger, s.c.trigger == t.trigger.c.id)
    )


def _action_select() -> Select[Any]:
    a = t.action
    return select(
        a.c.id,
        a.c.ref,
        a.c.pack,
        t.pack.c.ref.label("pack_ref"),
        a.c.label,
        a.c.description,
        a.c.runtime,
        a.c.created,
        a.c.updated,
    ).join(t.pack, a.c.pack == t.pack.c.id)


def _rule_select() -> Select[Any]:
    r = t.rule
    act = t.action.alias("rule_action")
    trg = t.trigger.alias("rule_trigger")
    return (
        select(
            r.c.id,
            r.c.ref,
            r.c.pack,
            t.pack.c.ref.label("pack_ref"),
            r.c.label,
            r.c.description,
            act.c.ref.label("action_ref"),
            trg.c.ref.label("trigger_ref"),
            r.c.enabled,
            r.c.created,
            r.c.updated,
        )
        .join(t.pack, r.c.pack == t.pack.c.id)
        .join(act, r.c.action == act.c.id)
        .join(trg, r.c.trigger == trg.c.id)
    )


_SELECTS = {
    "pack": (_pack_select, t.pack),
    "trigger": (_trigger_select, t.trigger),
    "sensor": (_sensor_select, t.sensor),
    "action": (_action_select, t.action),
    "rule": (_rule_select, t.rule),
}


def get_by_ref(conn: Connection, kind: str, ref: str) -> Row | None:
    build, table = _SELECTS[kind]
    row = conn.execute(build().where(table.c.ref == ref)).mappings().first()
    return dict(row) if row is not None else None


def list_page(
    conn: Connection, kind: str, page: Page, *, where: list[Any] | None = None
) -> tuple[list[Row], int]:
    """One page of `kind` in id order, and how many there are in all."""
    build, table = _SELECTS[kind]
    conditions = where or []
    total = conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
    if page.offset >= total:
        return [], int(total)
    ids = (
        select(table.c.id)
        .where(*conditions)
        .order_by(table.c.id)
        .limit(page.size)
        .offset(page.offset)
        .scalar_subquery()
    )
    rows = conn.execute(build().where(table.c.id.in_(ids)).order_by(table.c.id)).mappings()
    return [dict(row) for row in rows], int(total)


class _OrderedIds:
    """Per engine, the ids of each whole list, valid for one value of the change counter.

    Every write to these tables, by anyone, bumps the counter (migration 0002), so an
    unchanged counter means unchanged lists. A page of a whole list is then a slice, its
    total a length: page 400 costs what page 1 does, and no request counts the table.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[Any, tuple[int, list[int]]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, conn: Connection, key: tuple[str, bool], query: Select[Any]) -> list[int]:
        version = read_db_version(conn)
        with self._lock:
            found = self._by_engine.setdefault(conn.engine, {}).get(key)
        if found is not None and found[0] == version:
            return found[1]
        ids = [int(i) for i in conn.execute(query).scalars()]
        with self._lock:
            self._by_engine[conn.engine][key] = (version, ids)
        return ids


_ORDERED_IDS = _OrderedIds()


def list_all(
    conn: Connection, kind: str, page: Page, *, enabled_only: bool
) -> tuple[list[Row], int]:
    """A page of every pack, trigger or sensor (or only the enabled ones), in id order."""
    build, table = _SELECTS[kind]
    where = [table.c.enabled.is_(True)] if enabled_only else []
    query = select(table.c.id).where(*where).order_by(table.c.id)
    ids = _ORDERED_IDS.get(conn, (kind, enabled_only), query)
    wanted = ids[page.offset : page.offset + page.size]
    if not wanted:
        return [], len(ids)
    rows = conn.execute(build().where(table.c.id.in_(wanted)).order_by(table.c.id)).mappings()
    return [dict(row) for row in rows], len(ids)


def list_of_pack(conn: Connection, kind: str, pack_id: int, page: Page) -> tuple[list[Row], int]:
    table = _SELECTS[kind][1]
    return list_page(conn, kind, page, where=[table.c.pack == pack_id])


def sensors_firing(conn: Connection, trigger_id: int, page: Page) -> tuple[list[Row], int]:
    """The sensors that fire a trigger: through every trigger a sensor lists (`sensor_trigger`).

    The one place that knows how a sensor names its triggers.
    """
    link = t.sensor_trigger
    firing = select(link.c.sensor).where(link.c.trigger == trigger_id)
    return list_page(conn, "sensor", page, where=[t.sensor.c.id.in_(firing)])


def id_of(conn: Connection, kind: str, ref: str) -> int | None:
    table = t.metadata.tables[kind]
    found = conn.execute(select(table.c.id).where(table.c.ref == ref)).scalar()
    return int(found) if found is not None else None


def runtime_ids(conn: Connection) -> set[int]:
    return {int(i) for i in conn.execute(select(t.runtime.c.id)).scalars()}


def managed_pack(conn: Connection, pack_id: int | None) -> Managed | None:
    """The sync's record of a pack it manages; None for a pack made by the API or Attune."""
    if pack_id is None:
        return None
    m = t.sync_managed_pack
    row = conn.execute(select(m.c.folder, m.c.sources).where(m.c.pack_id == pack_id)).first()
    return Managed(row.folder, row.sources) if row is not None else None


def users_of_trigger(
    conn: Connection, trigger_id: int, outside_pack: int | None = None
) -> list[str]:
    """Sensors and rules that still use a trigger (outside `outside_pack`, when given)."""
    found = []
    link = t.sensor_trigger
    listing = select(link.c.sensor).where(link.c.trigger == trigger_id)
    for kind, table in (("sensor", t.sensor), ("rule", t.rule)):
        uses = table.c.trigger == trigger_id
        if kind == "sensor":
            uses = uses | table.c.id.in_(listing)
        query = select(table.c.ref).where(uses).order_by(table.c.ref)
        if outside_pack is not None:
            query = query.where(table.c.pack != outside_pack)
        found += [f"{kind} '{ref}'" for ref in conn.execute(query.limit(3)).scalars()]
    return found


def users_of_pack(conn: Connection, pack_id: int) -> list[str]:
    """What outside a pack uses its triggers or actions, blocking the cascade."""
    found = []
    triggers = select(t.trigger.c.id).where(t.trigger.c.pack == pack_id)
    actions = select(t.action.c.id).where(t.action.c.pack == pack_id)
    for kind, table, column, owned in (
        ("sensor", t.sensor, t.sensor.c.trigger, triggers),
        ("rule", t.rule, t.rule.c.trigger, triggers),
        ("rule", t.rule, t.rule.c.action, actions),
    ):
        query = (
            select(table.c.ref)
            .where(column.in_(owned), table.c.pack != pack_id)
            .order_by(table.c.ref)
            .limit(3)
        )
        found += [f"{kind} '{ref}'" for ref in conn.execute(query).scalars()]
    return sorted(set(found))
