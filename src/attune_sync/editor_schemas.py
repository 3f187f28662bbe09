"""Editor JSON Schemas (draft 2020-12), generated from the per-kind field tables.

Editors (through yaml-language-server) use these to flag unknown keys, wrong types and
missing fields while a pack author types. They are derived from `fields.TABLES`, the same
tables the validator reads, so the two cannot drift apart; `schemas/*.schema.json` in the
repository are this module's output, and a test regenerates and compares them.

What a JSON Schema cannot say is left to `attune-sync validate`: refs across files, runtime
resolution, a flat parameter schema's own validity, `config` against `conf_schema`.
"""

from __future__ import annotations

import json
from typing import Any

from .fields import REF_PATTERN, SEMVER_PATTERN, TABLES, Field, FieldType, KindTable

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS: tuple[str, ...] = tuple(TABLES)


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind's file (`pack.yaml`, `triggers/*.yaml`, ...)."""
    table = TABLES[kind]
    properties: dict[str, Any] = {}
    required: list[str] = []
    constraints: list[dict[str, Any]] = []
    for field in table:
        for name in field.names:
            properties[name] = _property(field, name)
        if field.alias_may_repeat:
            constraints.extend(_read_only_without_canonical(field, properties))
        if field.required:
            if field.aliases:
                constraints.append({"anyOf": [{"required": [name]} for name in field.names]})
            else:
                required.append(field.name)
        if not field.alias_may_repeat:
            constraints.extend(_at_most_one(field))
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:attune-sync:schema:{kind}",
        "title": f"Attune {kind} ({_where(table)})",
        "description": f"One Attune {kind}, as attune-sync reads it. Generated from the "
        "attune-sync field tables; `attune-sync validate` checks what a schema cannot "
        "(references across files, runtimes, parameter schemas).",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if constraints:
        schema["allOf"] = constraints
    return schema


def render(kind: str) -> str:
    """The schema as the file `schemas/<kind>.schema.json` holds it."""
    return json.dumps(schema_for(kind), indent=2, ensure_ascii=False) + "\n"


def file_name(kind: str) -> str:
    return f"{kind}.schema.json"


def _where(table: KindTable) -> str:
    return "pack.yaml" if table.folder is None else f"{table.folder}/*.yaml"


def _at_most_one(field: Field) -> list[dict[str, Any]]:
    """A key and its alias name the same field: giving both is an error."""
    names = field.names
    return [
        {"not": {"required": [first, second]}}
        for index, first in enumerate(names)
        for second in names[index + 1 :]
    ]


def _read_only_without_canonical(field: Field, properties: dict[str, Any]) -> list[dict[str, Any]]:
    """An alias that may stand beside its canonical key is read only when the key is absent
    (pack `name` beside `label`): only then must its value fit."""
    checks = []
    for alias in field.aliases:
        value = properties[alias]
        properties[alias] = {"description": value.pop("description")}
        checks.append(
            {
                "if": {"not": {"required": [field.name]}},
                "then": {"properties": {alias: value}},
            }
        )
    return checks


def _property(field: Field, name: str) -> dict[str, Any]:
    value = _value_schema(field)
    if field.nullable or (not field.required and field.type == FieldType.ANY):
        value = _or_null(value)
    value["description"] = _description(field, name)
    if field.default is not None and field.default != () and name == field.name:
        value["default"] = (
            list(field.default) if isinstance(field.default, tuple) else field.default
        )
    return value


def _description(field: Field, name: str) -> str:
    parts = [] if name == field.name else [f"Alias of `{field.name}`."]
    parts.append(
        f"Stored as `{field.column}`." if field.stored else "Accepted and checked, not stored."
    )
    if field.doc:
        parts.append(field.doc[0].upper() + field.doc[1:] + ".")
    return " ".join(parts)


def _string(field: Field) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "string"}
    if field.min_length is not None:
        value["minLength"] = field.min_length
    if field.max_length is not None:
        value["maxLength"] = field.max_length
    if field.is_ref:
        value["pattern"] = f"^{REF_PATTERN.pattern}$"
    if field.is_semver:
        value["pattern"] = f"^{SEMVER_PATTERN.pattern}$"
    if field.choices:
        value["enum"] = list(field.choices)
    return value


def _value_schema(field: Field) -> dict[str, Any]:
    kind = field.type
    if kind == FieldType.STRING:
        return _string(field)
    if kind == FieldType.STRING_LIST:
        item = _string(field)
        item["minLength"] = max(1, item.get("minLength", 1))
        listed: dict[str, Any] = {"type": "array", "items": item}
        if field.required:
            listed["minItems"] = 1
        return {"anyOf": [item, listed]} if field.single_ok else listed
    simple: dict[FieldType, dict[str, Any]] = {
        FieldType.BOOLEAN: {"type": "boolean"},
        FieldType.INTEGER: {"type": "integer"},
        FieldType.OBJECT: {"type": "object"},
        FieldType.SCHEMA: {"type": "object"},
        FieldType.LIST: {"type": "array"},
        FieldType.OBJECT_LIST: {"type": "array", "items": {"type": "object"}},
        FieldType.CONDITIONS: {"type": ["object", "array"]},
    }
    return dict(simple.get(kind, {}))


def _or_null(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value  # anything, null included
    if isinstance(value.get("type"), str) and "anyOf" not in value:
        nullable = dict(value, type=[value["type"], "null"])
        if "enum" in nullable:
            nullable["enum"] = [*nullable["enum"], None]
        return nullable
    return {"anyOf": [value, {"type": "null"}]}
