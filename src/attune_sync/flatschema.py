"""Attune's "flat" parameter schemas, next to standard JSON Schema.

A flat schema maps each parameter name to its definition, with `required`, `secret` and
`position` written inline: `{url: {type: string, required: true}}`. Older packs write standard
JSON Schema. Both are stored as written (flat stays flat: it is what Attune's database holds);
to validate one, or a value against one, it is converted to JSON Schema here first.

Recognition: an object whose top-level `type` is a string is JSON Schema (`type: object` with
`properties`, or `type: array` with `items`); in a flat schema every top-level value is a
definition object, so a parameter named `type` has a mapping as its value. The same holds for
any other JSON Schema keyword or `$`-key holding a non-mapping. Anything else is flat.
"""

from __future__ import annotations

from typing import Any

from . import schemas, secrets
from .fields import FieldIssue

_DROPPED = ("secret", "position")


_KEYWORDS = frozenset(
    [
        "type",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "patternProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "enum",
        "const",
        "definitions",
        "dependencies",
        "title",
        "default",
        "examples",
    ]
)


def is_flat(schema: Any) -> bool:
    """Whether `schema` is in the flat format (see the module docs).

    Besides a string `type`, any non-mapping value under a JSON Schema keyword (`required:
    [a]`, `properties: 5`) or a `$`-key (`$ref`, `$schema`) marks JSON Schema: in a flat
    schema every top-level value is a definition mapping.
    """
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if not isinstance(key, str) or isinstance(value, dict):
            continue
        if key.startswith("$") or key in _KEYWORDS:
            return False
    return True


def as_json_schema(schema: Any, *, keep_secret: bool = False) -> Any:
    """`schema` as standard JSON Schema: flat ones converted, anything else as it is.

    `keep_secret` leaves `secret: true` markers in place, for finding the secret values.
    Entries that are not mappings are left out (they are reported by `flat_issues`).
    """
    if not is_flat(schema):
        return schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, definition in schema.items():
        if not isinstance(definition, dict):
            continue
        if definition.get("required") is True:
            required.append(str(name))
        properties[str(name)] = _definition(definition, keep_secret)
    converted: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        converted["required"] = required
    return converted


def _definition(definition: dict[str, Any], keep_secret: bool) -> dict[str, Any]:
    """One property definition with inline `required: true/false` made JSON Schema, deeply.

    Attune rewrites only the top level; nested `required: true` is common in its packs and
    would fail the meta-schema, so nested definitions are converted too.
    """
    converted = {
        key: value
        for key, value in definition.items()
        if key != "required" or not isinstance(value, bool)
        if keep_secret or key not in _DROPPED
    }
    nested = definition.get("properties")
    if isinstance(nested, dict):
        names = [n for n, d in nested.items() if isinstance(d, dict) and d.get("required") is True]
        converted["properties"] = {
            name: _definition(d, keep_secret) if isinstance(d, dict) else d
            for name, d in nested.items()
        }
        if names and not isinstance(definition.get("required"), list):
            converted["required"] = [str(name) for name in names]
    items = definition.get("items")
    if isinstance(items, dict):
        converted["items"] = _definition(items, keep_secret)
    return converted


def flat_issues(schema: Any, path: tuple[str | int, ...]) -> list[FieldIssue]:
    """Problems of a parameter schema, flat or standard, located in the file as written."""
    if not isinstance(schema, dict):
        return []
    if not is_flat(schema):
        return schemas.schema_issues(schema, path)
    issues = [
        FieldIssue(
            (*path, name),
            f"expected a parameter definition (a mapping), got {type(value).__name__}",
            hint=f"write `{name}:` followed by indented keys such as `type: string`",
        )
        for name, value in schema.items()
        if not isinstance(value, dict)
    ]
    converted = as_json_schema(schema)
    for issue in schemas.schema_issues(converted, ()):
        issues.append(
            FieldIssue((*path, *_written_path(issue.path)), issue.message, issue.hint, issue.quote)
        )
    return issues


def _written_path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A path in the converted schema as a path in the flat one: drop `properties`."""
    if len(path) >= 2 and path[0] == "properties":
        return path[1:]
    return path


def config_issues(config: dict[str, Any], conf_schema: dict[str, Any]) -> list[FieldIssue]:
    return schemas.config_issues(config, as_json_schema(conf_schema, keep_secret=True))


def mask_secrets(config: Any, conf_schema: Any) -> Any:
    return schemas.mask_secrets(config, as_json_schema(conf_schema, keep_secret=True))


def hide_secrets(config: Any, conf_schema: Any) -> Any:
    """`config` with its secret values wrapped in `secrets.Secret` (flat schemas too)."""
    return secrets.hide_secrets(config, as_json_schema(conf_schema, keep_secret=True))
