"""The key tables of docs/pack-format.md, generated from `fields.TABLES`. Pure.

`python -m attune_sync.formatdoc` prints the generated section; a test checks that the docs
hold exactly this text between the BEGIN/END markers.
"""

from __future__ import annotations

from typing import Any

from .fields import TABLES, Field, FieldType

BEGIN = "<!-- BEGIN generated key tables: python -m attune_sync.formatdoc -->"
END = "<!-- END generated key tables -->"

_TYPES = {
    FieldType.STRING: "string",
    FieldType.BOOLEAN: "boolean",
    FieldType.INTEGER: "integer",
    FieldType.OBJECT: "mapping",
    FieldType.LIST: "list",
    FieldType.STRING_LIST: "list of strings",
    FieldType.OBJECT_LIST: "list of mappings",
    FieldType.SCHEMA: "schema (flat or JSON Schema)",
    FieldType.CONDITIONS: "mapping or list",
    FieldType.ANY: "any",
}

_FILES = {
    "pack": "`pack.yaml` (or `pack.yml`)",
    "trigger": "`triggers/*.yaml`",
    "sensor": "`sensors/*.yaml`",
    "action": "`actions/*.yaml`",
    "rule": "`rules/*.yaml`",
    "runtime": "`runtimes/*.yaml`",
}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == () or value == []:
        return "`[]`"
    if value == {}:
        return "`{}`"
    return f"`{value}`"


def _rule(field: Field) -> str:
    parts = []
    if field.required:
        parts.append("required")
    if field.default is not None:
        parts.append(f"default {_show(field.default)}")
    if field.type == FieldType.STRING_LIST and field.single_ok:
        parts.append("one string stands for a list of one")
    low, high = field.min_length, field.max_length
    if low and high:
        parts.append(f"{low}-{high} characters")
    elif high:
        parts.append(f"at most {high} characters")
    elif low:
        parts.append(f"at least {low} character")
    if field.is_ref:
        parts.append("a ref")
    if field.is_semver:
        parts.append("a semantic version")
    if field.choices:
        parts.append("one of " + ", ".join(f"`{choice}`" for choice in field.choices))
    if field.doc:
        parts.append(field.doc)
    return "; ".join(parts)


def kind_table(kind: str) -> str:
    lines = [
        f"### {kind} — {_FILES[kind]}",
        "",
        "| key | alias | type | stored as | rule |",
        "|---|---|---|---|---|",
    ]
    for field in TABLES[kind]:
        aliases = ", ".join(f"`{alias}`" for alias in field.aliases)
        stored = f"`{field.column}`" if field.column else "accepted, not stored"
        line = f"| `{field.name}` | {aliases} | {_TYPES[field.type]} | {stored} | {_rule(field)} |"
        lines.append(line)
    return "\n".join(lines)


def generated() -> str:
    body = "\n\n".join(kind_table(kind) for kind in TABLES)
    return f"{BEGIN}\n\n{body}\n\n{END}"


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    print(generated())
