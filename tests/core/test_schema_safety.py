"""Pack schemas cannot fetch, read files, hang, crash or show a secret (issue 10, §3 and §4)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from attune_sync import patterns
from attune_sync.reader import check_file
from attune_sync.render import render_plan
from attune_sync.schemas import config_issues, schema_issues
from attune_sync.secrets import SECRET_MASK, Secret, mask_secrets, masked, reveal, secret_paths

PACK = "ref: p\nlabel: P\ndescription: d\n"


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'{"type": "object"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("field", ["conf_schema", "param_schema"])
def test_an_http_schema_dialect_is_an_error_and_never_fetched(
    server: tuple[str, list[str]], field: str
) -> None:
    base, hits = server
    schema = {"$schema": f"{base}/meta", "type": "object"}
    [issue] = schema_issues(schema, (field,))
    assert issue.path == (field, "$schema")
    assert "unknown $schema" in issue.message
    assert "https://json-schema.org/draft/2020-12/schema" in (issue.hint or "")
    assert hits == []


def test_refs_anywhere_are_never_fetched(server: tuple[str, list[str]]) -> None:
    base, hits = server
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": f"{base}/a"}, "b": {"$dynamicRef": f"{base}/b"}},
        "$defs": {"c": {"$ref": f"{base}/c"}},
    }
    assert schema_issues(schema, ("conf_schema",)) == []
    [issue] = config_issues({"a": 1, "b": 2}, schema)
    assert "remote references are never fetched" in issue.message
    text = PACK + f"conf_schema:\n  $schema: {base}/meta\nconfig:\n  a: 1\n"
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert problem.field == "conf_schema.$schema"
    assert hits == []


def test_a_file_url_is_never_read() -> None:
    # file:///dev/zero used to be read until memory ran out.
    for schema in (
        {"$schema": "file:///dev/zero"},
        {"type": "object", "properties": {"a": {"$ref": "file:///dev/zero"}}},
    ):
        started = time.monotonic()
        issues = schema_issues(schema, ("conf_schema",)) or config_issues({"a": 1}, schema)
        assert issues, schema
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "uri",
    [
        "https://json-schema.org/draft/2020-12/schema",
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-07/schema",
        "http://json-schema.org/draft-04/schema#",
        "https://json-schema.org/draft/2019-09/schema",
    ],
)
def test_known_drafts_are_accepted(uri: str) -> None:
    schema = {"$schema": uri, "type": "object", "properties": {"a": {"type": "integer"}}}
    assert schema_issues(schema, ("conf_schema",)) == []
    [issue] = config_issues({"a": "x"}, schema)
    assert issue.path == ("config", "a")


# --------------------------------------------------------------------------- regexes

REDOS = "^(a|a)*$"
EVIL = "a" * 40 + "!"


def test_the_budget_stops_a_catastrophic_pattern() -> None:
    with patterns.budget(0.2), pytest.raises(patterns.PatternBudgetExceeded):
        patterns.search(REDOS, "a" * 5000 + "!")


@pytest.mark.parametrize(
    ("schema", "config"),
    [
        ({"properties": {"v": {"type": "string", "pattern": REDOS}}}, {"v": "a" * 5000 + "!"}),
        ({"patternProperties": {REDOS: {"type": "integer"}}}, {"a" * 5000 + "!": 1}),
        (
            {"patternProperties": {REDOS: {}}, "additionalProperties": False},
            {"a" * 5000 + "!": 1},
        ),
        (
            {"patternProperties": {REDOS: {}}, "unevaluatedProperties": False},
            {"a" * 5000 + "!": 1},
        ),
    ],
)
def test_a_redos_pattern_is_a_clear_error_within_the_budget(
    schema: dict[str, Any], config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patterns, "FILE_BUDGET_S", 0.3)
    started = time.monotonic()
    [issue] = config_issues(config, {"type": "object", **schema})
    assert time.monotonic() - started < 10
    assert issue.path == ("conf_schema",)
    assert "took more than 0.3 s" in issue.message
    assert "(a+)+" in (issue.hint or "")


def test_every_jsonschema_module_that_matches_regexes_goes_through_the_budget() -> None:
    import importlib.util
    import pkgutil
    import re
    from pathlib import Path

    import jsonschema

    users = []
    for info in pkgutil.iter_modules(jsonschema.__path__, "jsonschema."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None
        assert spec.origin is not None
        source = Path(spec.origin).read_text()
        if "re.search(" in source or "re.match(" in source:
            users.append(info.name)
            module = importlib.import_module(info.name)
            assert module.re is patterns.BUDGETED_RE, info.name  # type: ignore[attr-defined]
    assert set(users) <= set(patterns.PATCHED_MODULES)
    assert patterns.BUDGETED_RE.compile is re.compile


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "conf_schema:\n  type: object\n  properties:\n    a: {type: string, pattern: '('}\n"
            "config:\n  a: x\n",
            "conf_schema.properties.a.pattern",
        ),
        (
            "conf_schema:\n  type: object\n  patternProperties:\n    '[a-': {}\nconfig:\n  a: 1\n",
            "conf_schema.patternProperties.[a-",
        ),
    ],
)
def test_an_invalid_regex_is_a_clear_error(text: str, field: str) -> None:
    [problem] = check_file("p/pack.yaml", (PACK + text).encode(), "pack").problems
    assert problem.field == field
    assert "is not a valid regular expression" in problem.message
    assert problem.line is not None


def test_an_invalid_regex_in_a_trigger_schema_is_reported() -> None:
    text = "label: T\nparam_schema:\n  properties:\n    a: {pattern: '(?P<'}\n"
    [problem] = check_file("p/triggers/t.yaml", text.encode(), "trigger").problems
    assert "is not a valid regular expression" in problem.message


# --------------------------------------------------------------------------- recursion


def test_a_ref_cycle_is_a_clear_error() -> None:
    schema = {
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "$ref": "#/$defs/a",
    }
    [issue] = config_issues({"x": 1}, schema)
    assert issue.path == ("conf_schema",)
    assert "$ref cycle" in issue.message


def test_a_self_referencing_schema_does_not_make_the_secret_walk_exponential() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#"},
            "b": {"$ref": "#"},
            "c": {"$ref": "#"},
            "pw": {"type": "string", "secret": True},
        },
    }
    started = time.monotonic()
    paths = secret_paths(schema)
    assert time.monotonic() - started < 5
    assert paths == [()]  # cannot list them all: hide the whole config
    assert mask_secrets({"a": {"pw": "x"}, "pw": "y"}, schema) == SECRET_MASK
    text = (
        PACK
        + "conf_schema:\n"
        + "".join(f"  {line}\n" for line in json.dumps(schema, indent=1).splitlines())
    )
    started = time.monotonic()
    assert check_file("p/pack.yaml", (text + "config: {pw: y}\n").encode(), "pack").problems == ()
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    "value", ["back\\slash-SECRET", "new\nline-SECRET", "tab\there-SECRET", "quote'\"-SECRET"]
)
def test_a_secret_with_characters_repr_escapes_stays_masked(value: str) -> None:
    schema = {
        "type": "object",
        "properties": {"creds": {"type": "object", "properties": {"pw": {"secret": True}}}},
        "additionalProperties": False,
    }
    for config in ({"creds": {"pw": value}, "extra": 1}, {"creds": {"pw": value}, "x": value}):
        for issue in config_issues(config, {**schema, "maxProperties": 1}):
            assert "SECRET" not in issue.message, issue
    nested = {
        "type": "object",
        "properties": {"creds": {"maxProperties": 0, **schema["properties"]["creds"]}},
    }
    [issue] = config_issues({"creds": {"pw": value}}, nested)
    assert "SECRET" not in issue.message
    assert "holding secrets" in issue.message


SECRET = {"type": "string", "secret": True}


@pytest.mark.parametrize(
    ("conf_schema", "config"),
    [
        (
            {"if": {"properties": {"k": {"const": 1}}}, "then": {"properties": {"pw": SECRET}}},
            {"k": 1, "pw": "S"},
        ),
        (
            {"if": {"properties": {"k": {"const": 1}}}, "else": {"properties": {"pw": SECRET}}},
            {"k": 2, "pw": "S"},
        ),
        ({"dependentSchemas": {"k": {"properties": {"pw": SECRET}}}}, {"k": 1, "pw": "S"}),
        ({"dependencies": {"k": {"properties": {"pw": SECRET}}}}, {"k": 1, "pw": "S"}),
        ({"properties": {"pw": {"$ref": "#/$defs/a%20b"}}, "$defs": {"a b": SECRET}}, {"pw": "S"}),
        ({"properties": {"pw": {"$ref": "#/$defs/a~1b"}}, "$defs": {"a/b": SECRET}}, {"pw": "S"}),
        (
            {"properties": {"pw": {"$ref": "#tok"}}, "$defs": {"t": {"$anchor": "tok", **SECRET}}},
            {"pw": "S"},
        ),
        ({"properties": {"l": {"contains": SECRET}}}, {"l": ["S", "S"]}),
        ({"properties": {"l": {"prefixItems": [SECRET]}}}, {"l": ["S"]}),
        ({"properties": {"pw": {"not": {"type": "integer"}, **SECRET}}}, {"pw": "S"}),
        ({"properties": {"pw": {"$ref": "other.json#/x"}}, "$defs": {"x": SECRET}}, {"pw": "S"}),
        ({"unevaluatedProperties": SECRET}, {"pw": "S"}),
        ({"properties": {"o": {"anyOf": [{"properties": {"pw": SECRET}}]}}}, {"o": {"pw": "S"}}),
    ],
)
def test_secrets_are_masked_wherever_the_schema_marks_them(
    conf_schema: dict[str, Any], config: dict[str, Any]
) -> None:
    shown = json.dumps(mask_secrets(config, conf_schema))
    assert '"S"' not in shown, shown


def test_the_secret_type_never_shows_its_value() -> None:
    secret = Secret("hunter2\\n")
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret:>20}"):
        assert "hunter2" not in shown
    assert repr({"pw": secret}) == "{'pw': ********}"
    assert reveal({"a": [secret]}) == {"a": ["hunter2\\n"]}
    assert masked({"a": [secret]}) == {"a": [SECRET_MASK]}
    assert Secret("x") == Secret("x")
    assert Secret("x") != "x"


def test_a_secret_in_a_plan_is_masked_in_text_and_json() -> None:
    from attune_sync.model import Change, FieldChange, Plan
    from attune_sync.render import dumps, plan_json

    config = {"pw": Secret("hunter2"), "region": "eu"}
    change = Change(
        "create", "pack", "p", "p", (FieldChange("config", None, config),), {"config": config}
    )
    plan = Plan(changes=[change])
    assert "hunter2" not in render_plan(plan)
    assert "hunter2" not in dumps(plan_json(plan))
    assert "hunter2" not in dumps({"raw": change.values})
    assert change.written_values()["config"]["pw"] == "hunter2"


def test_structlog_never_shows_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from attune_sync.logs import configure_logging

    for fmt in ("json", "console"):
        configure_logging(fmt, "info")  # type: ignore[arg-type]
        structlog.get_logger("t").info(
            "change", config={"pw": Secret("hunter2")}, raw=Secret("x1y2")
        )
        err = capsys.readouterr().err
        assert "hunter2" not in err
        assert "x1y2" not in err
        assert SECRET_MASK in err


def test_an_error_naming_only_keys_keeps_its_message_beside_secrets() -> None:
    schema = {
        "type": "object",
        "properties": {"pw": {"type": "string", "secret": True}},
        "required": ["region"],
        "additionalProperties": False,
    }
    messages = sorted(issue.message for issue in config_issues({"pw": "S3CRET", "x": 1}, schema))
    assert messages == [
        "does not match conf_schema: 'region' is a required property",
        "does not match conf_schema: Additional properties are not allowed ('x' was unexpected)",
    ]
