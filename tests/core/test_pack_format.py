"""Attune's pack format: canonical names, aliases, defaults, flat schemas (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.fields import is_valid_ref
from attune_sync.flatschema import as_json_schema, flat_issues, is_flat, mask_secrets
from attune_sync.reader import check_file, read_tree
from attune_sync.schemas import SECRET_MASK
from core.trees import pack_doc, write_tree

PACK = b"ref: p\nlabel: P\ndescription: d\n"


def test_alias_next_to_its_canonical_name_names_both_lines() -> None:
    text = b"label: T\nparameters: {}\nparam_schema: {}\n"
    [problem] = check_file("p/triggers/t.yaml", text, "trigger").problems
    assert problem.line == 3
    assert problem.field == "param_schema"
    assert "`param_schema` and `parameters` both set 'parameters'" in problem.message
    assert "`parameters` is on line 2" in problem.message


def test_two_aliases_of_one_field_are_an_error() -> None:
    text = b"label: A\noutput_schema: {}\nout_schema: {}\n"
    [problem] = check_file("p/actions/a.yaml", text, "action").problems
    assert "(they are aliases)" in problem.message


def test_pack_may_hold_label_and_name_and_label_wins(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": "ref: p\nname: Name\nlabel: Label\ndescription: d\n"}
    )
    assert read_tree(root).packs["p"].pack.label == "Label"
    root = write_tree(tmp_path / "q", {"q/pack.yaml": "ref: q\nname: Name\ndescription: d\n"})
    assert read_tree(root).packs["q"].pack.label == "Name"


@pytest.mark.parametrize(
    ("alias", "canonical", "value"),
    [
        ("config_schema", "conf_schema", "{a: {type: string}}"),
        ("metadata", "meta", "{k: v}"),
        ("keywords", "tags", "[x, y]"),
        ("system", "is_standard", "true"),
    ],
)
def test_pack_aliases_give_the_canonical_value(
    tmp_path: Path, alias: str, canonical: str, value: str
) -> None:
    by_alias = write_tree(tmp_path / "a", {"p/pack.yaml": f"{PACK.decode()}{alias}: {value}\n"})
    by_name = write_tree(tmp_path / "c", {"p/pack.yaml": f"{PACK.decode()}{canonical}: {value}\n"})
    one, other = read_tree(by_alias).packs["p"].pack, read_tree(by_name).packs["p"].pack
    assert one == other
    assert getattr(one, canonical) not in (None, (), False)


def test_accepted_only_keys_are_type_checked_but_not_stored(tmp_path: Path) -> None:
    extra = "author: Me\nemail: me@example.com\nenabled: true\ntesting: {enabled: false}\n"
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": PACK.decode() + extra})
    assert read_tree(root).problems == []
    [problem] = check_file("p/pack.yaml", PACK + b"enabled: maybe\n", "pack").problems
    assert problem.field == "enabled"
    [problem] = check_file("p/pack.yaml", PACK + b"dependencies: core\n", "pack").problems
    assert problem.message == "expected a list of strings, got the string 'core'"


def test_trigger_in_attunes_names_with_defaults(tmp_path: Path) -> None:
    trigger = (
        "ref: p.http_request\ntype: webhook\ntags: [web]\nexamples: [{a: 1}]\n"
        "parameters:\n  url:\n    type: string\n    required: true\n"
        "output:\n  status:\n    type: integer\n"
    )
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": PACK.decode(), "p/triggers/h.yaml": trigger}
    )
    state = read_tree(root)
    assert state.problems == []
    spec = state.packs["p"].triggers["p.http_request"]
    assert spec.label == "Http Request"
    assert spec.enabled is True
    assert spec.param_schema == {"url": {"type": "string", "required": True}}
    assert spec.out_schema == {"status": {"type": "integer"}}


def test_missing_ref_comes_from_name_then_file_stem(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": PACK.decode(),
            "p/triggers/file_stem.yaml": "name: given\n",
            "p/triggers/other.yaml": "description: d\n",
        },
    )
    assert set(read_tree(root).packs["p"].triggers) == {"p.given", "p.other"}


def test_sensor_defaults_and_trigger_types(tmp_path: Path) -> None:
    sensor = (
        "ref: p.watch\ndescription: d\nentry_point: watch\n"
        "trigger_types: [one, p.two, one]\npoll_interval: 30\nconfig: {a: 1}\n"
    )
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": PACK.decode(), "p/sensors/w.yaml": sensor}
    )
    spec = read_tree(root).packs["p"].sensors["p.watch"]
    assert spec.runtime_ref == "native"
    assert spec.trigger_refs == ("p.one", "p.two")
    assert (spec.label, spec.enabled, spec.config) == ("Watch", True, {"a": 1})


@pytest.mark.parametrize("alias", ["trigger_type", "trigger_ref"])
def test_a_single_trigger_alias_is_a_list_of_one(tmp_path: Path, alias: str) -> None:
    sensor = f"description: d\nentrypoint: e\nruntime_ref: shell\n{alias}: p.t\n"
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": PACK.decode(), "p/sensors/s.yaml": sensor}
    )
    assert read_tree(root).packs["p"].sensors["p.s"].trigger_refs == ("p.t",)


def test_accepted_only_sensor_key_with_a_wrong_type() -> None:
    text = b"description: d\nentry_point: e\ntrigger_types: [t]\npoll_interval: soon\n"
    [problem] = check_file("p/sensors/s.yaml", text, "sensor").problems
    assert (problem.field, problem.line) == ("poll_interval", 4)
    assert problem.message == "expected a whole number, got the string 'soon'"


def test_a_ref_ending_in_a_newline_is_not_a_ref() -> None:
    assert is_valid_ref("p.t")
    assert not is_valid_ref("p.t\n")
    [problem] = check_file(
        "p/pack.yaml", b'ref: "p\\n"\nlabel: P\ndescription: d\n', "pack"
    ).problems
    assert problem.message == "'p\\n' is not a valid ref"


# --------------------------------------------------------------------------- flat schemas


def test_recognition_of_flat_and_standard_schemas() -> None:
    assert is_flat({"url": {"type": "string"}})
    assert is_flat({"type": {"type": "string"}})  # a parameter named `type`
    assert is_flat({})
    assert not is_flat({"type": "object", "properties": {}})
    assert not is_flat({"type": "array", "items": {"type": "string"}})
    assert not is_flat({"$ref": "#/x"})
    assert not is_flat({"properties": 5})


def test_flat_schema_is_converted_as_attune_does() -> None:
    flat = {
        "url": {"type": "string", "required": True, "position": 0},
        "token": {"type": "string", "secret": True, "required": False},
    }
    assert as_json_schema(flat) == {
        "type": "object",
        "properties": {"url": {"type": "string"}, "token": {"type": "string"}},
        "required": ["url"],
    }


def test_nested_inline_required_is_converted_too() -> None:
    flat = {
        "headers": {"type": "object", "properties": {"h": {"type": "string", "required": True}}}
    }
    nested = as_json_schema(flat)["properties"]["headers"]
    assert nested == {"type": "object", "properties": {"h": {"type": "string"}}, "required": ["h"]}
    assert flat_issues(flat, ("parameters",)) == []


def test_flat_entry_that_is_not_a_mapping_is_an_error() -> None:
    [issue] = flat_issues({"url": "string"}, ("parameters",))
    assert issue.path == ("parameters", "url")
    assert "expected a parameter definition (a mapping)" in issue.message


def test_invalid_flat_definition_is_located_where_it_was_written() -> None:
    text = b"label: T\nparameters:\n  url:\n    type: strang\n"
    [problem] = check_file("p/triggers/t.yaml", text, "trigger").problems
    assert (problem.field, problem.line) == ("parameters.url.type", 4)
    assert problem.message.startswith("not a valid JSON Schema")


def test_flat_conf_schema_validates_config_and_masks_secrets() -> None:
    conf_schema = {
        "region": {"type": "string", "required": True},
        "auth": {"type": "object", "properties": {"key": {"type": "string", "secret": True}}},
        "hosts": {
            "type": "array",
            "items": {"type": "object", "properties": {"password": {"secret": True}}},
        },
    }
    config = {"region": "eu", "auth": {"key": "k1"}, "hosts": [{"password": "p1", "name": "a"}]}
    assert mask_secrets(config, conf_schema) == {
        "region": "eu",
        "auth": {"key": SECRET_MASK},
        "hosts": [{"password": SECRET_MASK, "name": "a"}],
    }
    text = PACK + b"conf_schema:\n  region:\n    type: string\n    required: true\nconfig: {}\n"
    [problem] = check_file("p/pack.yaml", text, "pack").problems
    assert problem.message == "does not match conf_schema: 'region' is a required property"


# --------------------------------------------------------------------------- folders


@pytest.mark.parametrize("folder", ["trigger", "Triggers", "sensor", "action", "rule", "runtime"])
def test_misspelt_component_folder_makes_the_pack_invalid(tmp_path: Path, folder: str) -> None:
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": pack_doc("p"), f"p/{folder}/x.yaml": "label: X\n"}
    )
    state = read_tree(root)
    assert state.packs == {}
    [invalid] = state.invalid
    [problem] = invalid.problems
    assert problem.path == f"p/{folder}"
    assert "did you mean `" in (problem.hint or "")


def test_folders_attune_has_and_we_do_not_sync_are_skipped_quietly(tmp_path: Path) -> None:
    files = {"p/pack.yaml": pack_doc("p")}
    for folder in ("permission_sets", "queues", "workflows", "tests", "dashboards", "policies"):
        files[f"p/{folder}/x.yaml"] = "anything: here\n"
    files["p/README.md"] = "# not YAML\n"
    state = read_tree(write_tree(tmp_path / "packs", files))
    assert state.problems == []
    assert list(state.packs) == ["p"]


def test_a_missing_dependency_is_a_warning(tmp_path: Path) -> None:
    from attune_sync.model import ActualState
    from attune_sync.settle import settle

    extra = "dependencies: [core@>=1.0, p2]\n"
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": PACK.decode() + extra, "p2/pack.yaml": pack_doc("p2")}
    )
    settled = settle(read_tree(root), ActualState(runtimes={"shell": 1}), database=False)
    assert set(settled.valid) == {"p", "p2"}
    [warning] = settled.warnings
    assert (warning.field, warning.severity) == ("dependencies[0]", "warning")
    assert warning.message == "depends on pack 'core', which is not in the packs folder"


def test_skipped_folders_are_one_debug_note_per_pack(tmp_path: Path) -> None:
    import structlog
    from structlog.testing import capture_logs

    files = {"p/pack.yaml": pack_doc("p"), "p/queues/q.yaml": "a: 1\n", "p/tests/t.yaml": "a: 1\n"}
    saved = structlog.get_config()
    structlog.reset_defaults()  # whatever level an earlier test configured
    try:
        with capture_logs() as logs:
            state = read_tree(write_tree(tmp_path / "packs", files))
    finally:
        structlog.configure(**saved)
    assert state.warnings == []
    notes = [entry for entry in logs if entry["event"] == "folders not synced"]
    assert notes == [
        {
            "event": "folders not synced",
            "folder": "p",
            "names": ["queues", "tests"],
            "log_level": "debug",
        }
    ]


def test_runtime_versions_need_a_version_string() -> None:
    text = b"ref: p.rt\nversions:\n  - version: '3.12'\n  - is_default: true\n  - version: 3\n"
    problems = check_file("p/runtimes/rt.yaml", text, "runtime").problems
    assert [(p.field, p.line) for p in problems] == [("versions[1]", 4), ("versions[2]", 5)]
    assert problems[0].message == "a runtime version needs a `version` string"


def test_action_choices_suggest_the_close_one() -> None:
    text = b"parameter_delivery: stdn\noutput_format: xml\n"
    found = {p.field: p for p in check_file("p/actions/a.yaml", text, "action").problems}
    assert found["parameter_delivery"].hint == "did you mean `stdin`?"
    assert found["output_format"].message == "'xml' is not one of text, json, yaml, jsonl"
