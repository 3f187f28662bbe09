"""Check one parsed document against its kind's table, and give it canonical keys.

Checks here look at one parsed document and report field paths; the reader turns those into
file/line problems. No I/O.
"""

from __future__ import annotations

import difflib
from typing import Any

from .fields import (
    REF_PATTERN,
    SEMVER_PATTERN,
    Field,
    FieldIssue,
    FieldType,
    KindTable,
)

_TYPE_WORDS = {
    FieldType.STRING: "a string",
    FieldType.BOOLEAN: "true or false",
    FieldType.INTEGER: "a whole number",
    FieldType.OBJECT: "a mapping",
    FieldType.LIST: "a list",
    FieldType.STRING_LIST: "a list of strings",
    FieldType.OBJECT_LIST: "a list of mappings",
    FieldType.SCHEMA: "a parameter schema (a mapping)",
    FieldType.CONDITIONS: "a mapping or a list",
    FieldType.ANY: "any value",
}


_EXCERPT = 40
"""Characters of a string value quoted in a message: a whole file can be one string."""


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        if len(value) > _EXCERPT:
            return f"a string of {len(value)} characters starting {value[:_EXCERPT]!r}"
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def normalize(data: Any, table: KindTable) -> tuple[list[FieldIssue], dict[str, Any] | None]:
    """Issues of `data`, and its values keyed by canonical name (None if not a mapping).

    Every issue's path starts with the key as the file wrote it, so it can be located.
    """
    what = table.kind
    if not isinstance(data, dict):
        issue = FieldIssue(
            (),
            f"the file must hold one mapping of {what} fields, not {describe(data)}",
            hint=f"write the {what} fields as `key: value` lines, e.g. `label: ...`",
        )
        return [issue], None
    issues: list[FieldIssue] = []
    canonical: dict[str, Any] = {}
    written: dict[str, str] = {}
    for key, value in data.items():
        field = table.lookup.get(key) if isinstance(key, str) else None
        if field is None:
            issues.append(_unknown_key(key, table))
            continue
        first = written.get(field.name)
        if first is not None:
            if field.alias_may_repeat:
                if key == field.name:
                    canonical[field.name], written[field.name] = value, key
                continue
            issues.append(
                FieldIssue(
                    (key,),
                    f"`{key}` and `{first}` both set {field.name!r}"
                    + ("" if field.name in (key, first) else " (they are aliases)"),
                    hint=f"keep only `{field.name}`",
                    other=(first,),
                )
            )
            continue
        canonical[field.name], written[field.name] = value, key
    for field in table:
        if field.name not in written:
            if field.required:
                issues.append(
                    FieldIssue(
                        (field.name,), "required field is missing", hint=f"add `{field.name}: ...`"
                    )
                )
            continue
        issues.extend(check_value((written[field.name],), canonical[field.name], field))
    return issues, canonical


def check_document(data: Any, table: KindTable, what: str | None = None) -> list[FieldIssue]:
    """Check one parsed document against its kind's table."""
    return normalize(data, table)[0]


def _unknown_key(key: Any, table: KindTable) -> FieldIssue:
    close = difflib.get_close_matches(str(key), list(table.lookup), n=1, cutoff=0.6)
    if close:
        hint = f"did you mean `{close[0]}`?"
    else:
        names = ", ".join(sorted(field.name for field in table))
        hint = f"{table.kind} fields are: {names}"
    return FieldIssue((str(key),), f"unknown field {str(key)!r}", hint=hint, at_key=True)


def check_value(path: tuple[str | int, ...], value: Any, field: Field) -> list[FieldIssue]:
    if value is None:
        if field.nullable or (not field.required and field.type == FieldType.ANY):
            return []
        return [FieldIssue(path, "must not be empty", hint=f"give {_TYPE_WORDS[field.type]}")]
    kind = field.type
    if kind == FieldType.STRING:
        if not isinstance(value, str):
            return [_wrong_type(path, value, "a string")]
        return _check_string(path, value, field)
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            hint = "write true or false" + (
                " (yes/no/on/off are strings here)" if isinstance(value, str) else ""
            )
            return [FieldIssue(path, f"expected true or false, got {describe(value)}", hint)]
        return []
    if kind == FieldType.STRING_LIST:
        return _check_string_list(path, value, field)
    if _fits(kind, value):
        return []
    return [_wrong_type(path, value, _TYPE_WORDS[kind])]


def _fits(kind: FieldType, value: Any) -> bool:
    if kind == FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in (FieldType.OBJECT, FieldType.SCHEMA):
        return isinstance(value, dict)
    if kind == FieldType.LIST:
        return isinstance(value, list)
    if kind == FieldType.OBJECT_LIST:
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    if kind == FieldType.CONDITIONS:
        return isinstance(value, dict | list)
    return True


def _check_string_list(path: tuple[str | int, ...], value: Any, field: Field) -> list[FieldIssue]:
    if isinstance(value, str) and field.single_ok:
        return _check_string(path, value, field) if value else [_empty(path)]
    if not isinstance(value, list):
        return [_wrong_type(path, value, "a list of strings")]
    if field.required and not value:
        return [FieldIssue(path, "must list at least one entry", hint="add `- ...` under it")]
    issues = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            issues.append(_wrong_type((*path, index), item, "a string"))
        elif not item:
            issues.append(_empty((*path, index)))
        else:
            issues.extend(_check_string((*path, index), item, field))
    return issues


def _empty(path: tuple[str | int, ...]) -> FieldIssue:
    return FieldIssue(path, "must not be an empty string")


def _wrong_type(path: tuple[str | int, ...], value: Any, expected: str) -> FieldIssue:
    if expected == "a string" and isinstance(value, bool | int | float):
        return FieldIssue(
            path,
            f"expected a string, got {describe(value)}",
            hint="quote the value so YAML keeps it exactly as written",
            quote=True,
        )
    return FieldIssue(path, f"expected {expected}, got {describe(value)}")


def _check_string(path: tuple[str | int, ...], value: str, field: Field) -> list[FieldIssue]:
    if field.min_length is not None and len(value) < field.min_length:
        return [FieldIssue(path, "must not be empty", hint="write at least one character")]
    if field.max_length is not None and len(value) > field.max_length:
        return [
            FieldIssue(
                path,
                f"is {len(value)} characters long, more than the {field.max_length} allowed",
                hint="shorten it",
            )
        ]
    if field.is_ref and not REF_PATTERN.fullmatch(value):
        return [
            FieldIssue(
                path,
                f"{value!r} is not a valid ref",
                hint="use letters, digits, '_' and '-', in parts separated by single dots, "
                "e.g. `mypack.my_trigger`",
            )
        ]
    if field.is_semver and not SEMVER_PATTERN.fullmatch(value):
        return [
            FieldIssue(
                path,
                f"{value!r} is not a semantic version",
                hint='write MAJOR.MINOR.PATCH, quoted, e.g. `version: "1.0.0"`',
            )
        ]
    if field.choices and value not in field.choices:
        close = difflib.get_close_matches(value, field.choices, n=1)
        hint = f"did you mean `{close[0]}`?" if close else "one of: " + ", ".join(field.choices)
        return [FieldIssue(path, f"{value!r} is not one of {', '.join(field.choices)}", hint)]
    return []
