"""Field rules for pack, trigger and sensor documents, from the seed API documents.

Checks here look at one parsed document and report field paths; `reader` turns those
into file/line problems. No I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["string", "boolean", "object", "string_list", "schema"]

REF_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")
SEMVER_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def is_valid_ref(text: str) -> bool:
    return 0 < len(text) <= 255 and REF_PATTERN.match(text) is not None


@dataclass(frozen=True, slots=True)
class Rule:
    type: FieldType
    required: bool = False
    nullable: bool = False
    min_length: int | None = None
    max_length: int | None = None
    is_ref: bool = False
    is_semver: bool = False


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A problem inside one document, before it is given a file and line."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    quote: bool = False
    """YAML read the value as a non-string; the fix is to quote it as written."""
    at_key: bool = False
    """The problem is the key itself (an unknown field): point at the key, not its value."""

    @property
    def dotted(self) -> str:
        text = ""
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        return text


_REF = Rule("string", min_length=1, max_length=255, is_ref=True)
_LABEL = Rule("string", required=True, min_length=1, max_length=255)

PACK_RULES: Mapping[str, Rule] = {
    "ref": Rule("string", required=True, min_length=1, max_length=255, is_ref=True),
    "label": _LABEL,
    "description": Rule("string", required=True, min_length=1),
    "version": Rule("string", nullable=True, max_length=64, is_semver=True),
    "conf_schema": Rule("schema", nullable=True),
    "config": Rule("object", nullable=True),
    "meta": Rule("object", nullable=True),
    "tags": Rule("string_list", nullable=True),
    "runtime_deps": Rule("string_list", nullable=True),
    "is_standard": Rule("boolean"),
}
TRIGGER_RULES: Mapping[str, Rule] = {
    "ref": _REF,
    "label": _LABEL,
    "description": Rule("string", nullable=True),
    "enabled": Rule("boolean"),
    "param_schema": Rule("schema", nullable=True),
    "out_schema": Rule("schema", nullable=True),
}
SENSOR_RULES: Mapping[str, Rule] = {
    "ref": _REF,
    "label": _LABEL,
    "description": Rule("string", required=True, min_length=1),
    "entrypoint": Rule("string", required=True, min_length=1, max_length=1024),
    "runtime_ref": Rule("string", required=True, min_length=1, max_length=255, is_ref=True),
    "trigger_ref": Rule("string", required=True, min_length=1, max_length=255, is_ref=True),
    "enabled": Rule("boolean"),
    "param_schema": Rule("schema", nullable=True),
}

_TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "string_list": "a list of strings",
    "schema": "a JSON Schema (a mapping)",
}


_EXCERPT = 40


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        # A short excerpt only: the value may be a whole file someone linked in, or a secret.
        shown = value if len(value) <= _EXCERPT else value[: _EXCERPT - 1] + "…"
        return f"the string {shown!r}" + (f" ({len(value):,} characters)" if shown != value else "")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def check_document(data: Any, rules: Mapping[str, Rule], what: str) -> list[FieldIssue]:
    """Check one parsed document against its field rules."""
    if not isinstance(data, dict):
        return [
            FieldIssue(
                (),
                f"the file must hold one mapping of {what} fields, not {describe(data)}",
                hint=f"start the file with `label: ...` and the other {what} fields",
            )
        ]
    issues: list[FieldIssue] = []
    for key in data:
        if key not in rules:
            issues.append(_unknown_key(key, rules, what))
    for name, rule in rules.items():
        if name not in data:
            if rule.required:
                issues.append(
                    FieldIssue((name,), "required field is missing", hint=f"add `{name}: ...`")
                )
            continue
        issues.extend(check_value((name,), data[name], rule))
    return issues


def _unknown_key(key: Any, rules: Mapping[str, Rule], what: str) -> FieldIssue:
    close = difflib.get_close_matches(str(key), list(rules), n=1, cutoff=0.6)
    hint = (
        f"did you mean `{close[0]}`?" if close else f"{what} fields are: {', '.join(sorted(rules))}"
    )
    return FieldIssue((str(key),), f"unknown field {str(key)!r}", hint=hint, at_key=True)


def check_value(path: tuple[str | int, ...], value: Any, rule: Rule) -> list[FieldIssue]:
    if value is None:
        if rule.nullable:
            return []
        return [FieldIssue(path, "must not be empty", hint=f"give {_TYPE_WORDS[rule.type]}")]
    expected = _TYPE_WORDS[rule.type]
    if rule.type == "string":
        if not isinstance(value, str):
            return [_wrong_type(path, value, expected)]
        return _check_string(path, value, rule)
    if rule.type == "boolean":
        if not isinstance(value, bool):
            hint = "write true or false" + (
                " (yes/no/on/off are strings here)" if isinstance(value, str) else ""
            )
            return [FieldIssue(path, f"expected true or false, got {describe(value)}", hint)]
        return []
    if rule.type in ("object", "schema"):
        if not isinstance(value, dict):
            return [_wrong_type(path, value, expected)]
        return []
    # string_list
    if not isinstance(value, list):
        return [_wrong_type(path, value, expected)]
    issues = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            issues.append(_wrong_type((*path, index), item, "a string"))
        elif not item:
            issues.append(FieldIssue((*path, index), "must not be an empty string"))
    return issues


def _wrong_type(path: tuple[str | int, ...], value: Any, expected: str) -> FieldIssue:
    if expected == "a string" and isinstance(value, bool | int | float):
        return FieldIssue(
            path,
            f"expected a string, got {describe(value)}",
            hint="quote the value so YAML keeps it exactly as written",
            quote=True,
        )
    return FieldIssue(path, f"expected {expected}, got {describe(value)}")


def _check_string(path: tuple[str | int, ...], value: str, rule: Rule) -> list[FieldIssue]:
    if rule.min_length is not None and len(value) < rule.min_length:
        return [FieldIssue(path, "must not be empty", hint="write at least one character")]
    if rule.max_length is not None and len(value) > rule.max_length:
        return [
            FieldIssue(
                path,
                f"is {len(value)} characters long, more than the {rule.max_length} allowed",
                hint="shorten it",
            )
        ]
    if rule.is_ref and not REF_PATTERN.match(value):
        return [
            FieldIssue(
                path,
                f"{value!r} is not a valid ref",
                hint="use letters, digits, '_' and '-', in parts separated by single dots, "
                "e.g. `mypack.my_trigger`",
            )
        ]
    if rule.is_semver and not SEMVER_PATTERN.match(value):
        return [
            FieldIssue(
                path,
                f"{value!r} is not a semantic version",
                hint='write MAJOR.MINOR.PATCH, quoted, e.g. `version: "1.0.0"`',
            )
        ]
    return []
