"""The API's body checks: the file validator's rules, field for field, through one adapter.

Everything goes through the file validator's own fields (`fields.TABLES`, looked up by the
seeds' names), `fieldcheck.check_value` and `flatschema`/`schemas`, as the pack reader does,
so a body the API accepts is one a file could hold and vice versa. The API differs only
where the seeds do: bodies name their pack (`pack_ref`), a pack's `runtime_deps` are runtime
ids, `ref` and `label` are always required, and the refs that tie an object to others
cannot change in an update.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from attune_sync import flatschema
from attune_sync.fieldcheck import check_value
from attune_sync.fields import TABLES, Field, FieldIssue, FieldType

from .errors import validation_failed

Rule = Field
"""A field rule: the file validator's own `fields.Field`."""

_REF = Field("ref", FieldType.STRING, required=True, min_length=1, max_length=255, is_ref=True)
_LABEL = Field("label", FieldType.STRING, required=True, min_length=1, max_length=255)


def _seed(kind: str, name: str, **changes: Any) -> Field:
    """The file validator's field behind a seed name (files may spell it otherwise)."""
    return replace(TABLES[kind].lookup[name], name=name, aliases=(), **changes)


def _fields(*fields: Field) -> dict[str, Field]:
    return {field.name: field for field in fields}


_CREATE_RULES: dict[str, Mapping[str, Field]] = {
    "pack": _fields(
        _REF,
        _seed("pack", "label", required=True),
        *(
            _seed("pack", name)
            for name in ("description", "version", "conf_schema", "config", "meta", "tags")
        ),
        _seed("pack", "is_standard"),
    ),
    "trigger": _fields(
        _REF,
        replace(_REF, name="pack_ref", required=False, nullable=True),
        _LABEL,
        *(
            _seed("trigger", name)
            for name in ("description", "enabled", "param_schema", "out_schema")
        ),
    ),
    "sensor": _fields(
        _REF,
        replace(_REF, name="pack_ref"),
        _LABEL,
        _seed("sensor", "description"),
        _seed("sensor", "entrypoint"),
        _seed("sensor", "runtime_ref", required=True),
        replace(_REF, name="trigger_ref"),
        _seed("sensor", "enabled"),
        _seed("sensor", "param_schema"),
    ),
    # Actions and rules are created through the API with the pack seed's fields.
    "action": _fields(
        _REF,
        replace(_REF, name="pack_ref"),
        _LABEL,
        Field("description", FieldType.STRING, nullable=True),
        Field("entrypoint", FieldType.STRING, nullable=True, min_length=1, max_length=1024),
    ),
    "rule": _fields(
        _REF,
        replace(_REF, name="pack_ref"),
        _LABEL,
        Field("description", FieldType.STRING, nullable=True),
        replace(_REF, name="action_ref"),
        replace(_REF, name="trigger_ref"),
        Field("enabled", FieldType.BOOLEAN),
    ),
}
_ID_LISTS = {"pack": ("runtime_deps",)}
"""Fields that hold lists of ids in the API (refs in files)."""
_IDS = {"action": ("runtime",)}
"""Fields that hold one id (or null)."""

IMMUTABLE: dict[str, tuple[str, ...]] = {
    "pack": ("ref",),
    "trigger": ("ref", "pack_ref"),
    "sensor": ("ref", "pack_ref", "runtime_ref", "trigger_ref"),
    "action": ("ref", "pack_ref"),
    "rule": ("ref", "pack_ref", "action_ref", "trigger_ref"),
}
"""The seeds: these cannot be changed by an update."""


def check_create(kind: str, body: Any) -> dict[str, Any]:
    """The body of a create, checked; raises the seeds' 400 on any problem."""
    return _check(kind, body, creating=True)


def check_update(kind: str, body: Any) -> dict[str, Any]:
    """The body of an update (every field optional), checked."""
    return _check(kind, body, creating=False)


def check_config(config: Any, conf_schema: Any) -> None:
    """A pack's config against its conf_schema, as the file validator checks it."""
    if isinstance(config, dict) and isinstance(conf_schema, dict):
        _raise(flatschema.config_issues(config, conf_schema), {})


def _check(kind: str, body: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_failed({"body": ["Must be a JSON object"]})
    details: dict[str, list[str]] = {}
    rules = _rules_for(kind, creating)
    if not creating:
        details.update(_immutable_details(kind, body))
    values = {key: value for key, value in body.items() if key not in IMMUTABLE[kind] or creating}
    ids = (*_ID_LISTS.get(kind, ()), *_IDS.get(kind, ()))
    issues = _field_issues({k: v for k, v in values.items() if k not in ids}, rules, kind)
    issues.extend(_id_issues(kind, values))
    issues.extend(_schema_issues(values, rules, issues))
    issues.extend(_pack_config_issues(kind, values, issues))
    if kind != "pack" and creating:
        issues.extend(_prefix_issues(values))
    _raise(issues, details, rules)
    return values


def _rules_for(kind: str, creating: bool) -> dict[str, Field]:
    """An update leaves the seeds' fixed refs out and makes every other field optional."""
    rules = dict(_CREATE_RULES[kind])
    if creating:
        return rules
    return {
        name: replace(rule, required=False)
        for name, rule in rules.items()
        if name not in IMMUTABLE[kind]
    }


def _immutable_details(kind: str, body: dict[str, Any]) -> dict[str, list[str]]:
    return {name: ["Cannot be changed by an update"] for name in IMMUTABLE[kind] if name in body}


def _id_issues(kind: str, values: dict[str, Any]) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for name in _ID_LISTS.get(kind, ()):
        if name in values:
            issues.extend(_id_list_issues(name, values[name]))
    for name in _IDS.get(kind, ()):
        if values.get(name) is not None:
            issues.extend(_id_list_issues(name, [values[name]]))
    return issues


def _schema_issues(
    values: dict[str, Any], rules: Mapping[str, Field], issues: list[FieldIssue]
) -> list[FieldIssue]:
    """A schema's flat form is checked only once its value passed its field's rule."""
    found: list[FieldIssue] = []
    for name, rule in rules.items():
        broken = any(issue.path[:1] == (name,) for issue in (*issues, *found))
        if rule.type == FieldType.SCHEMA and name in values and not broken:
            found.extend(flatschema.flat_issues(values[name], (name,)))
    return found


def _pack_config_issues(
    kind: str, values: dict[str, Any], issues: list[FieldIssue]
) -> list[FieldIssue]:
    # A broken config or conf_schema already has its issue; checking one against the other
    # would only repeat it.
    if kind != "pack" or any(i.path[:1] in (("config",), ("conf_schema",)) for i in issues):
        return []
    config, conf_schema = values.get("config"), values.get("conf_schema")
    if isinstance(config, dict) and isinstance(conf_schema, dict):
        return flatschema.config_issues(config, conf_schema)
    return []


def _field_issues(body: dict[str, Any], rules: Mapping[str, Field], kind: str) -> list[FieldIssue]:
    """Unknown keys, missing required fields, and each value by its field's rule."""
    issues = [_unknown(key, rules, kind) for key in body if key not in rules]
    for name, rule in rules.items():
        if name in body:
            issues.extend(check_value((name,), body[name], rule))
        elif rule.required:
            issues.append(FieldIssue((name,), "required field is missing", hint=f"add `{name}`"))
    return issues


def _unknown(key: str, rules: Mapping[str, Field], kind: str) -> FieldIssue:
    close = difflib.get_close_matches(key, list(rules), n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else f"{kind} fields are: {', '.join(rules)}"
    return FieldIssue((key,), f"unknown field {key!r}", hint=hint)


def _id_list_issues(name: str, value: Any) -> list[FieldIssue]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [FieldIssue((name,), "expected a list of ids (integers)")]
    return [
        FieldIssue((name, index), f"expected an id (a positive integer), got {item!r}")
        for index, item in enumerate(value)
        if isinstance(item, bool) or not isinstance(item, int) or item < 1
    ]


def _prefix_issues(values: dict[str, Any]) -> list[FieldIssue]:
    """As in files, a component's ref starts with its pack's ref and a dot."""
    ref, pack_ref = values.get("ref"), values.get("pack_ref")
    if not isinstance(ref, str) or not isinstance(pack_ref, str):
        return []
    if ref.startswith(f"{pack_ref}.") and len(ref) > len(pack_ref) + 1:
        return []
    return [
        FieldIssue(
            ("ref",),
            f"{ref!r} does not start with the pack ref {pack_ref + '.'!r}",
            hint=f"use `{pack_ref}.{ref.rsplit('.', 1)[-1]}`",
        )
    ]


def _raise(
    issues: list[FieldIssue],
    details: dict[str, list[str]],
    rules: Mapping[str, Rule] | None = None,
) -> None:
    for issue in issues:
        key = issue.dotted or "body"
        details.setdefault(key, []).append(_message(issue, (rules or {}).get(key)))
    if details:
        raise validation_failed(details)


def _message(issue: FieldIssue, rule: Rule | None) -> str:
    """The validator's words, with the seeds' wording for the cases the seeds show."""
    if issue.message == "required field is missing":
        return "Field is required"
    if rule is not None and rule.type == FieldType.STRING and rule.max_length is not None:
        too_long = issue.message.startswith("is ") and "characters long" in issue.message
        if too_long or (issue.message == "must not be empty" and rule.min_length):
            return f"Must be between {rule.min_length or 0} and {rule.max_length} characters"
    text = issue.message[:1].upper() + issue.message[1:]
    if issue.hint and not issue.quote:
        text += f" ({issue.hint})"
    return text


def api_rules(kind: str) -> Mapping[str, Rule]:
    """The rules a create body is checked against (for the OpenAPI description)."""
    return _CREATE_RULES[kind]
