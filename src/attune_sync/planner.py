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

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from .model import (
    COMPONENT_KINDS,
    FIELDS_BY_KIND,
    ActualObject,
    ActualState,
    Change,
    DesiredState,
    FieldChange,
    HeldBack,
    InvalidPack,
    Kind,
    ManagedInfo,
    PackBundle,
    Plan,
    Problem,
    SensorSpec,
    TriggerSpec,
)
from .overrides import keep_overrides
from .schemas import mask_secrets

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
    valid, invalid = settle_references(desired, actual)
    plan = Plan(invalid=invalid, warnings=list(desired.warnings))
    valid = keep_overrides(valid, actual, plan)
    kept_refs = _kept_pack_refs(invalid, actual)
    # An unreadable pack.yaml hides its ref; the folder it was last synced from still tells.
    known_folders = {info.folder for info in actual.managed.values()}
    unknown_folders = [
        pack.folder for pack in invalid if pack.ref is None and pack.folder not in known_folders
    ]

    upserts: list[Change] = []
    deletes: dict[Kind, set[str]] = {"pack": set(), "trigger": set(), "sensor": set()}
    compared = sorted(valid) if scope is None else sorted(set(scope) & valid.keys())
    for ref in compared:
        bundle = valid[ref]
        upserts.extend(_pack_changes(bundle, actual, plan))
        _component_changes(bundle, actual, upserts, deletes)

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
    _keep_moved_components(valid, deletes)
    held.extend(_hold_back_broken_references(actual, upserts, deletes))
    plan.held_back = sorted(held, key=lambda item: (item.kind, item.ref))

    deleted_changes = _delete_changes(actual, deletes)
    plan.changes = _ordered(upserts) + deleted_changes
    return plan


# --------------------------------------------------------------------------- references


def settle_references(
    desired: DesiredState, actual: ActualState
) -> tuple[dict[str, PackBundle], list[InvalidPack]]:
    """Split packs into those that can be applied and those that stay as they are.

    A pack is held as invalid when it references something that will not exist after the
    run, or claims a trigger or sensor that belongs to a pack the sync must leave alone.
    Making one pack invalid can strand a reference in another, so this runs to a fixpoint.
    """
    valid = dict(desired.packs)
    invalid = list(desired.invalid)
    while True:
        kept = _kept_pack_refs(invalid, actual)
        available = _available_triggers(valid, kept, actual)
        failed: list[InvalidPack] = []
        for ref in sorted(valid):
            problems = _reference_problems(valid[ref], valid, kept, available, actual)
            if problems:
                failed.append(InvalidPack(valid[ref].folder, ref, tuple(problems)))
        if not failed:
            return valid, sorted(invalid, key=lambda pack: pack.folder)
        for pack in failed:
            del valid[pack.ref or ""]
            invalid.append(pack)


def _kept_pack_refs(invalid: Iterable[InvalidPack], actual: ActualState) -> set[str]:
    """Packs in the database that this run leaves exactly as they are."""
    kept = {pack.ref for pack in invalid if pack.ref is not None}
    kept |= {ref for ref in actual.packs if ref not in actual.managed}
    # The pack last synced from a folder that is now invalid stays too, whatever ref the
    # broken file declares: a broken pack never causes a deletion.
    broken = {pack.folder for pack in invalid}
    kept |= {ref for ref, info in actual.managed.items() if info.folder in broken}
    return kept


def _available_triggers(
    valid: dict[str, PackBundle], kept: set[str], actual: ActualState
) -> dict[str, str | None]:
    """Trigger ref -> owning pack ref, for every trigger that will exist after the run."""
    available: dict[str, str | None] = {}
    for ref, trigger in actual.triggers.items():
        owner = trigger.values.get("pack_ref")
        if owner is None or owner in kept:
            available[ref] = owner
    for bundle in valid.values():
        for ref in bundle.triggers:
            available[ref] = bundle.pack.ref
    return available


def _reference_problems(
    bundle: PackBundle,
    valid: dict[str, PackBundle],
    kept: set[str],
    available: dict[str, str | None],
    actual: ActualState,
) -> list[Problem]:
    problems: list[Problem] = []
    pack_file = f"{bundle.folder}/pack.yaml"
    for index, runtime in enumerate(bundle.pack.runtime_deps):
        if runtime not in actual.runtimes:
            problems.append(
                Problem(
                    pack_file,
                    f"unknown runtime {runtime!r}",
                    field=f"runtime_deps[{index}]",
                    hint=f"known runtimes: {', '.join(sorted(actual.runtimes))}",
                )
            )
    for sensor in bundle.sensors.values():
        if sensor.runtime_ref not in actual.runtimes:
            problems.append(
                Problem(
                    sensor.source,
                    f"unknown runtime {sensor.runtime_ref!r}",
                    field="runtime_ref",
                    hint=f"known runtimes: {', '.join(sorted(actual.runtimes))}",
                )
            )
        if sensor.trigger_ref not in available:
            problems.append(
                Problem(
                    sensor.source,
                    f"trigger {sensor.trigger_ref!r} does not exist"
                    + _why_missing(sensor.trigger_ref, actual),
                    field="trigger_ref",
                    hint="define it in a pack's triggers/ folder, or fix the ref",
                )
            )
    for kind, specs in (("trigger", bundle.triggers), ("sensor", bundle.sensors)):
        existing = actual.triggers if kind == "trigger" else actual.sensors
        for ref, spec in specs.items():
            row = existing.get(ref)
            if row is None:
                continue
            owner = row.values.get("pack_ref")
            # Taking over is fine from a pack this run applies or deletes, never from one
            # that stays as it is (unmanaged, or invalid).
            if owner == bundle.pack.ref or owner in valid:
                continue
            if owner in actual.managed and owner not in kept:
                continue
            if owner is None:
                whose = "no pack (it is system-wide)"
            elif owner in actual.managed:
                whose = f"pack {owner!r}, which is invalid and stays as it is"
            else:
                whose = f"pack {owner!r}, which attune-sync does not manage"
            problems.append(
                Problem(
                    spec.source,
                    f"{kind} {ref!r} already exists in the database and belongs to {whose}",
                    field="ref",
                    hint="choose another ref, or remove the existing one through the API",
                )
            )
    return problems


def _why_missing(trigger_ref: str, actual: ActualState) -> str:
    row = actual.triggers.get(trigger_ref)
    if row is None:
        return " in the packs folder or the database"
    return f" after this run: its pack {row.values.get('pack_ref')!r} is being removed or changed"


# --------------------------------------------------------------------------- creates and updates


def _pack_changes(bundle: PackBundle, actual: ActualState, plan: Plan) -> list[Change]:
    spec = bundle.pack
    values: dict[str, Any] = {
        "label": spec.label,
        "description": spec.description,
        "version": spec.version,
        "conf_schema": spec.conf_schema,
        "config": spec.config,
        "meta": spec.meta,
        "tags": list(spec.tags),
        "runtime_deps": [actual.runtimes[ref] for ref in spec.runtime_deps],
        "is_standard": spec.is_standard,
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
                {field.field: values[field.field] for field in changed},
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


def _pack_display(actual: ActualState) -> dict[str, Any]:
    names = {runtime_id: ref for ref, runtime_id in actual.runtimes.items()}
    return {"runtime_deps": lambda ids: [names.get(i, i) for i in ids]}


def _component_values(kind: Kind, spec: TriggerSpec | SensorSpec) -> dict[str, Any]:
    """The compared fields of a trigger or sensor: the spec's attributes of the same names."""
    return {name: getattr(spec, name) for name in FIELDS_BY_KIND[kind]}


def _component_changes(
    bundle: PackBundle,
    actual: ActualState,
    upserts: list[Change],
    deletes: dict[Kind, set[str]],
) -> None:
    pack_ref = bundle.pack.ref
    wanted: dict[Kind, dict[str, dict[str, Any]]] = {
        "trigger": {ref: _component_values("trigger", s) for ref, s in bundle.triggers.items()},
        "sensor": {ref: _component_values("sensor", s) for ref, s in bundle.sensors.items()},
    }
    for kind, specs in wanted.items():
        existing = actual.objects(kind)
        for ref in sorted(specs):
            values = specs[ref]
            row = existing.get(ref)
            if row is None:
                fields = _created_fields(kind, values, {}, None)
                upserts.append(Change("create", kind, ref, pack_ref, fields, values))
                continue
            changed = _changed_fields(kind, row, values, {}, None)
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


# --------------------------------------------------------------------------- deletes


def _keep_moved_components(valid: dict[str, PackBundle], deletes: dict[Kind, set[str]]) -> None:
    """A trigger or sensor that moved to another pack is updated there, never deleted."""
    for kind in COMPONENT_KINDS:
        if deletes[kind]:
            declared = set().union(
                *((b.triggers if kind == "trigger" else b.sensors).keys() for b in valid.values())
            )
            deletes[kind] -= declared


def _hold_back_broken_references(
    actual: ActualState, upserts: list[Change], deletes: dict[Kind, set[str]]
) -> list[HeldBack]:
    """Hold back deletes of triggers that something staying in the database still uses."""
    if not deletes["trigger"] and not deletes["pack"]:
        return []
    retargeted = {
        change.ref
        for change in upserts
        if change.kind == "sensor" and change.values and "trigger_ref" in change.values
    }
    sensors_by_trigger: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for ref, row in actual.sensors.items():
        sensors_by_trigger[row.values["trigger_ref"]].append((ref, row.values.get("pack_ref")))

    def users(trigger_ref: str) -> list[str]:
        gone_packs = deletes["pack"]
        found = [
            f"sensor {ref!r}"
            for ref, pack in sensors_by_trigger.get(trigger_ref, ())
            if pack not in gone_packs and ref not in deletes["sensor"] and ref not in retargeted
        ]
        found += [
            f"rule {rule!r}"
            for rule, pack in actual.rule_trigger_refs.get(trigger_ref, ())
            if pack not in gone_packs
        ]
        return found

    held: list[HeldBack] = []
    for ref in sorted(deletes["trigger"]):
        found = users(ref)
        if found:
            deletes["trigger"].discard(ref)
            held.append(HeldBack("delete", "trigger", ref, _still_used(found)))
    # Keeping a pack keeps its sensors, which can keep another pack's trigger: to a fixpoint.
    while True:
        stuck: dict[str, str] = {}
        for pack_ref in sorted(deletes["pack"]):
            rules = [
                f"rule {rule!r}"
                for rule, pack in actual.rule_action_packs.get(pack_ref, ())
                if pack not in deletes["pack"]
            ]
            if rules:
                stuck[pack_ref] = "its actions: " + _still_used(rules)
                continue
            for ref in sorted(actual.components_of("trigger", pack_ref)):
                found = users(ref)
                if found:
                    stuck[pack_ref] = f"its trigger {ref!r}: " + _still_used(found)
                    break
        if not stuck:
            return held
        for pack_ref, reason in stuck.items():
            deletes["pack"].discard(pack_ref)
            held.append(HeldBack("delete", "pack", pack_ref, reason))


def _still_used(users: list[str]) -> str:
    shown = ", ".join(sorted(users)[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
    return f"still used by {shown}, which stays"


def _delete_changes(actual: ActualState, deletes: dict[Kind, set[str]]) -> list[Change]:
    changes: list[Change] = []
    gone_packs = deletes["pack"]
    components: tuple[Kind, ...] = ("sensor", "trigger")
    for kind in components:
        for ref in sorted(deletes[kind]):
            row = actual.objects(kind)[ref]
            if row.values.get("pack_ref") in gone_packs:
                continue  # the pack's cascade removes it
            changes.append(Change("delete", kind, ref, row.values.get("pack_ref")))
    for ref in sorted(gone_packs):
        cascade = {
            "triggers": len(actual.components_of("trigger", ref)),
            "sensors": len(actual.components_of("sensor", ref)),
            "actions": actual.action_counts.get(ref, 0),
            "rules": actual.rule_counts.get(ref, 0),
        }
        changes.append(Change("delete", "pack", ref, ref, cascade=cascade))
    return changes


_ORDER = {"pack": 0, "trigger": 1, "sensor": 2}


def _ordered(upserts: list[Change]) -> list[Change]:
    """Packs before the triggers they hold, triggers before the sensors that fire them."""
    return sorted(upserts, key=lambda change: (_ORDER[change.kind], change.ref))
