"""Secret config values: where a conf_schema puts them, and a type that never shows them.

A config value whose schema says `secret: true` is wrapped in `Secret` as soon as the plan
takes it in. A `Secret` renders as `SECRET_MASK` wherever it is printed or serialised (str,
repr, format, the JSON encoders of `render` and structlog), whatever characters it holds;
`reveal` unwraps it only where the database write needs the value.

Where the schema puts secrets: the walk follows every applicator (properties,
patternProperties, additionalProperties, items, prefixItems, contains, allOf/anyOf/oneOf,
not, if/then/else, dependentSchemas, dependencies, unevaluated*) and local references
(`#/json/pointer` with percent-encoding, `#anchor`). Whenever it cannot account for a
`secret: true` (an unplaceable keyword, a reference it cannot follow, a schema so
self-referencing that the walk runs out of budget), the whole config is secret: when in
doubt, hide more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

SECRET_MASK = "********"

ANY = "*"
"""A path step matching every key of a mapping and every item of a list."""

SecretPath = tuple[str, ...]

WALK_BUDGET = 20_000
"""Schema nodes the secret-path walk may visit; a self-referencing schema stops here."""

MAX_PATH_DEPTH = 64
"""Deeper paths cannot exist: the YAML loader refuses deeper documents."""


@dataclass(frozen=True, slots=True, eq=True)
class Secret:
    """A value that must never be shown. Compare with ==; read it with `reveal`."""

    value: Any

    def __repr__(self) -> str:
        return SECRET_MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return SECRET_MASK


def reveal(value: Any) -> Any:
    """`value` with every Secret inside replaced by what it holds (copies only if needed)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        if not _holds_secret(value):
            return value
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        if not _holds_secret(value):
            return value
        return [reveal(item) for item in value]
    return value


def masked(value: Any) -> Any:
    """`value` with every Secret inside replaced by the mask: safe to show anywhere."""
    if isinstance(value, Secret):
        return SECRET_MASK
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def json_default(value: Any) -> Any:
    """For json.dumps(default=...): a Secret is written as the mask."""
    if isinstance(value, Secret):
        return SECRET_MASK
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _holds_secret(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Secret):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# --------------------------------------------------------------------------- wrapping


def hide_secrets(config: Any, conf_schema: Any) -> Any:
    """A copy of `config` with every value the schema marks secret wrapped in Secret."""
    if config is None:
        return config
    paths = secret_paths(conf_schema)
    if not paths:
        return config
    if () in paths:
        return config if isinstance(config, Secret) else Secret(config)
    hidden = _copy(config)
    for path in paths:
        hidden = _hide(hidden, path)
    return hidden


def mask_secrets(config: Any, conf_schema: Any) -> Any:
    """A copy of `config` with every secret value replaced by the mask."""
    return masked(hide_secrets(config, conf_schema))


def _hide(holder: Any, path: SecretPath) -> Any:
    if not path:
        return holder if isinstance(holder, Secret) else Secret(holder)
    step, rest = path[0], path[1:]
    if isinstance(holder, dict):
        for key in list(holder) if step == ANY else [step] if step in holder else []:
            holder[key] = _hide(holder[key], rest)
    elif isinstance(holder, list) and step == ANY:
        for index, item in enumerate(holder):
            holder[index] = _hide(item, rest)
    return holder


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --------------------------------------------------------------------------- where they are


def secret_paths(conf_schema: Any) -> list[SecretPath]:
    """Paths of config values whose schema says `secret: true`; [()] means all of it."""
    marked = _secret_nodes(conf_schema)
    if not marked:
        return []
    walk = _Walk(conf_schema)
    try:
        walk.visit(conf_schema, ())
    except (_Unplaceable, RecursionError):  # RecursionError: a very long chain of $refs
        return [()]
    if not marked <= walk.placed:
        return [()]  # a secret: true the walk could not reach
    return list(dict.fromkeys(walk.found))


class _Unplaceable(Exception):
    pass


_CHILD_MAPS = {"properties": None, "patternProperties": ANY, "dependentSchemas": ""}
_ANY_CHILD = (
    "additionalProperties",
    "items",
    "additionalItems",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_SAME_LEVEL = ("not", "if", "then", "else")
_BRANCHES = ("allOf", "anyOf", "oneOf", "prefixItems")


class _Walk:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.found: list[SecretPath] = []
        self.placed: set[int] = set()
        self.seen: set[tuple[int, SecretPath]] = set()
        self.budget = WALK_BUDGET

    def visit(self, schema: Any, prefix: SecretPath) -> None:
        if not isinstance(schema, dict) or len(prefix) > MAX_PATH_DEPTH:
            return
        if (id(schema), prefix) in self.seen:
            return  # a reference cycle that adds no path step
        self.seen.add((id(schema), prefix))
        self.budget -= 1
        if self.budget < 0:
            raise _Unplaceable
        if schema.get("secret") is True:
            self.found.append(prefix)
            self.placed.add(id(schema))
            return
        for key in ("$ref", "$dynamicRef", "$recursiveRef"):
            if key in schema:
                self.visit(self.resolve(schema[key]), prefix)
        self.children(schema, prefix)

    def children(self, schema: dict[str, Any], prefix: SecretPath) -> None:
        for key, step in _CHILD_MAPS.items():
            mapping = schema.get(key)
            if isinstance(mapping, dict):
                for name, sub in mapping.items():
                    where = (*prefix, str(name)) if step is None else prefix
                    self.visit(sub, (*where, ANY) if step == ANY else where)
        dependencies = schema.get("dependencies")
        if isinstance(dependencies, dict):
            for sub in dependencies.values():
                self.visit(sub, prefix)
        for key in _ANY_CHILD:
            sub = schema.get(key)
            if isinstance(sub, list):  # draft 4-7 tuple items
                for item in sub:
                    self.visit(item, (*prefix, ANY))
            else:
                self.visit(sub, (*prefix, ANY))
        for key in _SAME_LEVEL:
            self.visit(schema.get(key), prefix)
        for key in _BRANCHES:
            branches = schema.get(key)
            if isinstance(branches, list):
                for sub in branches:
                    self.visit(sub, (*prefix, ANY) if key == "prefixItems" else prefix)

    def resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _Unplaceable  # never fetched, so it cannot be followed either
        fragment = unquote(ref[1:])
        if fragment == "" or fragment.startswith("/"):
            node = self.root
            for part in fragment.split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                elif isinstance(node, dict) and part in node:
                    node = node[part]
                else:
                    raise _Unplaceable
            return node
        anchor = _find_anchor(self.root, fragment)
        if anchor is None:
            raise _Unplaceable
        return anchor


def _nodes(schema: Any) -> Iterator[Any]:
    """Every mapping and list in `schema`, each once (aliases share nodes)."""
    stack, seen = [schema], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _secret_nodes(schema: Any) -> set[int]:
    return {id(node) for node in _nodes(schema) if node.get("secret") is True}


def _find_anchor(schema: Any, name: str) -> Any:
    for node in _nodes(schema):
        if node.get("$anchor") == name or node.get("$dynamicAnchor") == name:
            return node
    return None
