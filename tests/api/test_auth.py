"""Bearer tokens: missing, unknown, read-only; the token file; never logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from attune_sync.api.auth import TokenFileError, TokenStore, parse_env_tokens, read_token_file

from .conftest import READ_TOKEN, WRITE_TOKEN, Api

PACK = {"ref": "p", "label": "P", "description": "d"}


def _bare(api: Api) -> httpx.Client:
    return httpx.Client(base_url=api.base, timeout=30)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/packs"),
        ("GET", "/api/v1/triggers/x"),
        ("POST", "/api/v1/sensors"),
        ("DELETE", "/api/v1/packs/x"),
        ("GET", "/api/v1/nothing-here"),
    ],
)
def test_no_token_and_a_bad_token_are_401(api: Api, method: str, path: str) -> None:
    with _bare(api) as client:
        missing = client.request(method, path)
        assert missing.status_code == 401
        assert "Authorization: Bearer" in missing.json()["error"]
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for header in ("Bearer nope", f"Basic {WRITE_TOKEN}", "Bearer", WRITE_TOKEN):
            bad = client.request(method, path, headers={"Authorization": header})
            assert bad.status_code == 401, header
            assert set(bad.json()) == {"error"}


def test_a_read_token_reads_but_may_not_write(api: Api) -> None:
    api.post("/api/v1/packs", PACK)
    with _bare(api) as client:
        headers = {"Authorization": f"Bearer {READ_TOKEN}"}
        assert client.get("/api/v1/packs/p", headers=headers).status_code == 200
        for method, path in (
            ("POST", "/api/v1/packs"),
            ("PUT", "/api/v1/packs/p"),
            ("DELETE", "/api/v1/packs/p"),
            ("POST", "/api/v1/sensors/x/disable"),
        ):
            refused = client.request(method, path, headers=headers, json={})
            assert refused.status_code == 403
            assert "only read" in refused.json()["error"]
    assert api.get("/api/v1/packs/p").status_code == 200


def test_probes_and_docs_need_no_token(api: Api) -> None:
    with _bare(api) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"ready": True}
        spec = client.get("/api/v1/openapi.json").json()
        assert "/api/v1/triggers/{trigger_ref}/sensors" in spec["paths"]
        assert "/api/v1/packs/{ref}" in spec["paths"]
        assert "swagger" in client.get("/docs").text.lower()


def test_tokens_never_reach_the_log(api: Api, api_log: list[dict[str, Any]]) -> None:
    with _bare(api) as client:
        client.get("/api/v1/packs", headers={"Authorization": "Bearer secret-guess-123"})
        client.get("/api/v1/packs", headers={"Authorization": f"Bearer {WRITE_TOKEN}"})
    assert [entry["status"] for entry in api_log] == [401, 200]
    written = repr(api_log)
    assert "secret-guess-123" not in written
    assert WRITE_TOKEN not in written


def test_token_sources(tmp_path: Path) -> None:
    assert parse_env_tokens(" a, b ,,") == [("a", "write", None), ("b", "write", None)]
    path = tmp_path / "tokens"
    path.write_text("# ops\nr1 read\n\nw1 write bob\n")
    assert read_token_file(str(path)) == [("r1", "read", None), ("w1", "write", "bob")]
    store = TokenStore(read_token_file(str(path)))
    assert store.caller("w1") is not None
    assert store.caller("w1").name == "bob"  # type: ignore[union-attr]
    assert store.caller("r1").access == "read"  # type: ignore[union-attr]
    assert store.caller("r1").name.startswith("token:")  # type: ignore[union-attr]
    assert "r1" not in store.caller("r1").name  # type: ignore[union-attr]
    assert store.caller("w") is None
    path.write_text("s3cr3t admin\n")
    with pytest.raises(TokenFileError) as error:
        read_token_file(str(path))
    assert ":1:" in str(error.value)
    assert "s3cr3t" not in str(error.value)
    with pytest.raises(TokenFileError):
        read_token_file(str(tmp_path / "missing"))
