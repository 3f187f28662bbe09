"""API overrides of `enabled` on triggers and sensors the sync manages from files.

An operator may disable a noisy sensor through the API at 3 a.m. even though a file owns
it. The override records what the file said at that moment (`file_enabled`); every sync
keeps the operator's value while the file still says the same, and the override ends as
soon as the file's author changes `enabled` (the file takes control back). Pure: the
planner calls `keep_overrides` on each pack it compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from .model import JSON, ActualState, ComponentKind, PackBundle, Plan, SensorSpec, TriggerSpec

_Spec = TypeVar("_Spec", TriggerSpec, SensorSpec)


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


def keep_overrides(bundle: PackBundle, actual: ActualState, plan: Plan) -> PackBundle:
    """`bundle` with the overrides that still hold applied; ended ones are noted in `plan`."""
    if not actual.overrides:
        return bundle
    triggers = _apply("trigger", bundle.triggers, actual, plan)
    sensors = _apply("sensor", bundle.sensors, actual, plan)
    if triggers is bundle.triggers and sensors is bundle.sensors:
        return bundle
    return replace(bundle, triggers=dict(triggers), sensors=dict(sensors))


def _apply(
    kind: ComponentKind, specs: Mapping[str, _Spec], actual: ActualState, plan: Plan
) -> Mapping[str, _Spec]:
    changed: dict[str, _Spec] | None = None
    for ref, spec in specs.items():
        override = actual.overrides.get((kind, ref))
        if override is None:
            continue
        if spec.enabled != override.file_enabled:
            plan.ended_overrides.append((kind, ref))
            continue
        plan.overrides_kept.append(override)
        if spec.enabled != override.enabled:
            if changed is None:
                changed = dict(specs)
            changed[ref] = replace(spec, enabled=override.enabled)
    return specs if changed is None else changed
