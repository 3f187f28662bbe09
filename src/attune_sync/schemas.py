"""JSON Schema checks for the schemas packs carry: never a fetch, never a hang, never a secret.

Meta-schema validation runs on every conf_schema, param_schema and out_schema, so it sits on
the hot path: jsonschema-rs answers "is this a valid schema?" in microseconds, where the
pure-Python check costs about a millisecond. Only an invalid schema goes through
python-jsonschema, whose errors carry the paths and wording users get to see.

Nothing a schema says reaches the network or the filesystem: `$schema` must name one of the
drafts both libraries carry (any other value is an error, before jsonschema-rs could fetch
it), and `$ref`s resolve only inside the document (python-jsonschema gets an empty registry;
the meta check never follows the checked schema's references). Regexes are matched under a
time budget (`patterns`); a `$ref` cycle or a nesting too deep to check is an error on that
file, never a RecursionError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema_rs
import referencing
import referencing.exceptions

from . import patterns
from .fields import FieldIssue
from .secrets import ANY, SECRET_MASK, SecretPath, mask_secrets, secret_paths

__all__ = ["SECRET_MASK", "config_issues", "mask_secrets", "schema_issues", "secret_paths"]

patterns.install()

_NO_REMOTE_REFS: referencing.Registry[Any] = referencing.Registry()
"""An empty registry: user schemas never make jsonschema fetch a remote `$ref`."""

_DRAFTS: tuple[type[jsonschema.protocols.Validator], ...] = (
    jsonschema.Draft4Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft7Validator,
    jsonschema.Draft201909Validator,
    jsonschema.Draft202012Validator,
)


def _known_meta_schemas() -> dict[str, type[jsonschema.protocols.Validator]]:
    known: dict[str, type[jsonschema.protocols.Validator]] = {}
    for cls in _DRAFTS:
        uri = str(cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id")).rstrip("#")
        for scheme in ("http://", "https://"):
            bare = scheme + uri.split("://", 1)[1]
            known[bare] = known[bare + "#"] = cls
    return known


KNOWN_META_SCHEMAS = _known_meta_schemas()

MAX_EXCERPT = 200
"""Longest error message taken from a validator: they quote the value they reject."""


def _validator_class(schema: dict[str, Any]) -> type[jsonschema.protocols.Validator]:
    declared = schema.get("$schema")
    if declared is None:
        return jsonschema.Draft202012Validator
    return KNOWN_META_SCHEMAS[declared]


def _fast_is_valid(schema: dict[str, Any]) -> bool | None:
    try:
        return bool(jsonschema_rs.meta.is_valid(schema))
    except Exception:  # a value jsonschema-rs cannot take
        return None


def _unknown_meta_schema(schema: dict[str, Any], path: tuple[str | int, ...]) -> FieldIssue:
    drafts = sorted(uri for uri in KNOWN_META_SCHEMAS if uri.startswith("https") and "#" not in uri)
    return FieldIssue(
        (*path, "$schema"),
        f"unknown $schema {_excerpt(repr(schema['$schema']))}: schemas are never fetched, "
        "so only the drafts attune-sync carries can be named",
        hint=f"leave $schema out (Draft 2020-12), or name one of: {', '.join(drafts)}",
    )


def schema_issues(schema: Any, path: tuple[str | int, ...]) -> list[FieldIssue]:
    """Problems that make `schema` not a valid JSON Schema (Draft 2020-12 unless it says)."""
    if not isinstance(schema, dict):
        return []  # the field rules already reported the type
    declared = schema.get("$schema")
    if declared is not None and (
        not isinstance(declared, str) or declared not in KNOWN_META_SCHEMAS
    ):
        return [_unknown_meta_schema(schema, path)]
    issues = list(_regex_issues(schema, path))
    if _fast_is_valid(schema):
        return issues
    cls = _validator_class(schema)
    meta = cls(cls.META_SCHEMA, registry=_NO_REMOTE_REFS)
    try:
        errors = sorted(meta.iter_errors(schema), key=lambda e: list(e.absolute_path))
    except RecursionError:
        return [FieldIssue(path, "the schema is nested too deeply to check", hint=_FLATTEN)]
    for error in errors:
        where = (*path, *error.absolute_path)
        message = f"not a valid JSON Schema: {_excerpt(error.message)}"
        issues.append(FieldIssue(where, message, _hint(error)))
    # Empty when jsonschema-rs refused what python-jsonschema accepts: the slower, clearer
    # one has the last word.
    return issues


_FLATTEN = "flatten it; nothing in a pack needs that much nesting"
_NOT_SCHEMAS = frozenset({"enum", "const", "default", "examples", "$comment", "description"})


def _compiles(pattern: str) -> bool:
    try:
        patterns.compiled(pattern)
    except patterns.BadPattern:
        return False
    return True


def _may_hold_bad_regex(schema: Any) -> bool:
    """The hot path's quick look: no paths kept, every mapping looked at (enum values too)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            pattern = node.get("pattern")
            if type(pattern) is str and not _compiles(pattern):
                return True
            keyed = node.get("patternProperties")
            if type(keyed) is dict and not all(_compiles(str(key)) for key in keyed):
                return True
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


def _regex_issues(schema: Any, path: tuple[str | int, ...]) -> Iterator[FieldIssue]:
    """Every `pattern` and `patternProperties` key that is not a valid regular expression."""
    if not _may_hold_bad_regex(schema):
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, path)]
    seen: set[int] = set()
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, list):
            stack.extend((item, (*where, index)) for index, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        found = [("pattern", node["pattern"])] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            found += [("patternProperties", str(key)) for key in node["patternProperties"]]
        for keyword, pattern in found:
            try:
                patterns.compiled(pattern)
            except patterns.BadPattern as bad:
                at = (*where, keyword) if keyword == "pattern" else (*where, keyword, pattern)
                yield FieldIssue(
                    at,
                    f"{_excerpt(repr(pattern))} is not a valid regular expression: {bad.reason}",
                    hint="fix the expression, or quote it with single quotes so YAML keeps "
                    "backslashes as written",
                )
        stack.extend((sub, (*where, key)) for key, sub in node.items() if key not in _NOT_SCHEMAS)


def _hint(error: jsonschema.ValidationError) -> str:
    if error.validator == "type" and error.absolute_path and error.absolute_path[-1] == "required":
        return (
            "this looks like a StackStorm-style flat schema; in JSON Schema `required` is a "
            "list of property names on the object: `required: [name]`"
        )
    if error.validator == "type":
        return f"use {error.validator_value} here"
    if error.validator == "enum":
        return "see https://json-schema.org/understanding-json-schema for the allowed values"
    return "see https://json-schema.org/understanding-json-schema"


def _excerpt(text: str) -> str:
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


def config_issues(config: dict[str, Any], conf_schema: dict[str, Any]) -> list[FieldIssue]:
    """Problems with `config` against its pack's `conf_schema`. Secret values never appear."""
    declared = conf_schema.get("$schema")
    if declared is not None and (
        not isinstance(declared, str) or declared not in KNOWN_META_SCHEMAS
    ):
        return [_unknown_meta_schema(conf_schema, ("conf_schema",))]
    validator = _validator_class(conf_schema)(conf_schema, registry=_NO_REMOTE_REFS)
    try:
        with patterns.budget():
            errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    except referencing.exceptions.Unresolvable as unresolvable:
        return [
            _schema_problem(
                f"cannot resolve {unresolvable}: remote references are never fetched", _INLINE
            )
        ]
    except patterns.PatternBudgetExceeded:
        return [
            _schema_problem(
                f"matching its patterns against config took more than {patterns.FILE_BUDGET_S:g} s",
                "simplify the pattern (nested repetition such as (a+)+ backtracks without end)",
            )
        ]
    except patterns.BadPattern as bad:  # in a place _regex_issues does not look
        return [_schema_problem(str(bad), "fix the regular expression")]
    except RecursionError:
        return [
            _schema_problem(
                "checking config against it never ends: a $ref cycle (a schema that refers to "
                "itself without going into the config) or nesting too deep to check",
                "break the $ref cycle, or flatten the schema and the config",
            )
        ]
    secrets = secret_paths(conf_schema)
    return [_config_issue(error, secrets) for error in errors]


_INLINE = "inline the referenced schema under $defs and point at it with #/$defs/..."


def _schema_problem(message: str, hint: str) -> FieldIssue:
    return FieldIssue(("conf_schema",), message, hint=hint)


_NAMES_KEYS_ONLY = frozenset(
    {"required", "additionalProperties", "dependentRequired", "unevaluatedProperties"}
)
"""Keywords whose message on an object quotes only property names, never the values."""


def _config_issue(error: jsonschema.ValidationError, secrets: list[SecretPath]) -> FieldIssue:
    where = tuple(error.absolute_path)
    if any(_covers(secret, where) for secret in secrets):
        message = f"the secret value fails the schema's {error.validator!r} check"
    elif error.validator not in _NAMES_KEYS_ONLY and any(_inside(s, where) for s in secrets):
        # An error on an enclosing object quotes the whole object, secrets included, and in
        # repr's escaping, so the value cannot be searched for: never quote it.
        message = f"the value (holding secrets) fails the schema's {error.validator!r} check"
    else:
        message = _excerpt(error.message)
    return FieldIssue(
        ("config", *where),
        f"does not match conf_schema: {message}",
        hint="change the value, or the schema in conf_schema",
    )


def _covers(secret: SecretPath, where: tuple[str | int, ...]) -> bool:
    """Whether the value at `where` is, or is inside, the secret at `secret`."""
    if len(where) < len(secret):
        return False
    return all(step == ANY or step == str(at) for step, at in zip(secret, where, strict=False))


def _inside(secret: SecretPath, where: tuple[str | int, ...]) -> bool:
    """Whether the secret at `secret` may be inside the value at `where`."""
    return len(secret) > len(where) and all(
        step == ANY or step == str(at) for step, at in zip(secret, where, strict=False)
    )
