"""Strict, fast YAML loading for pack files.

PyYAML's defaults follow YAML 1.1, which silently rewrites data: ``yes`` becomes True,
``1.10`` the float 1.1, ``12:30`` the integer 750, ``0755`` 493 and ``2024-01-01`` a date.
Duplicate keys silently keep the last value. This loader uses libyaml (``CSafeLoader``) with
YAML 1.2 core-schema scalars, so only ``true``/``false`` are booleans and only plain decimal
numbers are numbers; anything else stays the string the author wrote. Where a field then
has the wrong type, validation says so and shows how to quote it.

Values are converted from libyaml's node tree, which keeps every node's line and column:
the last file's tree is kept, so `locate` places all of a file's problems from the one
parse (looking keys up through a per-mapping index), never by parsing again per problem.
Documents are bounded before conversion: `MAX_NODES` values after alias expansion and
`MAX_DEPTH` levels of nesting, so nothing downstream (schema checks, masking, hashing,
the database driver) ever meets a value deep enough to exhaust Python's stack.
"""

from __future__ import annotations

import math
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .yamlerrors import YamlProblem as YamlProblem
from .yamlerrors import encoding_problem, syntax_problem

try:  # libyaml is part of every PyYAML wheel; the pure-Python loader is only a fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 1024 * 1024
"""Files larger than this are refused: no pack file needs a megabyte."""

MAX_NODES = 100_000
"""Values in one document after aliases are expanded; stops billion-laughs documents."""

MAX_DEPTH = 64
"""Levels of nested mappings and lists in one document; no pack file needs more."""


def _core_schema_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    # Copy before changing: the resolver table is a class attribute shared by every loader.
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    replaced = {
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
    for first, entries in _BaseLoader.yaml_implicit_resolvers.items():
        kept = [(tag, regexp) for tag, regexp in entries if tag not in replaced]
        if kept:
            resolvers[first] = kept
    core = [
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        ("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            # No .inf/.nan: JSON, and so the database, cannot hold them.
            re.compile(r"^[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$"),
            "-+0123456789",
        ),
    ]
    for tag, regexp, firsts in core:
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, regexp))
    return resolvers


class StrictLoader(_BaseLoader):
    """libyaml's parser and composer, resolving plain scalars by the YAML 1.2 core schema."""

    yaml_implicit_resolvers = _core_schema_resolvers()


_INTERN_UP_TO = 64
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Unsupported(Exception):
    def __init__(self, message: str, node: yaml.Node, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = node.start_mark
        self.hint = hint


class _Converter:
    """Turns libyaml's node tree into plain JSON-like values.

    Replaces PyYAML's generic constructor, which costs more than libyaml's parsing itself:
    pack files only ever hold JSON values, so the conversion is a direct walk. An aliased
    node is converted once and shared, as PyYAML does; `_check_size` bounds the expansion.
    """

    def __init__(self) -> None:
        self.done: dict[int, Any] = {}

    def value(self, node: yaml.Node) -> Any:
        converted = self.done.get(id(node))
        if converted is not None:
            return converted
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise _Unsupported(f"the tag {_short(node.tag)!r} is not supported", node)
            mapping: dict[str, Any] = {}
            self.done[id(node)] = mapping
            self.fill(mapping, node)
            return mapping
        if node.tag != _SEQ:
            raise _Unsupported(f"the tag {_short(node.tag)!r} is not supported", node)
        items: list[Any] = []
        self.done[id(node)] = items
        items.extend(self.value(item) for item in node.value)
        return items

    def fill(self, mapping: dict[str, Any], node: yaml.MappingNode) -> None:
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                raise _Unsupported("a key must be a plain value, not a list or mapping", key_node)
            if key_node.tag == _MERGE:
                merged.extend(self.merge_sources(value_node))
                continue
            # Keys are kept as written: JSON keys are strings, and `200:` must stay "200".
            # Interned: a tree of 41,000 files repeats a few hundred keys millions of times.
            key = sys.intern(str(key_node.value))
            if "\x00" in key:
                raise _Unsupported("the key contains a NUL character", key_node)
            if key in mapping:
                raise DuplicateKeyError(_short(key), key_node.start_mark)
            mapping[key] = self.value(value_node)
        for source in merged:  # YAML merge keys: explicit keys win over merged ones
            for key, value in self.value(source).items():
                mapping.setdefault(key, value)

    def merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        if type(node) is yaml.MappingNode:
            return [node]
        if type(node) is yaml.SequenceNode and all(
            type(item) is yaml.MappingNode for item in node.value
        ):
            return list(node.value)
        raise _Unsupported("a merge key (<<) needs a mapping or a list of mappings", node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if "\x00" in text:
            # PostgreSQL text and jsonb cannot hold NUL; refuse it for every backend alike.
            raise _Unsupported("the value contains a NUL character", node)
        if tag == _STR:
            # Short values ("string", "object", refs, labels) repeat as often as keys do.
            return sys.intern(text) if len(text) <= _INTERN_UP_TO else text
        try:
            if tag == _INT:
                return int(text)
            if tag == _FLOAT:
                number = float(text)
                if not math.isfinite(number):
                    raise _Unsupported(
                        f"{text} is too large to store as a number",
                        node,
                        hint="quote it if it is meant as text",
                    )
                return number
        except ValueError:
            raise _Unsupported(f"{_short(text)!r} is not a number", node) from None
        if tag == _BOOL:
            if text.lower() in ("true", "false"):
                return text.lower() == "true"
            raise _Unsupported(f"{_short(text)!r} is not true or false", node)
        if tag == _NULL:
            return None
        raise _Unsupported(
            f"the tag {_short(tag)!r} is not supported",
            node,
            hint="pack files hold JSON values: strings, numbers, true/false, null, lists, maps",
        )


def _short(text: str, limit: int = 40) -> str:
    """An excerpt for an error message: the value may be long, or a secret."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DuplicateKeyError(yaml.MarkedYAMLError):
    def __init__(self, key: str, mark: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", mark)
        self.key = key


MAX_DEPTH_HINT = "flatten the document; nothing in a pack file needs that much nesting"


def _compose(text: bytes | str) -> yaml.Node | None:
    loader = StrictLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def _check_size(root: yaml.Node) -> None:
    """Refuse a tree too large (after aliases) or too deep, before converting any of it."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise _Unsupported(
                f"the document expands to more than {MAX_NODES:,} values (through aliases)",
                root,
                hint="remove the anchors and aliases that repeat large parts of the document",
            )
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > MAX_DEPTH:
            raise _Unsupported(
                f"the document is nested more than {MAX_DEPTH} levels deep", node, MAX_DEPTH_HINT
            )
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, depth + 1) for _, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


class _LastTree(threading.local):
    """The node tree of the last file parsed on this thread, for `locate`."""

    text: bytes | str | None = None
    node: yaml.Node | None = None


_last = _LastTree()


def _load(text: bytes | str) -> Any:
    node = _compose(text)
    _last.text, _last.node = text, node
    if node is None:
        return None
    _check_size(node)
    return _Converter().value(node)


def parse(text: bytes | str) -> Any:
    """Parse one YAML document strictly. Raises YamlProblem with a 1-based location."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlProblem(
            f"file is {len(text):,} bytes, more than the {MAX_FILE_BYTES:,}-byte limit",
            hint="split it up; pack files hold one pack, trigger or sensor each",
        )
    try:
        value = _load(text)
    except _Unsupported as unsupported:
        raise YamlProblem(
            unsupported.message,
            line=unsupported.mark.line + 1,
            column=unsupported.mark.column + 1,
            hint=unsupported.hint,
        ) from None
    except RecursionError:
        raise YamlProblem("the document is nested too deeply", hint=MAX_DEPTH_HINT) from None
    except DuplicateKeyError as error:
        mark = error.problem_mark
        raise YamlProblem(
            f"duplicate key {error.key!r}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            field=error.key,
            hint="each key may appear once in a mapping; remove or merge the repeated one",
        ) from None
    except yaml.MarkedYAMLError as error:
        raise syntax_problem(text, error) from None
    except yaml.reader.ReaderError as error:
        raise encoding_problem(text, error.position, error.reason) from None
    except yaml.YAMLError as error:
        raise YamlProblem(f"invalid YAML: {error}") from None
    except UnicodeDecodeError as error:
        raise encoding_problem(text, error.start, error.reason) from None
    return value


# --------------------------------------------------------------------------- locating fields


@dataclass(frozen=True, slots=True)
class Location:
    line: int
    column: int
    source: str | None = None
    """The scalar exactly as written, when the location is a scalar."""


def locate(
    text: bytes | str, path: Sequence[str | int], *, at_key: bool = False
) -> Location | None:
    """Find where the value at `path` (mapping keys and list indexes) was written.

    Falls back to the deepest ancestor that exists, so a missing key points at its mapping.
    `at_key` points at the last key itself rather than its value (an unknown key). Reuses
    the node tree of the last `parse` of the same text on this thread.
    """
    if _last.text is not text and _last.text != text:
        try:
            _last.text, _last.node = text, _compose(text)
        except yaml.YAMLError:
            _last.text, _last.node = None, None
            return None
    node = _last.node
    if node is None:
        return None
    found = _mark(node)
    for index, step in enumerate(path):
        child = _child(node, step)
        if child is None:
            break
        key_node, node = child
        if at_key and index == len(path) - 1:
            found = Location(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        elif isinstance(node, yaml.ScalarNode):
            found = _mark(node)
        else:
            found = Location(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return found


def _mark(node: yaml.Node) -> Location:
    source = None
    if isinstance(node, yaml.ScalarNode):
        source = str(node.value) if not node.style else None
    return Location(node.start_mark.line + 1, node.start_mark.column + 1, source)


_KEY_INDEX = "_attune_sync_keys"


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        # Indexed once per mapping: a file with thousands of problems in one mapping must
        # not scan it once per problem.
        index: dict[str, tuple[yaml.Node, yaml.Node]] | None = getattr(node, _KEY_INDEX, None)
        if index is None:
            index = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    index.setdefault(str(key_node.value), (key_node, value_node))
            setattr(node, _KEY_INDEX, index)
        return index.get(str(step))
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        item = node.value[step]
        return item, item
    return None
