"""API overrides of `enabled` on triggers and sensors the sync manages from files.

An operator may disable a noisy sensor through the API at 3 a.m. even though a file owns
it. The override records what the file said at that moment (`file_enabled`); every sync
keeps the operator's value while the file still says the same, and the override ends as
soon as the file's author changes `enabled` (the file takes control back). Pure: the
planner calls `keep_overrides` once, on the packs it may apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .model import JSON, ActualState, ComponentKind, PackBundle, Plan, SensorSpec, TriggerSpec


@dataclass(frozen=True, slots=True)
class Override:
    """An enable/disable of a managed trigger or sensor made through the API."""

    kind: ComponentKind
    ref: str
    enabled: bool
    file_enabled: bool
    """The file's `enabled` when the override was set; a file saying otherwise ends it."""
    set_by: str
    set_at: datetime

    def as_json(self) -> dict[str, JSON]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "enabled": self.enabled,
            "file_enabled": self.file_enabled,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat().replace("+00:00", "Z"),
        }

    def describe(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return (
            f"{self.kind} {self.ref}: {state} by {self.set_by} at {self.as_json()['set_at']} "
            f"(override; the file says enabled: {str(self.file_enabled).lower()})"
        )


def keep_overrides(
    valid: dict[str, PackBundle], actual: ActualState, plan: Plan
) -> dict[str, PackBundle]:
    """`valid` with the overrides that still hold applied to their packs' specs.

    Every override is noted in `plan`: kept (`overrides_kept`) or, when its file now says
    otherwise than when it was set, ended (`ended_overrides`, removed when the plan is
    applied). Cost follows the number of overrides, not the size of the tree.
    """
    if not actual.overrides:
        return valid
    changed: dict[str, PackBundle] = {}
    for (kind, ref), override in sorted(actual.overrides.items()):
        row = actual.objects("trigger" if kind == "trigger" else "sensor").get(ref)
        pack_ref = row.values.get("pack_ref") if row is not None else None
        bundle = changed.get(pack_ref) or valid.get(pack_ref) if pack_ref is not None else None
        specs: Mapping[str, TriggerSpec | SensorSpec] = (
            {} if bundle is None else bundle.triggers if kind == "trigger" else bundle.sensors
        )
        spec = specs.get(ref)
        if bundle is None or spec is None:
            # Its pack is not applied this run (invalid, unmanaged) or the object left it:
            # nothing to compare with, so the override stays as it is.
            plan.overrides_kept.append(override)
            continue
        if spec.enabled != override.file_enabled:
            plan.ended_overrides.append((kind, ref))
            continue
        plan.overrides_kept.append(override)
        if spec.enabled != override.enabled:
            changed[bundle.pack.ref] = _with_enabled(bundle, override)
    if not changed:
        return valid
    return {**valid, **changed}


def _with_enabled(bundle: PackBundle, override: Override) -> PackBundle:
    if override.kind == "trigger":
        triggers = dict(bundle.triggers)
        triggers[override.ref] = replace(triggers[override.ref], enabled=override.enabled)
        return replace(bundle, triggers=triggers)
    sensors = dict(bundle.sensors)
    sensors[override.ref] = replace(sensors[override.ref], enabled=override.enabled)
    return replace(bundle, sensors=sensors)
