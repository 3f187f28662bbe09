"""The editor JSON Schemas: generated from the field tables, shipped, and in step with the
validator (what one accepts the other accepts, for everything a schema can say)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from attune_sync.editor_schemas import KINDS, file_name, render, schema_for
from attune_sync.fieldcheck import check_document
from attune_sync.fields import COMPONENT_FOLDERS, TABLES, Field, FieldType

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "schemas"


def _kind_of(path: Path) -> str:
    return "pack" if path.name in ("pack.yaml", "pack.yml") else COMPONENT_FOLDERS[path.parent.name]


def _schema_accepts(kind: str, data: Any) -> bool:
    # jsonschema-rs: Rust regexes, where `$` is the end of the text, as in the validator's
    # fullmatch (Python's re.search would accept a ref ending in a newline).
    return bool(jsonschema_rs.validator_for(schema_for(kind)).is_valid(data))


@pytest.mark.parametrize("kind", KINDS)
def test_each_schema_is_valid_draft_2020_12(kind: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema_for(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_schema_files_are_the_generated_ones(kind: str) -> None:
    shipped = SHIPPED / file_name(kind)
    assert shipped.read_text() == render(kind), (
        f"{shipped} is out of date: run `attune-sync schema {kind} > {shipped}`"
    )


def test_every_bundled_pack_file_validates() -> None:
    files = sorted(p for p in (REPO / "packs").rglob("*.y*ml") if p.parent.name != "packs")
    assert len(files) > 10
    for path in files:
        data = yaml.safe_load(path.read_text())
        errors = [
            e.message
            for e in jsonschema_rs.validator_for(schema_for(_kind_of(path))).iter_errors(data)
        ]
        assert errors == [], path


def _documented_examples() -> list[tuple[str, str]]:
    """(path, YAML) of every file of the complete example pack in docs/pack-format.md."""
    text = (REPO / "docs" / "pack-format.md").read_text()
    found = re.findall(r"`(packs/[^`]+\.ya?ml)`:\s*```yaml\n(.*?)```", text, re.DOTALL)
    return [(path, body) for path, body in found]


def test_the_documented_example_pack_validates() -> None:
    examples = _documented_examples()
    kinds = {_kind_of(Path(path)) for path, _ in examples}
    assert kinds == set(KINDS), "the complete example should show every kind"
    for path, body in examples:
        data = yaml.safe_load(body)
        assert _schema_accepts(_kind_of(Path(path)), data), path


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("trigger", {"label": "X", "tirggers": 1}),
        ("trigger", {"enabled": "yes"}),
        ("trigger", {"parameters": {}, "param_schema": {}}),
        ("sensor", {"description": "d", "entry_point": "x"}),
        ("sensor", {"description": "d", "entry_point": "x", "trigger_types": []}),
        ("sensor", {"description": "d", "entry_point": "x", "trigger_types": ["a b"]}),
        ("pack", {"ref": "p", "label": "P", "description": "d", "version": "1.0"}),
        ("pack", {"ref": "p\n", "label": "P", "description": "d"}),
        ("pack", {"ref": "p", "description": "d", "name": None}),
        ("action", {"parameter_delivery": "env"}),
        ("rule", {"trigger_ref": "t"}),
        ("runtime", {"aliases": ["ok", ""]}),
    ],
)
def test_the_schema_flags_what_the_validator_flags(kind: str, data: dict[str, Any]) -> None:
    assert check_document(data, TABLES[kind]) != []
    assert not _schema_accepts(kind, data)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("pack", {"ref": "p", "name": "P", "label": "P", "description": "d", "system": True}),
        # `name` beside `label` is not read, so its value does not matter (found by hypothesis).
        ("pack", {"ref": "p", "label": "P", "description": "d", "name": None}),
        ("trigger", {"parameters": {"x": {"type": "string", "required": True}}}),
        ("sensor", {"description": "d", "entry_point": "x", "trigger_types": "timer"}),
        ("sensor", {"description": "d", "entrypoint": "x", "trigger_ref": "a.b"}),
        ("rule", {"trigger_ref": "t", "action_ref": "a", "conditions": []}),
        ("runtime", {"name": "Go", "versions": [{"version": "1.22"}]}),
    ],
)
def test_the_schema_accepts_what_the_validator_accepts(kind: str, data: dict[str, Any]) -> None:
    assert check_document(data, TABLES[kind]) == []
    assert _schema_accepts(kind, data)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(
        ["", "x", "a.b", "a b", "1.0.0", "1.0", "stdin", "env", "json", "x" * 300, "a.b\n"]
    ),
    st.lists(st.sampled_from(["", "a", "a.b", "a b", 1]), max_size=3),
    st.dictionaries(st.sampled_from(["type", "x"]), st.sampled_from(["string", 1]), max_size=2),
)


def _fitting(field: Field) -> st.SearchStrategy[Any]:
    """Values the field takes, so that many random documents are valid ones."""
    if field.choices:
        return st.sampled_from(field.choices)
    if field.is_semver:
        return st.just("1.2.3")
    if field.is_ref:
        ref = st.sampled_from(["a.b", "core", "x_y-z.t"])
        return st.lists(ref, min_size=1, max_size=2) if field.type == FieldType.STRING_LIST else ref
    by_type: dict[FieldType, st.SearchStrategy[Any]] = {
        FieldType.STRING: st.sampled_from(["x", "Some text"]),
        FieldType.BOOLEAN: st.booleans(),
        FieldType.INTEGER: st.integers(1, 9),
        FieldType.STRING_LIST: st.lists(st.sampled_from(["a", "b-c"]), min_size=1, max_size=2),
        FieldType.OBJECT_LIST: st.lists(st.just({"version": "1"}), max_size=2),
        FieldType.CONDITIONS: st.sampled_from([{}, []]),
    }
    return by_type.get(field.type, st.just({}))


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(KINDS))
    table = TABLES[kind]
    names = sorted(name for field in table for name in field.names)
    document: dict[str, Any] = {}
    # Mostly the required fields with fitting values, then a few keys of any kind.
    for field in table:
        if field.required and draw(st.integers(0, 9)) > 0:
            document[field.name] = draw(_fitting(field))
    for key in draw(st.lists(st.sampled_from([*names, "unknown_key"]), max_size=4, unique=True)):
        field = table.lookup.get(key)
        fits = field is not None and draw(st.integers(0, 2)) > 0
        document[key] = draw(_fitting(field) if fits and field else _VALUES)
    return kind, document


@settings(max_examples=400, deadline=None)
@given(_documents())
def test_schema_and_validator_agree_on_random_documents(case: tuple[str, dict[str, Any]]) -> None:
    kind, data = case
    assert (check_document(data, TABLES[kind]) == []) == _schema_accepts(kind, data), data
