"""Plan: desired state + actual state -> the ordered changes that make one equal the other.

Pure: no I/O. Objects are paired by ref (never by folder or id). The rules that keep a
broken or missing source from deleting anything live here, where they can be tested alone:

* a pack that is invalid stays exactly as the database has it, and so does anything of its
  that other packs need;
* only packs the sync manages are deleted, and only when their folder is really gone;
* a delete that would break a reference held by something that stays is held back;
* deleting more than a share of the managed packs needs an explicit `allow_mass_delete`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from .flatschema import mask_secrets
from .holds import delete_changes, hold_back_broken_references, keep_moved_components, ordered
from .model import (
    COMPONENT_KINDS,
    FIELDS_BY_KIND,
    ActualObject,
    ActualState,
    Change,
    DesiredState,
    FieldChange,
    HeldBack,
    Kind,
    ManagedInfo,
    PackBundle,
    Plan,
)
from .runtimes import RuntimeIndex, split_constraint
from .settle import settle, settle_references

__all__ = ["PlanOptions", "json_equal", "make_plan", "settle_references"]

DEFAULT_MAX_DELETE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class PlanOptions:
    allow_mass_delete: bool = False
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    """Deleting more than this share of the managed packs (or all of them) is refused."""


def make_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Collection[str] | None = None,
) -> Plan:
    """The ordered changes that make `actual` equal `desired`.

    `scope` limits the comparison to those pack refs (a caller that knows the other packs
    are unchanged on both sides); references are still checked across the whole tree.
    """
    options = options or PlanOptions()
    settled = settle(desired, actual)
    valid, invalid = settled.valid, settled.invalid
    plan = Plan(invalid=invalid, warnings=list(desired.warnings) + settled.warnings)
    kept_refs = settled.kept
    # An unreadable pack.yaml hides its ref; the folder it was last synced from still tells.
    known_folders = {info.folder for info in actual.managed.values()}
    unknown_folders = [
        pack.folder for pack in invalid if pack.ref is None and pack.folder not in known_folders
    ]

    upserts: list[Change] = []
    deletes: dict[Kind, set[str]] = {"pack": set()}
    deletes.update((kind, set()) for kind in COMPONENT_KINDS)
    compared = sorted(valid) if scope is None else sorted(set(scope) & valid.keys())
    for ref in compared:
        bundle = valid[ref]
        upserts.extend(_pack_changes(bundle, actual, plan, settled.runtimes))
        _component_changes(bundle, actual, upserts, deletes, settled.runtimes)

    candidates = actual.managed if scope is None else set(scope) & actual.managed.keys()
    doomed = [ref for ref in candidates if ref not in valid and ref not in kept_refs]
    held: list[HeldBack] = []
    if doomed and unknown_folders:
        reason = (
            "a pack folder could not be read well enough to tell its ref "
            f"({', '.join(sorted(unknown_folders))}); it may be this pack, so no pack is deleted"
        )
        held.extend(HeldBack("delete", "pack", ref, reason) for ref in sorted(doomed))
        doomed = []
    if doomed and not options.allow_mass_delete:
        share = len(doomed) / len(actual.managed)
        if len(doomed) == len(actual.managed) or share > options.max_delete_share:
            reason = (
                f"would delete {len(doomed)} of {len(actual.managed)} managed packs "
                f"({share:.0%}, over the {options.max_delete_share:.0%} limit); "
                "check the packs folder, or pass --allow-mass-delete"
            )
            held.extend(HeldBack("delete", "pack", ref, reason) for ref in sorted(doomed))
            doomed = []
    deletes["pack"].update(doomed)
    keep_moved_components(valid, deletes)
    held.extend(hold_back_broken_references(actual, upserts, deletes))
    plan.held_back = sorted(held, key=lambda item: (item.kind, item.ref))

    deleted_changes = delete_changes(actual, deletes)
    plan.changes = ordered(upserts) + deleted_changes
    return plan


# --------------------------------------------------------------------------- creates and updates


def _pack_changes(
    bundle: PackBundle, actual: ActualState, plan: Plan, runtimes: RuntimeIndex
) -> list[Change]:
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
        fields = _created_fields("pack", values, display, spec.conf_schema)
        return [
            Change(
                "create",
                "pack",
                spec.ref,
                spec.ref,
                fields,
                values,
                folder=folder,
                content_hash=content_hash,
            )
        ]
    schemas = (row.values.get("conf_schema"), spec.conf_schema)
    changed = _changed_fields("pack", row, values, display, schemas)
    if changed or managed is None:
        return [
            Change(
                "update",
                "pack",
                spec.ref,
                spec.ref,
                changed,
                {field.field: values[field.field] for field in changed},
                adopt=managed is None,
                folder=folder,
                content_hash=content_hash,
            )
        ]
    if managed.folder != bundle.folder or managed.content_hash != bundle.content_hash:
        plan.bookkeeping[spec.ref] = ManagedInfo(bundle.folder, bundle.content_hash)
    return []


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
    bundle: PackBundle,
    actual: ActualState,
    upserts: list[Change],
    deletes: dict[Kind, set[str]],
    runtimes: RuntimeIndex,
) -> None:
    pack_ref = bundle.pack.ref
    for kind in COMPONENT_KINDS:
        specs = bundle.components(kind)
        existing = actual.objects(kind)
        for ref in sorted(specs):
            values = _component_values(kind, specs[ref], runtimes)
            row = existing.get(ref)
            # A sensor's config holds values for its parameters: their secrets stay masked.
            schema = values.get("param_schema")
            if row is None:
                fields = _created_fields(kind, values, {}, schema)
                upserts.append(Change("create", kind, ref, pack_ref, fields, values))
                continue
            schemas = (row.values.get("param_schema"), schema)
            changed = _changed_fields(kind, row, values, {}, schemas)
            if changed:
                update = {change.field: values[change.field] for change in changed}
                upserts.append(Change("update", kind, ref, pack_ref, changed, update))
        for ref in actual.components_of(kind, pack_ref):
            if ref not in specs:
                deletes[kind].add(ref)


def _created_fields(
    kind: Kind, values: dict[str, Any], display: dict[str, Any], conf_schema: Any
) -> tuple[FieldChange, ...]:
    shown = []
    for name in FIELDS_BY_KIND[kind]:
        value = values[name]
        if value is None or value == [] or (name == "pack_ref"):
            continue
        if name in display:
            value = display[name](value)
        if name == "config":
            value = mask_secrets(value, conf_schema)
        shown.append(FieldChange(name, None, value))
    return tuple(shown)


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
            for schema in conf_schemas:
                old, new = mask_secrets(old, schema), mask_secrets(new, schema)
        changed.append(FieldChange(name, old, new))
    return tuple(changed)


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values that, unlike ==, tells true from 1.

    Numbers compare by value: JSON has one number type, and PostgreSQL's jsonb hands large
    floats back as integers, which must not read as a change on every run.
    """
    if type(left) is not type(right):
        numbers = (int, float)
        return (
            isinstance(left, numbers)
            and isinstance(right, numbers)
            and not isinstance(left, bool)
            and not isinstance(right, bool)
            and left == right
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
