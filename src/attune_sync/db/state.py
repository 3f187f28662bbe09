"""Read what the database holds, in a handful of whole-table queries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, select

from attune_sync.db import schema as t
from attune_sync.db.changes import read_db_version as read_db_version
from attune_sync.db.orphans import find_orphans
from attune_sync.db.overrides import load_overrides
from attune_sync.model import (
    ACTION_FIELDS,
    PACK_FIELDS,
    RULE_FIELDS,
    RUNTIME_FIELDS,
    SENSOR_FIELDS,
    TRIGGER_FIELDS,
    ActualObject,
    ActualState,
    ManagedInfo,
)

Where = ColumnElement[bool] | None
"""A filter on a loader's joined columns (`t.pack.c.ref` is the owning pack's ref)."""


def load_actual(conn: Connection) -> ActualState:
    """Everything the planner compares against, as one consistent snapshot.

    Run it inside the transaction that will apply the plan, so that nothing changes between
    reading and writing. `*_ref` values come from joins on the foreign keys (the truth Attune
    cascades by), not from the denormalised `*_ref` columns.
    """
    # Rows a managed pack left behind when deleted without its cascade are not shown: the
    # apply removes them (db.orphans), so the plan is made as if they were gone already.
    orphans = find_orphans(conn)
    state = ActualState()
    state.runtimes = dict(conn.execute(select(t.runtime.c.ref, t.runtime.c.id)).all())
    state.packs = _packs(conn)
    state.triggers = _without(_triggers(conn), orphans.of("trigger"))
    state.sensors = _without(_sensors(conn), orphans.of("sensor"))
    state.actions = _without(_actions(conn), orphans.of("action"))
    state.rules = _without(_rules(conn), orphans.of("rule"))
    state.runtime_rows = _runtimes(conn)
    state.managed = _managed(conn)
    state.action_counts = _counts_by_pack(conn, t.action)
    state.rule_counts = _counts_by_pack(conn, t.rule)
    state.rule_trigger_refs = _rule_trigger_refs(conn, orphans.of("rule"))
    state.rule_action_packs = _rule_action_packs(conn, orphans.of("rule"))
    state.overrides = load_overrides(conn)
    return state


def _without(rows: dict[str, ActualObject], ids: set[int]) -> dict[str, ActualObject]:
    if not ids:
        return rows
    return {ref: row for ref, row in rows.items() if row.id not in ids}


def _values(row: Row[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    mapping = row._mapping
    return {name: mapping[name] for name in fields}


def _packs(conn: Connection, where: Where = None) -> dict[str, ActualObject]:
    columns = [t.pack.c.id, t.pack.c.ref, *(t.pack.c[name] for name in PACK_FIELDS)]
    return {
        row.ref: ActualObject(id=row.id, ref=row.ref, values=_values(row, PACK_FIELDS))
        for row in conn.execute(_filtered(select(*columns), where))
    }


def _filtered(query: Any, where: Where) -> Any:
    return query if where is None else query.where(where)


def _triggers(conn: Connection, where: Where = None) -> dict[str, ActualObject]:
    own = [name for name in TRIGGER_FIELDS if name != "pack_ref"]
    query = select(
        t.trigger.c.id,
        t.trigger.c.ref,
        t.trigger.c.pack.label("pack_id"),
        t.pack.c.ref.label("pack_ref"),
        *(t.trigger.c[name] for name in own),
    ).outerjoin(t.pack, t.trigger.c.pack == t.pack.c.id)
    return {
        row.ref: ActualObject(
            id=row.id, ref=row.ref, values=_values(row, TRIGGER_FIELDS), pack_id=row.pack_id
        )
        for row in conn.execute(_filtered(query, where))
    }


def _sensors(conn: Connection, where: Where = None) -> dict[str, ActualObject]:
    joined = {"pack_ref", "runtime_ref", "trigger_refs"}
    own = [name for name in SENSOR_FIELDS if name not in joined]
    query = (
        select(
            t.sensor.c.id,
            t.sensor.c.ref,
            t.sensor.c.pack.label("pack_id"),
            t.pack.c.ref.label("pack_ref"),
            t.runtime.c.ref.label("runtime_ref"),
            t.trigger.c.ref.label("trigger_ref"),
            *(t.sensor.c[name] for name in own),
        )
        .join(t.pack, t.sensor.c.pack == t.pack.c.id)
        .join(t.runtime, t.sensor.c.runtime == t.runtime.c.id)
        .join(t.trigger, t.sensor.c.trigger == t.trigger.c.id)
    )
    query = _filtered(query, where)
    links = _sensor_triggers(
        conn, None if where is None else query.with_only_columns(t.sensor.c.id)
    )
    found = {}
    for row in conn.execute(query):
        values = {"trigger_refs": links.get(row.id) or [row.trigger_ref]}
        values.update((name, row._mapping[name]) for name in SENSOR_FIELDS if name in row._mapping)
        ordered = {name: values[name] for name in SENSOR_FIELDS}
        found[row.ref] = ActualObject(id=row.id, ref=row.ref, values=ordered, pack_id=row.pack_id)
    return found


def _sensor_triggers(conn: Connection, sensors: Any = None) -> dict[int, list[str]]:
    """Sensor id -> the refs of the triggers it fires, in file order (of `sensors`, a query
    of sensor ids, when given)."""
    link = t.sensor_trigger
    query = (
        select(link.c.sensor, t.trigger.c.ref)
        .join(t.trigger, link.c.trigger == t.trigger.c.id)
        .order_by(link.c.sensor, link.c.position)
    )
    if sensors is not None:
        query = query.where(link.c.sensor.in_(sensors.scalar_subquery()))
    found: defaultdict[int, list[str]] = defaultdict(list)
    for sensor_id, trigger_ref in conn.execute(query):
        found[sensor_id].append(trigger_ref)
    return dict(found)


def _rows(
    query: Any, fields: tuple[str, ...], conn: Connection, where: Where = None
) -> dict[str, ActualObject]:
    return {
        row.ref: ActualObject(
            id=row.id, ref=row.ref, values=_values(row, fields), pack_id=row.pack_id
        )
        for row in conn.execute(_filtered(query, where))
    }


def _actions(conn: Connection, where: Where = None) -> dict[str, ActualObject]:
    a = t.action
    own = [name for name in ACTION_FIELDS if name not in ("pack_ref", "runtime_ref")]
    query = (
        select(
            a.c.id,
            a.c.ref,
            a.c.pack.label("pack_id"),
            t.pack.c.ref.label("pack_ref"),
            t.runtime.c.ref.label("runtime_ref"),
            *(a.c[name] for name in own),
        )
        .join(t.pack, a.c.pack == t.pack.c.id)
        .outerjoin(t.runtime, a.c.runtime == t.runtime.c.id)
    )
    return _rows(query, ACTION_FIELDS, conn, where)


def _rules(conn: Connection, where: Where = None) -> dict[str, ActualObject]:
    r = t.rule
    joined = ("pack_ref", "trigger_ref", "action_ref")
    own = [name for name in RULE_FIELDS if name not in joined]
    query = (
        select(
            r.c.id,
            r.c.ref,
            r.c.pack.label("pack_id"),
            t.pack.c.ref.label("pack_ref"),
            t.trigger.c.ref.label("trigger_ref"),
            t.action.c.ref.label("action_ref"),
            *(r.c[name] for name in own),
        )
        .join(t.pack, r.c.pack == t.pack.c.id)
        .join(t.trigger, r.c.trigger == t.trigger.c.id)
        .join(t.action, r.c.action == t.action.c.id)
    )
    return _rows(query, RULE_FIELDS, conn, where)


def _runtimes(conn: Connection) -> dict[str, ActualObject]:
    """Every runtime row; the built-in ones have no pack."""
    rt = t.runtime
    own = [name for name in RUNTIME_FIELDS if name != "pack_ref"]
    query = select(
        rt.c.id,
        rt.c.ref,
        rt.c.pack.label("pack_id"),
        t.pack.c.ref.label("pack_ref"),
        *(rt.c[name] for name in own),
    ).outerjoin(t.pack, rt.c.pack == t.pack.c.id)
    return _rows(query, RUNTIME_FIELDS, conn)


def _managed(conn: Connection, sources_of: Where = None) -> dict[str, ManagedInfo]:
    """Every managed pack; `sources_of`: only packs matching it have their sources read."""
    m = t.sync_managed_pack
    if sources_of is None:
        query = select(t.pack.c.ref, m.c.folder, m.c.content_hash, m.c.sources)
    else:
        query = select(t.pack.c.ref, m.c.folder, m.c.content_hash)
    query = query.join(t.pack, m.c.pack_id == t.pack.c.id)
    found = {
        row.ref: ManagedInfo(row.folder, row.content_hash, row._mapping.get("sources"))
        for row in conn.execute(query)
    }
    if sources_of is not None:
        query = select(t.pack.c.ref, m.c.sources).join(t.pack, m.c.pack_id == t.pack.c.id)
        for row in conn.execute(query.where(sources_of)):
            found[row.ref].sources = row.sources
    return found


def _counts_by_pack(conn: Connection, table: Any) -> dict[str, int]:
    query = (
        select(t.pack.c.ref, func.count(table.c.id))
        .join(t.pack, table.c.pack == t.pack.c.id)
        .group_by(t.pack.c.ref)
    )
    return dict(conn.execute(query).all())


def _rule_trigger_refs(conn: Connection, skip: set[int]) -> dict[str, list[tuple[str, str | None]]]:
    r = t.rule
    query = (
        select(t.trigger.c.ref.label("trigger_ref"), r.c.ref, t.pack.c.ref.label("pack_ref"))
        .join(t.trigger, r.c.trigger == t.trigger.c.id)
        .outerjoin(t.pack, r.c.pack == t.pack.c.id)
        .where(r.c.id.not_in(skip))
        .order_by(t.trigger.c.ref, r.c.ref)
    )
    found: defaultdict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for row in conn.execute(query):
        found[row.trigger_ref].append((row.ref, row.pack_ref))
    return dict(found)


def _rule_action_packs(conn: Connection, skip: set[int]) -> dict[str, list[tuple[str, str | None]]]:
    r = t.rule
    action_pack = t.pack.alias("action_pack")
    rule_pack = t.pack.alias("rule_pack")
    query = (
        select(action_pack.c.ref.label("action_pack"), r.c.ref, rule_pack.c.ref.label("pack_ref"))
        .join(t.action, r.c.action == t.action.c.id)
        .join(action_pack, t.action.c.pack == action_pack.c.id)
        .outerjoin(rule_pack, r.c.pack == rule_pack.c.id)
        .where(r.c.id.not_in(skip))
        .order_by(action_pack.c.ref, r.c.ref)
    )
    found: defaultdict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for row in conn.execute(query):
        found[row.action_pack].append((row.ref, row.pack_ref))
    return dict(found)
