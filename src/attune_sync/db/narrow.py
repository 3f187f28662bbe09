"""The database side of a narrowed plan (`attune_sync.narrow`).

A narrowed plan compares a few packs against a database a settled apply left. It needs those
packs' rows in full, every other component in outline (its ref and owner: what exists after
the run), and which other packs use what those few hold. Each is a handful of queries that
read no JSON column but the few the compared packs need.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from sqlalchemy import Connection, Table, or_, select

from attune_sync.db import schema as t
from attune_sync.db.overrides import load_overrides
from attune_sync.db.state import (
    Where,
    _actions,
    _counts_by_pack,
    _managed,
    _packs,
    _rule_action_packs,
    _rule_trigger_refs,
    _rules,
    _runtimes,
    _sensors,
    _triggers,
)
from attune_sync.model import ActualObject, ActualState, ComponentKind

Loader = Callable[[Connection, Where], dict[str, ActualObject]]

_LOADERS: tuple[tuple[ComponentKind, Table, Loader], ...] = (
    ("trigger", t.trigger, _triggers),
    ("sensor", t.sensor, _sensors),
    ("action", t.action, _actions),
    ("rule", t.rule, _rules),
)


def users_of(conn: Connection, packs: Collection[str]) -> set[str]:
    """Packs other than `packs` whose sensors or rules use a trigger or an action of theirs."""
    target, user = t.pack.alias("target_pack"), t.pack.alias("user_pack")
    s, r, st = t.sensor, t.rule, t.sensor_trigger
    uses = (
        # A sensor's first trigger, and every trigger it lists.
        (s, s.c.pack, t.trigger, s.c.trigger),
        (s.join(st, st.c.sensor == s.c.id), s.c.pack, t.trigger, st.c.trigger),
        (r, r.c.pack, t.trigger, r.c.trigger),
        (r, r.c.pack, t.action, r.c.action),
    )
    found: set[str] = set()
    wanted = sorted(packs)
    for users, owner, used, link in uses:
        query = (
            select(user.c.ref)
            .select_from(users)
            .join(user, owner == user.c.id)
            .join(used, link == used.c.id)
            .join(target, used.c.pack == target.c.id)
            .where(target.c.ref.in_(wanted))
            .distinct()
        )
        found.update(conn.execute(query).scalars())
    return found - set(packs)


def managed_folders(conn: Connection) -> dict[str, str]:
    """Managed pack ref -> the folder it was last applied from."""
    m = t.sync_managed_pack
    query = select(t.pack.c.ref, m.c.folder).join(t.pack, m.c.pack_id == t.pack.c.id)
    return {row.ref: row.folder for row in conn.execute(query)}


def owns_runtimes(conn: Connection, packs: Collection[str]) -> bool:
    """Whether any of `packs` holds a runtime (what every other pack resolves against)."""
    rt = t.runtime
    query = select(rt.c.id).join(t.pack, rt.c.pack == t.pack.c.id)
    return conn.execute(query.where(t.pack.c.ref.in_(sorted(packs))).limit(1)).first() is not None


def load_narrowed(
    conn: Connection,
    packs: Collection[str],
    declared: Mapping[ComponentKind, Collection[str]],
    schemas: Mapping[ComponentKind, Collection[str]],
) -> ActualState:
    """The database with `packs` in full, and every other managed pack in outline.

    `declared`: component refs the compared packs declare, loaded in full whoever owns them
    (a component that moves between packs). `schemas`: trigger and action refs whose
    parameter schema the compared packs' rules are checked against. Rows a managed pack left
    behind (`db.orphans`) are not looked for: a settled apply removed them, and any write
    since moves the change count that let the caller narrow at all.
    """
    in_packs = t.pack.c.ref.in_(sorted(packs))
    state = ActualState()
    state.runtimes = dict(conn.execute(select(t.runtime.c.ref, t.runtime.c.id)).all())
    state.packs = _packs(conn, in_packs)
    pack_refs = dict(conn.execute(select(t.pack.c.id, t.pack.c.ref)).all())
    for pack_id, ref in pack_refs.items():
        state.packs.setdefault(ref, ActualObject(pack_id, ref, {}))
    for kind, table, loader in _LOADERS:
        full = loader(conn, or_(in_packs, table.c.ref.in_(sorted(declared.get(kind, ())))))
        _add_outline(conn, table, full, schemas.get(kind, ()), pack_refs)
        setattr(state, f"{kind}s", full)
    state.runtime_rows = _runtimes(conn)
    state.managed = _managed(conn, sources_of=in_packs)
    state.action_counts = _counts_by_pack(conn, t.action)
    state.rule_counts = _counts_by_pack(conn, t.rule)
    state.rule_trigger_refs = _rule_trigger_refs(conn, set())
    state.rule_action_packs = _rule_action_packs(conn, set())
    state.overrides = load_overrides(conn)
    state.outline = frozenset(state.managed.keys() - set(packs))
    return state


def _add_outline(
    conn: Connection,
    table: Table,
    rows: dict[str, ActualObject],
    schemas: Collection[str],
    pack_refs: Mapping[int, str],
) -> None:
    """Every row of `table` not in `rows`, as its ref and owner (and the parameter schemas
    asked for), into `rows`. Tens of thousands of rows: owners are looked up here rather
    than joined, and nothing else is read."""
    query = select(table.c.id, table.c.ref, table.c.pack)
    for row_id, ref, pack in conn.execute(query).all():
        if ref not in rows:
            owner = pack_refs.get(pack) if pack is not None else None
            rows[ref] = ActualObject(row_id, ref, {"pack_ref": owner}, pack)
    if schemas:
        wanted = select(table.c.ref, table.c.param_schema).where(table.c.ref.in_(sorted(schemas)))
        for ref, schema in conn.execute(wanted):
            rows[ref].values.setdefault("param_schema", schema)
