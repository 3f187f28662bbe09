"""JSON Schema checks for the schemas packs carry, and masking of secret config values.

Meta-schema validation runs on every conf_schema, param_schema and out_schema, so it sits on
the hot path: jsonschema-rs answers "is this a valid schema?" in microseconds, where the
pure-Python check costs about a millisecond. Only an invalid schema goes through
python-jsonschema, whose errors carry the paths and wording users get to see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema_rs
import referencing
import referencing.exceptions

from .fields import FieldIssue

SECRET_MASK = "********"

_NO_REMOTE_REFS: referencing.Registry[Any] = referencing.Registry()
"""An empty registry: user schemas never make jsonschema fetch a remote `$ref`."""


def _validator_class(schema: dict[str, Any]) -> type[jsonschema.protocols.Validator]:
    cls: type[jsonschema.protocols.Validator] = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    return cls


def _fast_is_valid(schema: dict[str, Any]) -> bool | None:
    try:
        return bool(jsonschema_rs.meta.is_valid(schema))
    except Exception:  # an unknown $schema or a value jsonschema-rs cannot take
        return None


def schema_issues(schema: Any, path: tuple[str | int, ...]) -> list[FieldIssue]:
    """Problems that make `schema` not a valid JSON Schema (Draft 2020-12 unless it says)."""
    if not isinstance(schema, dict):
        return []  # the field rules already reported the type
    if _fast_is_valid(schema):
        return []
    cls = _validator_class(schema)
    meta = cls(cls.META_SCHEMA, registry=_NO_REMOTE_REFS)
    issues = []
    for error in sorted(meta.iter_errors(schema), key=lambda e: list(e.absolute_path)):
        where = (*path, *error.absolute_path)
        issues.append(FieldIssue(where, f"not a valid JSON Schema: {error.message}", _hint(error)))
    if not issues:
        # jsonschema-rs refused what python-jsonschema accepts; trust the slower, clearer one.
        return []
    return issues


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


def config_issues(config: dict[str, Any], conf_schema: dict[str, Any]) -> list[FieldIssue]:
    """Problems with `config` against its pack's `conf_schema`. Secret values never appear."""
    cls = _validator_class(conf_schema)
    validator = cls(conf_schema, registry=_NO_REMOTE_REFS)
    secrets = secret_paths(conf_schema)
    issues = []
    try:
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    except referencing.exceptions.Unresolvable as unresolvable:
        return [
            FieldIssue(
                ("conf_schema",),
                f"cannot resolve {unresolvable}: remote references are never fetched",
                hint="inline the referenced schema under $defs and point at it with #/$defs/...",
            )
        ]
    secret_values = [str(value) for value in _values_at(config, secrets)]
    for error in errors:
        where = tuple(error.absolute_path)
        message = error.message
        if any(where[: len(secret)] == secret for secret in secrets):
            message = f"the secret value fails the schema's {error.validator!r} check"
        elif any(value in message for value in secret_values):
            # An error on an enclosing object quotes the whole object, secrets included.
            message = f"the value (holding secrets) fails the schema's {error.validator!r} check"
        issues.append(
            FieldIssue(
                ("config", *where),
                f"does not match conf_schema: {message}",
                hint="change the value, or the schema in conf_schema",
            )
        )
    return issues


def _values_at(config: Any, paths: list[tuple[str, ...]]) -> Iterator[Any]:
    for path in paths:
        holder = config
        for step in path:
            if not isinstance(holder, dict) or step not in holder:
                break
            holder = holder[step]
        else:
            yield holder


def secret_paths(conf_schema: Any) -> list[tuple[str, ...]]:
    """Paths of config values whose schema property says `secret: true`."""
    return list(_secret_paths(conf_schema, ()))


def _secret_paths(schema: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    for name, sub in properties.items():
        if not isinstance(sub, dict):
            continue
        if sub.get("secret") is True:
            yield (*prefix, str(name))
        else:
            yield from _secret_paths(sub, (*prefix, str(name)))


def mask_secrets(config: Any, conf_schema: Any) -> Any:
    """A copy of `config` with every secret value replaced by a mask."""
    if not isinstance(config, dict):
        return config
    paths = secret_paths(conf_schema)
    if not paths:
        return config
    masked = _copy(config)
    for path in paths:
        holder = masked
        for step in path[:-1]:
            holder = holder.get(step) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and path[-1] in holder:
            holder[path[-1]] = SECRET_MASK
    return masked


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
