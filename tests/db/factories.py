"""Hand-built plans and rows for the database tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from attune_sync.db import schema as t
from attune_sync.db.apply import ApplyResult, apply_plan
from attune_sync.db.state import load_actual
from attune_sync.model import ActualState, Change, Kind, Plan

T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
T1 = datetime(2024, 1, 16, 9, 0, tzinfo=UTC)


def pack_values(ref: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label": f"{ref} pack",
        "description": f"The {ref} pack",
        "version": "1.0.0",
        "conf_schema": {"type": "object", "properties": {"region": {"type": "string"}}},
        "config": {"region": "us-east-1"},
        "meta": {"author": "Attune Team", "license": "MIT"},
        "tags": ["aws", "cloud"],
        "runtime_deps": [2],
        "is_standard": False,
        "runtime_constraints": None,
    }
    values.update(over)
    return values


def trigger_values(pack_ref: str | None, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pack_ref": pack_ref,
        "label": "A trigger",
        "description": "Fires when something happens",
        "enabled": True,
        "param_schema": {"type": "object", "properties": {"url_path": {"type": "string"}}},
        "out_schema": None,
    }
    values.update(over)
    return values


def sensor_values(pack_ref: str, trigger_ref: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pack_ref": pack_ref,
        "label": "A sensor",
        "description": "Watches something",
        "entrypoint": "sensors/watch.py",
        "runtime_ref": "python3",
        "trigger_refs": [trigger_ref],
        "enabled": True,
        "param_schema": {"type": "object", "properties": {"threshold": {"type": "number"}}},
        "config": None,
    }
    values.update(over)
    return values


def create(kind: Kind, ref: str, values: dict[str, Any], **kw: Any) -> Change:
    return Change("create", kind, ref, values.get("pack_ref", ref), values=values, **kw)


def update(kind: Kind, ref: str, values: dict[str, Any], **kw: Any) -> Change:
    return Change("update", kind, ref, values.get("pack_ref"), values=values, **kw)


def delete(kind: Kind, ref: str) -> Change:
    return Change("delete", kind, ref, None)


def managed_pack(ref: str, **over: Any) -> Change:
    """A pack create as the planner emits it for a pack folder."""
    return create("pack", ref, pack_values(ref, **over), folder=ref, content_hash=f"h-{ref}")


def apply(engine: Engine, *changes: Change, now: datetime = T0, **plan_kw: Any) -> ApplyResult:
    with engine.begin() as conn:
        return apply_plan(conn, Plan(changes=list(changes), **plan_kw), now=now)


def actual(engine: Engine) -> ActualState:
    with engine.begin() as conn:
        return load_actual(conn)


def _id(conn: Connection, table: Any, ref: str) -> int:
    return int(conn.execute(select(table.c.id).where(table.c.ref == ref)).scalar_one())


def insert_action(conn: Connection, pack_ref: str, ref: str) -> int:
    """An action as the Attune API would create it; the sync never writes these."""
    return int(
        conn.execute(
            insert(t.action)
            .values(
                ref=ref,
                pack=_id(conn, t.pack, pack_ref),
                pack_ref=pack_ref,
                label=ref,
                entrypoint="actions/run.py",
                runtime=1,
            )
            .returning(t.action.c.id)
        ).scalar_one()
    )


def insert_rule(
    conn: Connection, pack_ref: str, ref: str, *, action_ref: str, trigger_ref: str
) -> int:
    return int(
        conn.execute(
            insert(t.rule)
            .values(
                ref=ref,
                pack=_id(conn, t.pack, pack_ref),
                pack_ref=pack_ref,
                label=ref,
                action=_id(conn, t.action, action_ref),
                action_ref=action_ref,
                trigger=_id(conn, t.trigger, trigger_ref),
                trigger_ref=trigger_ref,
            )
            .returning(t.rule.c.id)
        ).scalar_one()
    )


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
