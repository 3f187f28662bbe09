"""Every API write: checks in the seeds' order, then one statement set in the caller's
transaction (`db.write_transaction`). Objects the sync manages from files are refused with
the file to edit; enabling or disabling them is recorded as an override instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, update
from sqlalchemy.exc import DataError, IntegrityError, StatementError

from attune_sync.db import schema as t
from attune_sync.db.overrides import clear_override, load_override, set_override
from attune_sync.model import ComponentKind
from attune_sync.overrides import Override
from attune_sync.planner import json_equal

from . import queries as q
from .errors import ApiError, already_exists, managed, not_found, validation_failed
from .validation import check_config, check_create, check_update

Row = dict[str, Any]

_PACK_DEFAULTS: dict[str, Any] = {
    "version": None,
    "conf_schema": None,
    "config": None,
    "meta": None,
    "tags": [],
    "runtime_deps": [],
    "is_standard": False,
}
_COMPONENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "trigger": {
        "pack_ref": None,
        "description": None,
        "enabled": True,
        "param_schema": None,
        "out_schema": None,
    },
    "sensor": {"enabled": True, "param_schema": None},
}


@contextmanager
def _refusals(kind: str, ref: str) -> Iterator[None]:
    """What the database refuses becomes a 400 or 409 in the seeds' shape, never a 500."""
    try:
        yield
    except IntegrityError as error:
        raise ApiError(
            409, f"{kind.capitalize()} '{ref}' conflicts with the database: {_reason(error)}"
        ) from error
    except (DataError, ValueError) as error:
        raise validation_failed(
            {"body": [f"The database refused a value: {_reason(error)}"]}
        ) from error
    except StatementError as error:
        if isinstance(error.orig, ValueError | TypeError):
            raise validation_failed(
                {"body": [f"The database refused a value: {_reason(error)}"]}
            ) from error
        raise


def _reason(error: Exception) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def insert_row(conn: Connection, kind: str, ref: str, row: Row) -> None:
    table = t.metadata.tables[kind]
    nested = conn.begin_nested()
    try:
        with _refusals(kind, ref):
            conn.execute(insert(table).values(**row))
    except ApiError:
        nested.rollback()
        # A concurrent create of the same ref committed first: the seeds' 409.
        if q.id_of(conn, kind, ref) is not None:
            raise already_exists(kind, ref) from None
        raise
    nested.commit()


def _changed(current: Row, values: Row) -> Row:
    return {
        name: value for name, value in values.items() if not json_equal(current.get(name), value)
    }


def _runtime_ids_exist(conn: Connection, ids: list[int] | None) -> None:
    missing = sorted(set(ids or ()) - q.runtime_ids(conn))
    if missing:
        raise ApiError(404, f"Runtime {', '.join(map(str, missing))} not found")


# --------------------------------------------------------------------------- packs


def create_pack(conn: Connection, body: Any, now: datetime) -> Row:
    values = check_create("pack", body)
    ref = values["ref"]
    if q.id_of(conn, "pack", ref) is not None:
        raise already_exists("pack", ref)
    row = {**_PACK_DEFAULTS, **values, "created": now, "updated": now}
    for name in ("tags", "runtime_deps"):
        row[name] = row[name] if row[name] is not None else []
    _runtime_ids_exist(conn, row["runtime_deps"])
    insert_row(conn, "pack", ref, row)
    return _get(conn, "pack", ref)


def _managed_pack_row(conn: Connection, ref: str) -> Row:
    row = q.get_by_ref(conn, "pack", ref)
    if row is None:
        raise not_found("pack", ref)
    owner = q.managed_pack(conn, row["id"])
    if owner is not None:
        raise managed("pack", ref, owner.path("pack", ref))
    return row


def update_pack(conn: Connection, ref: str, body: Any, now: datetime) -> Row:
    current = _managed_pack_row(conn, ref)
    values = check_update("pack", body)
    for name in ("tags", "runtime_deps"):
        if name in values and values[name] is None:
            values[name] = []
    if "config" in values or "conf_schema" in values:
        merged = {**current, **values}
        check_config(merged.get("config"), merged.get("conf_schema"))
    _runtime_ids_exist(conn, values.get("runtime_deps"))
    changed = _changed(current, values)
    if changed:
        with _refusals("pack", ref):
            conn.execute(
                update(t.pack).where(t.pack.c.id == current["id"]).values(**changed, updated=now)
            )
    return _get(conn, "pack", ref)


def delete_pack(conn: Connection, ref: str) -> None:
    current = _managed_pack_row(conn, ref)
    users = q.users_of_pack(conn, current["id"])
    if users:
        raise ApiError(
            409,
            f"Pack '{ref}' cannot be deleted: its triggers or actions are still used by "
            f"{', '.join(users)} outside it; delete or change those first",
        )
    with _refusals("pack", ref):
        conn.execute(delete(t.pack).where(t.pack.c.id == current["id"]))


# --------------------------------------------------------------------------- triggers, sensors


def pack_for_create(conn: Connection, kind: str, pack_ref: str | None) -> int | None:
    if pack_ref is None:
        return None
    pack_id = q.id_of(conn, "pack", pack_ref)
    if pack_id is None:
        raise not_found("pack", pack_ref)
    owner = q.managed_pack(conn, pack_id)
    if owner is not None:
        path = owner.path("pack", pack_ref)
        raise ApiError(
            409,
            f"Pack '{pack_ref}' is managed from files; add the {kind} as a file under "
            f"{owner.folder}/{kind}s/ instead",
            {"path": path},
        )
    return pack_id


def create_component(conn: Connection, kind: str, body: Any, now: datetime) -> Row:
    values = check_create(kind, body)
    ref = values["ref"]
    row: Row = {**_COMPONENT_DEFAULTS[kind], **values, "created": now, "updated": now}
    row["pack"] = pack_for_create(conn, kind, row["pack_ref"])
    if kind == "sensor":
        for name in ("runtime", "trigger"):
            found = q.id_of(conn, name, row[f"{name}_ref"])
            if found is None:
                raise not_found(name, row[f"{name}_ref"])
            row[name] = found
    if q.id_of(conn, kind, ref) is not None:
        raise already_exists(kind, ref)
    insert_row(conn, kind, ref, row)
    if kind == "sensor":
        # The seeds' sensor fires one trigger: the first (and only) entry of its list.
        sensor_id = q.id_of(conn, "sensor", ref)
        conn.execute(
            insert(t.sensor_trigger).values(
                sensor=sensor_id,
                sensor_ref=ref,
                trigger=row["trigger"],
                trigger_ref=row["trigger_ref"],
                position=0,
            )
        )
    return _get(conn, kind, ref)


def _component_row(conn: Connection, kind: str, ref: str) -> tuple[Row, q.Managed | None]:
    row = q.get_by_ref(conn, kind, ref)
    if row is None:
        raise not_found(kind, ref)
    return row, q.managed_pack(conn, row["pack"])


def update_component(
    conn: Connection, kind: str, ref: str, body: Any, now: datetime, who: str
) -> Row:
    current, owner = _component_row(conn, kind, ref)
    if owner is not None:
        if (
            isinstance(body, dict)
            and set(body) == {"enabled"}
            and isinstance(body["enabled"], bool)
        ):
            return set_enabled(conn, kind, ref, body["enabled"], now, who)
        raise managed(kind, ref, owner.path(kind, ref))
    values = check_update(kind, body)
    changed = _changed(current, values)
    if changed:
        table = t.metadata.tables[kind]
        with _refusals(kind, ref):
            conn.execute(
                update(table).where(table.c.id == current["id"]).values(**changed, updated=now)
            )
    return _get(conn, kind, ref)


def set_enabled(
    conn: Connection, kind: str, ref: str, enabled: bool, now: datetime, who: str
) -> Row:
    """Enable or disable; on a managed object, as an override the syncs keep.

    The override remembers what the file said (the row's value when no override is in
    place: a sync made them equal). Setting the file's own value back ends the override.
    """
    current, owner = _component_row(conn, kind, ref)
    if owner is not None:
        before = load_override(conn, kind, ref)
        file_enabled = before.file_enabled if before is not None else bool(current["enabled"])
        if enabled == file_enabled:
            clear_override(conn, kind, ref)
        else:
            component: ComponentKind = "trigger" if kind == "trigger" else "sensor"
            set_override(conn, Override(component, ref, enabled, file_enabled, who, now))
    if bool(current["enabled"]) != enabled:
        table = t.metadata.tables[kind]
        conn.execute(
            update(table).where(table.c.id == current["id"]).values(enabled=enabled, updated=now)
        )
    return _get(conn, kind, ref)


def delete_component(conn: Connection, kind: str, ref: str) -> None:
    current, owner = _component_row(conn, kind, ref)
    if owner is not None:
        raise managed(kind, ref, owner.path(kind, ref))
    if kind == "trigger":
        users = q.users_of_trigger(conn, current["id"])
        if users:
            raise ApiError(
                409,
                f"Trigger '{ref}' cannot be deleted: it is still used by {', '.join(users)}; "
                "delete or change those first",
            )
    table = t.metadata.tables[kind]
    with _refusals(kind, ref):
        conn.execute(delete(table).where(table.c.id == current["id"]))
    clear_override(conn, kind, ref)


def _get(conn: Connection, kind: str, ref: str) -> Row:
    row = q.get_by_ref(conn, kind, ref)
    if row is None:  # pragma: no cover - written in this very transaction
        raise not_found(kind, ref)
    return row
