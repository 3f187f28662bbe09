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
    # Empty when jsonschema-rs refused what python-jsonschema accepts: the slower, clearer
    # one has the last word.
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
        if any(_covers(secret, where) for secret in secrets):
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


ANY = "*"
"""A path step matching every key of a mapping and every item of a list."""

SecretPath = tuple[str, ...]


def _covers(secret: SecretPath, where: tuple[str | int, ...]) -> bool:
    """Whether the value at `where` is, or is inside, the secret at `secret`."""
    if len(where) < len(secret):
        return False
    return all(step == ANY or step == str(at) for step, at in zip(secret, where, strict=False))


def _values_at(config: Any, paths: list[SecretPath]) -> Iterator[Any]:
    for path in paths:
        yield from _walk(config, path)


def _walk(value: Any, path: SecretPath) -> Iterator[Any]:
    if not path:
        yield value
        return
    step, rest = path[0], path[1:]
    if isinstance(value, dict):
        children = list(value.values()) if step == ANY else [value[step]] if step in value else []
    elif isinstance(value, list) and step == ANY:
        children = list(value)
    else:
        children = []
    for child in children:
        yield from _walk(child, rest)


def secret_paths(conf_schema: Any) -> list[SecretPath]:
    """Paths of config values whose schema says `secret: true`.

    Follows properties, patternProperties, additionalProperties, items, allOf/anyOf/oneOf
    and local `$ref`s. A `secret: true` the walk cannot place masks the whole config: when
    in doubt, hide more.
    """
    found = list(dict.fromkeys(_secret_paths(conf_schema, (), conf_schema, 0)))
    if not found and _mentions_secret(conf_schema):
        return [()]
    return found


_MAX_DEPTH = 32


def _secret_paths(schema: Any, prefix: SecretPath, root: Any, depth: int) -> Iterator[SecretPath]:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return
    if schema.get("secret") is True:
        yield prefix
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        yield from _secret_paths(_pointer(root, ref), prefix, root, depth + 1)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            yield from _secret_paths(sub, (*prefix, str(name)), root, depth + 1)
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict):
        for sub in patterns.values():
            yield from _secret_paths(sub, (*prefix, ANY), root, depth + 1)
    for key in ("additionalProperties", "items", "unevaluatedProperties"):
        yield from _secret_paths(schema.get(key), (*prefix, ANY), root, depth + 1)
    prefix_items = schema.get("prefixItems")
    if isinstance(prefix_items, list):
        for sub in prefix_items:
            yield from _secret_paths(sub, (*prefix, ANY), root, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            for sub in branches:
                yield from _secret_paths(sub, prefix, root, depth + 1)


def _pointer(root: Any, ref: str) -> Any:
    node = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _mentions_secret(schema: Any) -> bool:
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("secret") is True:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def mask_secrets(config: Any, conf_schema: Any) -> Any:
    """A copy of `config` with every secret value replaced by a mask."""
    if config is None:
        return config
    paths = secret_paths(conf_schema)
    if not paths:
        return config
    if () in paths:
        return SECRET_MASK
    masked = _copy(config)
    for path in paths:
        _mask(masked, path)
    return masked


def _mask(holder: Any, path: SecretPath) -> None:
    step, rest = path[0], path[1:]
    if isinstance(holder, dict):
        keys = list(holder) if step == ANY else [step] if step in holder else []
        for key in keys:
            if rest:
                _mask(holder[key], rest)
            else:
                holder[key] = SECRET_MASK
    elif isinstance(holder, list) and step == ANY:
        for index, item in enumerate(holder):
            if rest:
                _mask(item, rest)
            else:
                holder[index] = SECRET_MASK


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
