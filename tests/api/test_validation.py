"""Every validation rule, in the seeds' 400 shape; pagination edges."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

PACK = {"ref": "p", "label": "P", "description": "d"}


def _details(api: Api, path: str, body: Any, method: str = "POST") -> dict[str, list[str]]:
    answer = api.client.request(method, path, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "Validation failed"
    details: dict[str, list[str]] = answer.json()["details"]
    return details


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**PACK, "ref": ""}, "ref", "Must be between 1 and 255 characters"),
        ({**PACK, "ref": "x" * 256}, "ref", "Must be between 1 and 255 characters"),
        ({"ref": "p", "description": "d"}, "label", "Field is required"),
        ({**PACK, "label": "x" * 256}, "label", "Must be between 1 and 255 characters"),
        ({**PACK, "ref": "bad ref"}, "ref", "'bad ref' is not a valid ref"),
        ({**PACK, "ref": "a..b"}, "ref", "'a..b' is not a valid ref"),
        ({**PACK, "version": "1.0"}, "version", "'1.0' is not a semantic version"),
        ({**PACK, "version": 1}, "version", "Expected a string, got the number 1"),
        ({**PACK, "is_standard": "yes"}, "is_standard", "Expected true or false"),
        ({**PACK, "tags": "a"}, "tags", "Expected a list of strings"),
        ({**PACK, "tags": [1]}, "tags[0]", "Expected a string"),
        ({**PACK, "runtime_deps": ["python3"]}, "runtime_deps[0]", "expected an id"),
        ({**PACK, "meta": []}, "meta", "Expected a mapping"),
        ({**PACK, "colour": "red"}, "colour", "Unknown field 'colour'"),
        ({**PACK, "lable": "x"}, "lable", "did you mean `label`?"),
        ({**PACK, "conf_schema": {"type": "nope"}}, "conf_schema.type", "Not a valid JSON Schema"),
        (
            {**PACK, "conf_schema": {"type": "object", "properties": {"a": {"required": True}}}},
            "conf_schema.properties.a.required",
            "StackStorm-style flat schema",
        ),
        (
            {
                **PACK,
                "conf_schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                "config": {"n": "ten"},
            },
            "config.n",
            "does not match conf_schema",
        ),
    ],
)
def test_pack_rules(shared_api: Api, body: dict[str, Any], field: str, message: str) -> None:
    details = _details(shared_api, "/api/v1/packs", body)
    assert field in details, details
    assert any(message.lower() in text.lower() for text in details[field]), details


def test_unknown_runtime_id_is_a_404(api: Api) -> None:
    answer = api.post("/api/v1/packs", {**PACK, "runtime_deps": [1, 99]})
    assert answer.status_code == 404
    assert answer.json() == {"error": "Runtime 99 not found"}


def test_update_checks_config_against_the_stored_schema(api: Api) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert api.post("/api/v1/packs", {**PACK, "conf_schema": schema}).status_code == 201
    details = _details(api, "/api/v1/packs/p", {"config": {"n": "x"}}, "PUT")
    assert "config.n" in details
    assert api.put("/api/v1/packs/p", {"config": {"n": 3}}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/api/v1/triggers", {"label": "T"}, "ref", "Field is required"),
        ("/api/v1/triggers", {"ref": "p.t"}, "label", "Field is required"),
        (
            "/api/v1/triggers",
            {"ref": "p.t", "label": "T", "enabled": 1},
            "enabled",
            "true or false",
        ),
        (
            "/api/v1/triggers",
            {"ref": "q.t", "pack_ref": "p", "label": "T"},
            "ref",
            "does not start",
        ),
        (
            "/api/v1/triggers",
            {"ref": "p.t", "label": "T", "param_schema": {"properties": 3}},
            "param_schema.properties",
            "Not a valid JSON Schema",
        ),
        ("/api/v1/sensors", {"ref": "p.s", "label": "S"}, "pack_ref", "Field is required"),
        ("/api/v1/sensors", {"ref": "p.s", "label": "S"}, "entrypoint", "Field is required"),
        (
            "/api/v1/sensors",
            {"ref": "p.s", "label": "S", "entrypoint": "x" * 1025},
            "entrypoint",
            "Must be between 1 and 1024 characters",
        ),
        (
            "/api/v1/sensors",
            {"ref": "p.s", "label": "S", "description": ""},
            "description",
            "Must not be empty",
        ),
    ],
)
def test_component_rules(
    shared_api: Api, path: str, body: dict[str, Any], field: str, message: str
) -> None:
    details = _details(shared_api, path, body)
    assert field in details, details
    assert any(message.lower() in text.lower() for text in details[field]), details


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1, 2]", b"", b'{"ref": NaN}', b"\xff\xfe", b'"text"'],
)
def test_malformed_bodies_are_400s(shared_api: Api, raw: bytes) -> None:
    answer = shared_api.client.post(
        "/api/v1/packs", content=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "Validation failed"
    assert "body" in answer.json()["details"]


def test_nul_in_a_string_is_a_400_not_a_500(api: Api) -> None:
    answer = api.post("/api/v1/packs", {**PACK, "meta": {"a": "x\u0000y"}})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("per_page=10&page_size=20", "page_size"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/packs", "/api/v1/triggers", "/api/v1/sensors/enabled"])
def test_pagination_out_of_range_is_a_400(
    shared_api: Api, path: str, query: str, field: str
) -> None:
    answer = shared_api.get(f"{path}?{query}")
    assert answer.status_code == 400
    assert field in answer.json()["details"]


def test_pagination_edges(api: Api) -> None:
    for index in range(7):
        api.post("/api/v1/packs", {**PACK, "ref": f"p{index}"})
    last = api.get("/api/v1/packs?page=4&per_page=2").json()
    assert [p["ref"] for p in last["data"]] == ["p6"]
    assert last["pagination"] == {"page": 4, "per_page": 2, "total": 7, "total_pages": 4}
    beyond = api.get("/api/v1/packs?page=5&per_page=2").json()
    assert beyond["data"] == []
    assert api.get("/api/v1/packs?page_size=100").json()["pagination"]["per_page"] == 100
    both = api.get("/api/v1/packs?per_page=3&page_size=3").json()
    assert len(both["data"]) == 3
