"""Specs from checked documents: defaults, generated labels, qualified refs. Pure.

A document reaching here passed its kind's field checks (`fieldcheck`) and has canonical
keys; the stored values and defaults come from the kind's table (`fields.TABLES`).
"""

from __future__ import annotations

import posixpath
from typing import Any

from .fields import TABLES, FieldType
from .model import ActionSpec, PackSpec, RuleSpec, RuntimeSpec, SensorSpec, TriggerSpec


def generated_label(ref: str) -> str:
    """A label from a ref's last segment, as Attune makes one: `http_request` -> `Http Request`."""
    words = ref.rsplit(".", 1)[-1].split("_")
    return " ".join(word[:1].upper() + word[1:] for word in words if word)


def qualified(ref: str, pack_ref: str) -> str:
    """A short name (no dot) is qualified with the pack ref, as Attune does."""
    return ref if "." in ref else f"{pack_ref}.{ref}"


def stored_values(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The stored values of a checked document, by column, with the table's defaults."""
    values: dict[str, Any] = {}
    for spec_field in TABLES[kind].stored:
        name, default = spec_field.name, spec_field.default
        value = data.get(name, default)
        if value is None and default is not None:
            value = default  # an empty list field (`tags:`) is the default
        if spec_field.type == FieldType.STRING_LIST:
            value = (value,) if isinstance(value, str) else tuple(value or ())
        values[spec_field.column or name] = value
    return values


def _component(
    kind: str, data: dict[str, Any], ref: str, pack_ref: str, source: str
) -> dict[str, Any]:
    values = stored_values(kind, data)
    values.update(ref=ref, pack_ref=pack_ref, source=source)
    if "label" in values:
        values["label"] = values["label"] or generated_label(ref)
    return values


def pack_spec(data: dict[str, Any]) -> PackSpec:
    dependencies = tuple(data.get("dependencies") or ())
    return PackSpec(**stored_values("pack", data), dependencies=dependencies)


def trigger_spec(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> TriggerSpec:
    return TriggerSpec(**_component("trigger", data, ref, pack_ref, source))


def sensor_spec(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> SensorSpec:
    values = _component("sensor", data, ref, pack_ref, source)
    values["trigger_refs"] = tuple(
        dict.fromkeys(qualified(entry, pack_ref) for entry in values["trigger_refs"])
    )
    return SensorSpec(**values)


def action_spec(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> ActionSpec:
    values = _component("action", data, ref, pack_ref, source)
    if values["workflow_file"] is not None:
        # As Attune: the workflow file is the entrypoint, and a workflow has no runtime.
        values["entrypoint"] = workflow_path(values["workflow_file"])
        values["runtime_ref"] = None
    return ActionSpec(**values)


def workflow_path(workflow_file: str) -> str:
    """The pack-relative path of a `workflow_file`, which is relative to `actions/`."""
    return posixpath.normpath(posixpath.join("actions", workflow_file))


def rule_spec(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> RuleSpec:
    values = _component("rule", data, ref, pack_ref, source)
    values["trigger_ref"] = qualified(values["trigger_ref"], pack_ref)
    values["action_ref"] = qualified(values["action_ref"], pack_ref)
    return RuleSpec(**values)


def runtime_spec(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> RuntimeSpec:
    values = _component("runtime", data, ref, pack_ref, source)
    values["name"] = values["name"] or ref.rsplit(".", 1)[-1]
    values["aliases"] = tuple(dict.fromkeys(alias.lower() for alias in values["aliases"]))
    return RuntimeSpec(**values)


SPEC_BUILDERS = {
    "trigger": trigger_spec,
    "sensor": sensor_spec,
    "action": action_spec,
    "rule": rule_spec,
    "runtime": runtime_spec,
}
