"""JSON Schema checks, config against conf_schema, no remote refs, secret masking."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from attune_sync import schemas
from attune_sync.reader import check_file
from attune_sync.schemas import SECRET_MASK, config_issues, mask_secrets, schema_issues

PACK = "ref: p\nlabel: P\ndescription: d\n"
SECRET_SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string"},
        "password": {"type": "string", "secret": True, "minLength": 12},
        "nested": {
            "type": "object",
            "properties": {"token": {"type": "string", "secret": True}},
        },
    },
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_valid_schema_has_no_issues() -> None:
    assert schema_issues(SECRET_SCHEMA, ("conf_schema",)) == []


@pytest.mark.parametrize("field", ["conf_schema", "param_schema", "out_schema"])
def test_invalid_schema_reported_with_path_and_line(field: str) -> None:
    kind = "pack" if field == "conf_schema" else "trigger"
    head = PACK if kind == "pack" else "label: T\n"
    text = head + f"{field}:\n  type: objekt\n"
    [problem] = check_file(f"p/{kind}.yaml", text.encode(), kind).problems  # type: ignore[arg-type]
    assert problem.field == f"{field}.type"
    assert problem.line == text.count("\n")
    assert problem.message.startswith("not a valid JSON Schema: 'objekt' is not valid")


def test_sensor_param_schema_is_checked() -> None:
    text = (
        "label: S\ndescription: d\nentrypoint: /s\nruntime_ref: shell\ntrigger_ref: p.t\n"
        "param_schema:\n  properties: 5\n"
    )
    [problem] = check_file("p/sensors/s.yaml", text.encode(), "sensor").problems
    assert problem.field == "param_schema.properties"
    assert "5 is not of type 'object'" in problem.message


def test_stackstorm_flat_schema_gets_the_hint() -> None:
    text = PACK + "conf_schema:\n  name:\n    type: string\n    required: true\n"
    found = check_file("p/pack.yaml", text.encode(), "pack").problems
    # A flat schema that is *not* under properties is valid JSON Schema (unknown keywords)...
    assert found == ()
    text = (
        "label: T\nparam_schema:\n  type: object\n  properties:\n    name:\n"
        "      type: string\n      required: true\n"
    )
    [problem] = check_file("p/triggers/t.yaml", text.encode(), "trigger").problems
    assert problem.field == "param_schema.properties.name.required"
    assert problem.line == 7
    assert "True is not of type 'array'" in problem.message
    assert problem.hint is not None
    assert "StackStorm-style flat schema" in problem.hint
    assert "`required: [name]`" in problem.hint


def test_config_must_match_conf_schema() -> None:
    text = (
        PACK + "conf_schema:\n  type: object\n  properties:\n    port:\n      type: integer\n"
        "  required: [port]\nconfig:\n  port: eighty\n"
    )
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert problem.field == "config.port"
    assert problem.line == 11
    assert problem.message == "does not match conf_schema: 'eighty' is not of type 'integer'"


def test_missing_required_config_value() -> None:
    [issue] = config_issues({}, {"type": "object", "required": ["region"]})
    assert issue.path == ("config",)
    assert issue.message == "does not match conf_schema: 'region' is a required property"


def test_config_valid_against_schema() -> None:
    assert config_issues({"region": "eu", "password": "x" * 12}, SECRET_SCHEMA) == []


def test_remote_ref_is_never_fetched(no_network: None) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}
    assert schema_issues(schema, ("conf_schema",)) == []
    [issue] = config_issues({"a": 1}, schema)
    assert issue.path == ("conf_schema",)
    assert "https://example.com/s.json" in issue.message
    assert "remote references are never fetched" in issue.message


def test_remote_ref_in_file_is_a_problem_without_network(no_network: None) -> None:
    text = PACK + "conf_schema:\n  $ref: http://127.0.0.1:9/x.json\nconfig:\n  a: 1\n"
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert problem.field == "conf_schema"
    assert "remote references are never fetched" in problem.message


def test_remote_schema_dialect_is_not_fetched(no_network: None) -> None:
    # Issue 10 changes this: an unknown $schema is an error (it used to pass unchecked).
    schema = {"$schema": "https://example.com/meta.json", "type": "object"}
    [issue] = schema_issues(schema, ("param_schema",))
    assert issue.path == ("param_schema", "$schema")
    assert "unknown $schema" in issue.message


def test_local_ref_works() -> None:
    schema = {
        "$defs": {"port": {"type": "integer"}},
        "type": "object",
        "properties": {"port": {"$ref": "#/$defs/port"}},
    }
    [issue] = config_issues({"port": "x"}, schema)
    assert issue.path == ("config", "port")


def test_secret_value_never_in_error_message() -> None:
    [issue] = config_issues({"password": "hunter2"}, SECRET_SCHEMA)
    assert issue.path == ("config", "password")
    assert "hunter2" not in issue.message
    assert issue.message == (
        "does not match conf_schema: the secret value fails the schema's 'minLength' check"
    )


def test_nested_secret_value_never_in_error_message() -> None:
    [issue] = config_issues({"nested": {"token": 12345}}, SECRET_SCHEMA)
    assert "12345" not in issue.message
    assert "secret value" in issue.message


def test_secret_value_not_leaked_by_an_error_on_the_whole_config() -> None:
    schema = {
        "type": "object",
        "maxProperties": 1,
        "properties": {"password": {"type": "string", "secret": True}},
    }
    [issue] = config_issues({"password": "hunter2-secret", "region": "eu"}, schema)
    assert issue.path == ("config",)
    assert "hunter2-secret" not in issue.message
    assert issue.message == (
        "does not match conf_schema: the value (holding secrets) fails the schema's "
        "'maxProperties' check"
    )


def test_secret_not_leaked_in_rendered_problem() -> None:
    text = (
        PACK + "conf_schema:\n  type: object\n  additionalProperties: false\n  properties:\n"
        "    password:\n      type: string\n      secret: true\n      enum: [a, b]\n"
        "config:\n  password: s3cr3t-value\n"
    )
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert "s3cr3t-value" not in problem.render()
    assert problem.field == "config.password"


def test_secret_paths() -> None:
    assert schemas.secret_paths(SECRET_SCHEMA) == [("password",), ("nested", "token")]


def test_mask_secrets_masks_only_secrets_and_copies() -> None:
    config = {"region": "eu", "password": "pw", "nested": {"token": "t", "other": 1}}
    masked = mask_secrets(config, SECRET_SCHEMA)
    assert masked == {
        "region": "eu",
        "password": SECRET_MASK,
        "nested": {"token": SECRET_MASK, "other": 1},
    }
    assert config["password"] == "pw"
    assert config["nested"]["token"] == "t"


def test_mask_secrets_leaves_absent_secrets_absent() -> None:
    assert mask_secrets({"region": "eu"}, SECRET_SCHEMA) == {"region": "eu"}


@pytest.mark.parametrize(
    ("conf_schema", "config", "masked"),
    [
        (  # through a local $ref
            {
                "properties": {"pw": {"$ref": "#/$defs/secret"}},
                "$defs": {"secret": {"secret": True}},
            },
            {"pw": "LEAK-REF", "region": "eu"},
            {"pw": SECRET_MASK, "region": "eu"},
        ),
        (  # every value of a map
            {"properties": {"tokens": {"additionalProperties": {"secret": True}}}},
            {"tokens": {"a": "LEAK-ADDL", "b": "LEAK-ADDL"}},
            {"tokens": {"a": SECRET_MASK, "b": SECRET_MASK}},
        ),
        (  # every item of a list
            {"properties": {"keys": {"items": {"secret": True}}}},
            {"keys": ["LEAK-ITEMS", "LEAK-ITEMS"]},
            {"keys": [SECRET_MASK, SECRET_MASK]},
        ),
        (  # by pattern
            {"patternProperties": {"^pw_": {"secret": True}}},
            {"pw_a": "LEAK-PATTERN"},
            {"pw_a": SECRET_MASK},
        ),
        (  # a secret the walk cannot place hides everything
            {"not": {"secret": True}},
            {"pw": "LEAK-ANYWHERE"},
            SECRET_MASK,
        ),
    ],
)
def test_secrets_are_masked_wherever_the_schema_puts_them(
    conf_schema: dict[str, Any], config: dict[str, Any], masked: Any
) -> None:
    assert mask_secrets(config, conf_schema) == masked


def test_type_errors_on_secrets_reached_through_items_do_not_quote_them() -> None:
    schema = {"properties": {"keys": {"items": {"type": "string", "secret": True}}}}
    [issue] = config_issues({"keys": [123456]}, schema)
    assert "123456" not in issue.message
    assert "secret" in issue.message
