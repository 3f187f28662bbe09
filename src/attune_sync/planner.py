"""Plan: desired state + actual state -> the ordered changes that make one equal the other.

Pure: no I/O. Objects are paired by ref (never by folder or id). The rules that keep a
broken or missing source from deleting anything live here, in `guards` and in `holds`,
where they can be tested alone:

* a pack that is invalid stays exactly as the database has it, and so does anything of its
  that other packs need;
* only packs the sync manages are deleted, and only when their folder is really gone;
* a pack made outside attune-sync is taken over only when `adopt` is asked for;
* the guards (`guards`) hold deletes while a folder's ref cannot be read, when there are too
  many at once, or when a pack would lose all its components; `holds` keeps what something
  staying still uses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import guards
from .flatschema import hide_secrets
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
from .overrides import keep_overrides
from .runtimes import RuntimeIndex, split_constraint
from .settle import Settled, kept_pack_refs, settle

__all__ = ["PlanOptions", "json_equal", "make_plan", "settle_for_plan"]

DEFAULT_MAX_DELETE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class PlanOptions:
    allow_mass_delete: bool = False
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    """Deleting more than this share of the managed packs or objects (or all) is refused."""
    adopt: bool = False
    """Take over a pack that exists in the database unmanaged when a folder declares its ref."""


def settle_for_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Collection[str] | None = None,
) -> Settled:
    """Settle `desired` as `make_plan(desired, actual, options, scope)` would: after the
    guards that decide which packs go, so a pack they hold keeps its components usable.

    Pass the result to `make_plan(..., settled=)` to plan without settling again.
    """
    options = options or PlanOptions()
    _, held = _guard_packs(desired, actual, options, scope)
    return settle(desired, actual, held={item.ref for item in held}, adopt=options.adopt)


def make_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Collection[str] | None = None,
    settled: Settled | None = None,
) -> Plan:
    """The ordered changes that make `actual` equal `desired`.

    `scope` limits the comparison to those pack refs (a caller that knows the other packs
    are unchanged on both sides); references are still checked across the whole tree.
    `settled`: `desired` already settled against `actual` by `settle_for_plan` with the same
    options and scope; without it, the plan settles it here (once either way).
    """
    options = options or PlanOptions()
    limits = guards.MassDeleteLimits(options.allow_mass_delete, options.max_delete_share)
    pack_deletes, held = _guard_packs(desired, actual, options, scope)
    held_refs = frozenset(item.ref for item in held)
    if settled is None:
        settled = settle(desired, actual, held=held_refs, adopt=options.adopt)
    elif (settled.held, settled.adopt, settled.database) != (held_refs, options.adopt, True):
        raise ValueError(
            "`settled` was settled with other holds or options than this plan's: "
            "make it with settle_for_plan(desired, actual, options, scope)"
        )
    valid, invalid = settled.valid, settled.invalid
    plan = Plan(
        invalid=invalid,
        warnings=list(desired.warnings) + settled.warnings,
        notes=list(desired.notes),
    )
    valid = keep_overrides(valid, actual, plan)

    upserts: list[Change] = []
    # A pack settled invalid keeps the pack last synced from its folder, whatever it declares.
    deletes: dict[Kind, set[str]] = {"pack": set(pack_deletes - settled.kept)}
    deletes.update((kind, set()) for kind in COMPONENT_KINDS)
    if scope is None:
        compared = sorted(valid)
    else:
        # A runtime that appeared or went elsewhere changes what an unchanged pack resolves to.
        moved = _runtime_moved(valid, actual, settled.runtimes)
        compared = sorted((set(scope) & valid.keys()) | moved)
    for ref in compared:
        bundle = valid[ref]
        upserts.extend(_pack_changes(bundle, actual, plan, settled.runtimes))
        _component_changes(bundle, actual, upserts, deletes, settled.runtimes)
    planned = keep_moved_components(valid, deletes)
    # What something staying still uses is kept first; the guards then weigh what would go.
    planned, still_used = hold_back_broken_references(actual, upserts, planned)
    planned, emptied = guards.emptied_pack_guard(planned, valid, actual, options.allow_mass_delete)
    planned, too_many = guards.mass_delete_guard(planned, actual, limits)
    held += still_used + emptied + too_many
    plan.held_back = sorted(held, key=lambda item: (item.kind, item.ref))
    plan.changes = ordered(upserts) + delete_changes(actual, planned)
    return plan


def _guard_packs(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions,
    scope: Collection[str] | None,
) -> tuple[frozenset[str], list[HeldBack]]:
    """The managed packs this plan deletes, and the holds of the guards that run first.

    Which packs go is known before references are settled (settling can only keep more of
    them): guard them first, so a pack held here is one others may still rely on.
    """
    limits = guards.MassDeleteLimits(options.allow_mass_delete, options.max_delete_share)
    candidates = actual.managed if scope is None else set(scope) & actual.managed.keys()
    kept_before = kept_pack_refs(desired.invalid, actual)
    doomed = frozenset(
        ref for ref in candidates if ref not in desired.packs and ref not in kept_before
    )
    doomed, held = guards.unknown_folder_guard(doomed, desired.invalid, actual)
    pack_deletes, mass_held = guards.mass_delete_guard(
        guards.deletes_of(pack=doomed), actual, limits
    )
    return frozenset(pack_deletes["pack"]), held + mass_held


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
                sources=bundle.sources(),
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
                _updated_values(changed, values),
                adopt=managed is None,
                folder=folder,
                content_hash=content_hash,
                sources=bundle.sources(),
            )
        ]
    if (
        managed.folder != bundle.folder
        or managed.content_hash != bundle.content_hash
        or managed.sources is None
    ):
        plan.bookkeeping[spec.ref] = ManagedInfo(
            bundle.folder, bundle.content_hash, bundle.sources()
        )
    return []


def _runtime_moved(
    valid: dict[str, PackBundle], actual: ActualState, runtimes: RuntimeIndex
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
                update = _updated_values(changed, values)
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
            # One copy, secrets wrapped: the display value is the value the change carries.
            value = values[name] = hide_secrets(value, conf_schema)
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
