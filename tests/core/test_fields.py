"""Field rules: unknown keys, types, required fields, lengths, refs, semver, ref defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.fieldcheck import check_document
from attune_sync.fields import PACK_RULES, SENSOR_RULES, TRIGGER_RULES
from attune_sync.reader import check_file, read_tree
from core.trees import pack_doc, sensor_doc, trigger_doc

PACK = {"ref": "p", "label": "P", "description": "d"}
SENSOR = {
    "label": "S",
    "description": "d",
    "entrypoint": "/s.py",
    "runtime_ref": "shell",
    "trigger_ref": "p.t",
}


def issues(data: dict, rules=PACK_RULES, what: str = "pack") -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return {i.dotted: (i.message, i.hint) for i in check_document(data, rules, what)}


def test_valid_documents_have_no_issues() -> None:
    assert issues(PACK) == {}
    assert issues({"label": "T"}, TRIGGER_RULES, "trigger") == {}
    assert issues(SENSOR, SENSOR_RULES, "sensor") == {}


def test_unknown_key_suggests_the_close_one() -> None:
    found = issues({**PACK, "lable": "x"})
    assert found == {"lable": ("unknown field 'lable'", "did you mean `label`?")}


def test_unknown_key_without_close_match_lists_fields() -> None:
    message, hint = issues({**PACK, "zzzz": 1})["zzzz"]
    assert message == "unknown field 'zzzz'"
    assert hint is not None
    assert hint.startswith("pack fields are: author, conf_schema, config")


def test_trigger_and_sensor_typos() -> None:
    assert issues({"label": "T", "enabeld": True}, TRIGGER_RULES, "trigger")["enabeld"][1] == (
        "did you mean `enabled`?"
    )
    sensor = {**SENSOR, "entry_piont": "/x"}
    assert issues(sensor, SENSOR_RULES, "sensor")["entry_piont"][1] == "did you mean `entry_point`?"


def test_unknown_key_reported_with_line() -> None:
    doc = check_file("p/pack.yaml", b"ref: p\nlabel: P\ndescription: d\nlable: L\n", "pack")
    [problem] = doc.problems
    assert (problem.line, problem.field, problem.hint) == (4, "lable", "did you mean `label`?")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("label", 5, "expected a string, got the number 5"),
        ("label", ["a"], "expected a string, got a list"),
        ("tags", "a", "expected a list of strings, got the string 'a'"),
        ("meta", [1], "expected a mapping, got a list"),
        ("conf_schema", "x", "expected a parameter schema (a mapping), got the string 'x'"),
        ("is_standard", 1, "expected true or false, got the number 1"),
    ],
)
def test_wrong_types(field: str, value: object, expected: str) -> None:
    assert issues({**PACK, field: value})[field][0] == expected


def test_list_items_must_be_non_empty_strings() -> None:
    found = issues({**PACK, "tags": ["ok", 3, ""]})
    assert found["tags[1]"][0] == "expected a string, got the number 3"
    assert found["tags[2]"][0] == "must not be an empty string"


@pytest.mark.parametrize("field", ["ref", "label", "description"])
def test_pack_required_fields(field: str) -> None:
    data = {k: v for k, v in PACK.items() if k != field}
    assert issues(data)[field] == ("required field is missing", f"add `{field}: ...`")


@pytest.mark.parametrize(
    ("field", "canonical"),
    [
        ("description", "description"),
        ("entrypoint", "entry_point"),
        ("trigger_ref", "trigger_types"),
    ],
)
def test_sensor_required_fields(field: str, canonical: str) -> None:
    data = {k: v for k, v in SENSOR.items() if k != field}
    assert issues(data, SENSOR_RULES, "sensor")[canonical][0] == "required field is missing"


def test_sensor_label_and_runner_type_may_be_left_out() -> None:
    # Changed by issue 12: Attune generates a missing label and defaults runner_type.
    data = {k: v for k, v in SENSOR.items() if k not in ("label", "runtime_ref")}
    assert issues(data, SENSOR_RULES, "sensor") == {}


def test_trigger_needs_no_field() -> None:
    # Changed by issue 12: a missing label is generated from the ref, as Attune does.
    assert issues({}, TRIGGER_RULES, "trigger") == {}
    assert issues({"label": "T", "description": None}, TRIGGER_RULES, "trigger") == {}


def test_null_required_field_is_empty() -> None:
    assert issues({**PACK, "label": None})["label"][0] == "must not be empty"


@pytest.mark.parametrize(("field", "limit"), [("ref", 255), ("label", 255)])
def test_ref_and_label_lengths(field: str, limit: int) -> None:
    value = "a" * limit
    assert issues({**PACK, field: value}) == {}
    assert issues({**PACK, field: value + "a"})[field][0] == (
        f"is {limit + 1} characters long, more than the {limit} allowed"
    )
    assert issues({**PACK, field: ""})[field][0] == "must not be empty"


def test_entrypoint_length() -> None:
    ok = {**SENSOR, "entrypoint": "e" * 1024}
    assert issues(ok, SENSOR_RULES, "sensor") == {}
    long = {**SENSOR, "entrypoint": "e" * 1025}
    assert issues(long, SENSOR_RULES, "sensor")["entrypoint"][0] == (
        "is 1025 characters long, more than the 1024 allowed"
    )
    empty = {**SENSOR, "entrypoint": ""}
    assert issues(empty, SENSOR_RULES, "sensor")["entrypoint"][0] == "must not be empty"


def test_required_description_has_min_length_one() -> None:
    assert issues({**PACK, "description": ""})["description"][0] == "must not be empty"
    sensor = {**SENSOR, "description": ""}
    assert issues(sensor, SENSOR_RULES, "sensor")["description"][0] == "must not be empty"


@pytest.mark.parametrize("ref", ["a..b", "a b", ".a", "a.", "a/b", "ä"])
def test_invalid_refs(ref: str) -> None:
    message, hint = issues({**PACK, "ref": ref})["ref"]
    assert message == f"{ref!r} is not a valid ref"
    assert hint is not None
    assert "single dots" in hint


@pytest.mark.parametrize("ref", ["a", "a.b", "A-1.b_2.c"])
def test_valid_refs(ref: str) -> None:
    assert issues({**PACK, "ref": ref}) == {}


def test_sensor_trigger_ref_pattern() -> None:
    found = issues({**SENSOR, "trigger_ref": "p..t"}, SENSOR_RULES, "sensor")
    assert found["trigger_ref"][0] == "'p..t' is not a valid ref"


@pytest.mark.parametrize("version", ["1.0.0", "0.1.2-rc.1", "1.2.3+build.5", "10.20.30"])
def test_semver_accepted(version: str) -> None:
    assert issues({**PACK, "version": version}) == {}


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.10"])
def test_semver_refused(version: str) -> None:
    message, hint = issues({**PACK, "version": version})["version"]
    assert message == f"{version!r} is not a semantic version"
    assert hint is not None
    assert 'version: "1.0.0"' in hint


# --------------------------------------------------------------------------- ref defaults


def test_component_ref_defaults_to_pack_and_stem(tmp_path: Path) -> None:
    (tmp_path / "folder" / "triggers").mkdir(parents=True)
    (tmp_path / "folder" / "sensors").mkdir()
    (tmp_path / "folder" / "pack.yaml").write_text(pack_doc("my.pack"))
    (tmp_path / "folder" / "triggers" / "fired.yaml").write_text(trigger_doc())
    (tmp_path / "folder" / "sensors" / "watch.yml").write_text(sensor_doc("my.pack.fired"))
    state = read_tree(tmp_path)
    bundle = state.packs["my.pack"]
    assert list(bundle.triggers) == ["my.pack.fired"]
    assert list(bundle.sensors) == ["my.pack.watch"]
    assert bundle.triggers["my.pack.fired"].source == "folder/triggers/fired.yaml"


def test_explicit_ref_must_start_with_pack_ref(tmp_path: Path) -> None:
    (tmp_path / "p" / "triggers").mkdir(parents=True)
    (tmp_path / "p" / "pack.yaml").write_text(pack_doc("p"))
    (tmp_path / "p" / "triggers" / "t.yaml").write_text("ref: other.t\nlabel: T\n")
    state = read_tree(tmp_path)
    assert state.packs == {}
    [invalid] = state.invalid
    [problem] = invalid.problems
    assert problem.path == "p/triggers/t.yaml"
    assert problem.field == "ref"
    assert problem.message == "trigger ref 'other.t' does not start with the pack ref 'p.'"
    assert "`p.t`" in (problem.hint or "")


def test_ref_equal_to_pack_prefix_without_dot_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p" / "triggers").mkdir(parents=True)
    (tmp_path / "p" / "pack.yaml").write_text(pack_doc("p"))
    (tmp_path / "p" / "triggers" / "t.yaml").write_text("ref: pt.x\nlabel: T\n")
    [invalid] = read_tree(tmp_path).invalid
    assert "does not start with the pack ref 'p.'" in invalid.problems[0].message


def test_file_name_that_makes_an_invalid_ref(tmp_path: Path) -> None:
    (tmp_path / "p" / "triggers").mkdir(parents=True)
    (tmp_path / "p" / "pack.yaml").write_text(pack_doc("p"))
    (tmp_path / "p" / "triggers" / "bad name.yaml").write_text(trigger_doc())
    [invalid] = read_tree(tmp_path).invalid
    [problem] = invalid.problems
    assert problem.path == "p/triggers/bad name.yaml"
    assert "the file name gives the ref 'p.bad name', which is not a valid ref" in problem.message
