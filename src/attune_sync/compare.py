"""Creates and updates: what one pack's folder changes in the database, field by field.

Pure: no I/O. `compare_pack` pairs a valid pack (settled, overrides applied) with its rows
by ref and gives the pack's creates and updates (only the fields that changed, display
values with secrets wrapped), the components it no longer holds (deleted unless a guard or a
hold keeps them, in `planner`) and the bookkeeping of a pack whose files changed without a
field change. `json_equal` is the one equality of stored values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .flatschema import hide_secrets
from .model import (
    COMPONENT_KINDS,
    FIELDS_BY_KIND,
    ActualObject,
    ActualState,
    Change,
    FieldChange,
    Kind,
    ManagedInfo,
    PackBundle,
    created_fields,
)
from .runtimes import RuntimeIndex, split_constraint


@dataclass(frozen=True, slots=True)
class PackDiff:
    """One pack compared with the database."""

    upserts: list[Change]
    """The pack's create or update first, then its components', kind by kind, by ref."""
    deletes: dict[Kind, frozenset[str]]
    """Per component kind: the pack's rows its folder no longer declares."""
    bookkeeping: ManagedInfo | None
    """The pack's new folder and content hash when no field changed but they did."""


def compare_pack(bundle: PackBundle, actual: ActualState, runtimes: RuntimeIndex) -> PackDiff:
    pack, bookkeeping = _pack_changes(bundle, actual, runtimes)
    components, deletes = _component_changes(bundle, actual, runtimes)
    return PackDiff(pack + components, deletes, bookkeeping)


def _pack_changes(
    bundle: PackBundle, actual: ActualState, runtimes: RuntimeIndex
) -> tuple[list[Change], ManagedInfo | None]:
    """The pack's own create or update; else, when only its files moved or changed in ways
    no field shows, the bookkeeping that records its folder and content hash."""
    spec = bundle.pack
    values: dict[str, Any] = {
        "label": spec.label,
        "description": spec.description,
        "version": spec.version,
        "conf_schema": spec.conf_schema,
        "config": spec.config,
        "meta": spec.meta,
        "tags": list(spec.tags),
        "runtime_deps": [_runtime_id(entry, actual, runtimes) for entry in spec.runtime_deps],
        "is_standard": spec.is_standard,
        "runtime_constraints": _constraints(spec.runtime_deps),
    }
    display = _pack_display(actual)
    row = actual.packs.get(spec.ref)
    managed = actual.managed.get(spec.ref)
    folder, content_hash = bundle.folder, bundle.content_hash
    if row is None:
        _hide_config(values, spec.conf_schema)
        fields = created_fields("pack", values, display)
        create = Change(
            "create",
            "pack",
            spec.ref,
            spec.ref,
            fields,
            values,
            folder=folder,
            content_hash=content_hash,
            sources=bundle.sources(),
        )
        return [create], None
    schemas = (row.values.get("conf_schema"), spec.conf_schema)
    changed = _changed_fields("pack", row, values, display, schemas)
    if changed or managed is None:
        update = Change(
            "update",
            "pack",
            spec.ref,
            spec.ref,
            changed,
            _updated_values(changed, values),
            adopt=managed is None,
            folder=folder,
            content_hash=content_hash,
            sources=bundle.sources(),
        )
        return [update], None
    if (
        managed.folder != bundle.folder
        or managed.content_hash != bundle.content_hash
        or managed.sources is None
    ):
        return [], ManagedInfo(bundle.folder, bundle.content_hash, bundle.sources())
    return [], None


def runtime_moved(
    valid: Mapping[str, PackBundle], actual: ActualState, runtimes: RuntimeIndex
) -> set[str]:
    """Packs whose sensors or actions now resolve to another runtime than the database holds."""
    moved = set()
    for ref, bundle in valid.items():
        for kind, specs in (("sensor", bundle.sensors), ("action", bundle.actions)):
            rows = actual.objects(kind)  # type: ignore[arg-type]
            for component, spec in specs.items():
                row = rows.get(component)
                if row is None or spec.runtime_ref is None:
                    continue
                if runtimes.resolve(spec.runtime_ref) != row.values.get("runtime_ref"):
                    moved.add(ref)
    return moved


def _runtime_id(entry: str, actual: ActualState, runtimes: RuntimeIndex) -> int | str:
    """The id of the runtime a runtime_deps entry names; its ref while the run creates it."""
    ref = runtimes.resolve(split_constraint(entry)[0])
    assert ref is not None, "settle keeps packs with unknown runtimes out"
    return actual.runtimes.get(ref, ref)


def _constraints(runtime_deps: tuple[str, ...]) -> list[str] | None:
    """Each entry's version constraint, as written; None when no entry has one."""
    found = [split_constraint(entry)[1] for entry in runtime_deps]
    return found if any(found) else None


def _pack_display(actual: ActualState) -> dict[str, Any]:
    names = {runtime_id: ref for ref, runtime_id in actual.runtimes.items()}
    return {"runtime_deps": lambda ids: [names.get(i, i) for i in ids]}


def _component_values(kind: Kind, spec: Any, runtimes: RuntimeIndex) -> dict[str, Any]:
    """The compared fields of a component: the spec's attributes of the same names."""
    values = {name: getattr(spec, name) for name in FIELDS_BY_KIND[kind]}
    for name, value in values.items():
        if isinstance(value, tuple):
            values[name] = list(value)
    if kind in ("sensor", "action") and spec.runtime_ref is not None:
        values["runtime_ref"] = runtimes.resolve(spec.runtime_ref)
    return values


def _component_changes(
    bundle: PackBundle, actual: ActualState, runtimes: RuntimeIndex
) -> tuple[list[Change], dict[Kind, frozenset[str]]]:
    """Creates and updates of the pack's components; the refs of those it no longer holds."""
    pack_ref = bundle.pack.ref
    upserts: list[Change] = []
    deletes: dict[Kind, frozenset[str]] = {}
    for kind in COMPONENT_KINDS:
        specs = bundle.components(kind)
        existing = actual.objects(kind)
        for ref in sorted(specs):
            values = _component_values(kind, specs[ref], runtimes)
            row = existing.get(ref)
            # A sensor's config holds values for its parameters: their secrets stay masked.
            schema = values.get("param_schema")
            if row is None:
                _hide_config(values, schema)  # `Change.shown` derives the fields from values
                upserts.append(Change("create", kind, ref, pack_ref, (), values))
                continue
            schemas = (row.values.get("param_schema"), schema)
            changed = _changed_fields(kind, row, values, {}, schemas)
            if changed:
                update = _updated_values(changed, values)
                upserts.append(Change("update", kind, ref, pack_ref, changed, update))
        deletes[kind] = frozenset(
            ref for ref in actual.components_of(kind, pack_ref) if ref not in specs
        )
    return upserts, deletes


def _hide_config(values: dict[str, Any], conf_schema: Any) -> None:
    """Wrap the config's secrets in place: one copy, and what a change shows is what it
    carries (`written_values` unwraps them for the database)."""
    if values.get("config") is not None:
        values["config"] = hide_secrets(values["config"], conf_schema)


def _changed_fields(
    kind: Kind,
    row: ActualObject,
    values: dict[str, Any],
    display: dict[str, Any],
    conf_schemas: tuple[Any, Any] | None,
) -> tuple[FieldChange, ...]:
    changed = []
    for name in FIELDS_BY_KIND[kind]:
        old, new = row.values.get(name), values[name]
        if json_equal(old, new):
            continue
        if name in display:
            old, new = display[name](old or []), display[name](new)
        if name == "config" and conf_schemas is not None:
            # A value secret under either schema stays hidden on both sides.
            for schema in conf_schemas:
                old, new = hide_secrets(old, schema), hide_secrets(new, schema)
        changed.append(FieldChange(name, old, new))
    return tuple(changed)


def _updated_values(changed: tuple[FieldChange, ...], values: dict[str, Any]) -> dict[str, Any]:
    """The changed fields' values; the config's is its display value, secrets wrapped."""
    return {f.field: f.new if f.field == "config" else values[f.field] for f in changed}


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values that, unlike ==, tells true from 1.

    Numbers compare by value as the database stores them: JSON has one number type, a float
    is written as its shortest decimal (`1e+23`), and PostgreSQL's jsonb keeps that decimal
    exactly and hands it back as the integer 100000000000000000000000, which is not the
    binary float 1e23 (99999999999999991611392) and must not read as a change on every run.
    """
    if type(left) is not type(right):
        numbers = (int, float)
        return (
            isinstance(left, numbers)
            and isinstance(right, numbers)
            and not isinstance(left, bool)
            and not isinstance(right, bool)
            and _stored_number(left) == _stored_number(right)
        )
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(
            json_equal(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


def _stored_number(number: float) -> Decimal:
    """The exact decimal a JSON column holds for `number` (floats are written by repr)."""
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
