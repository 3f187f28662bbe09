"""Serving: the `serve` command's refusals, limits, probes, logs, and the SIGTERM drain."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from attune_sync.api.app import MAX_BODY_BYTES
from attune_sync.db.engine import make_engine

from .conftest import WRITE_TOKEN, Api, start_server, stop_server

SRC = Path(__file__).resolve().parents[2] / "src"


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    environment.pop("ATTUNE_SYNC_API_TOKENS", None)
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "attune_sync.cli", "serve", "--log-format", "json", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    for line in process.stderr:
        if '"serving the API"' in line:
            return int(json.loads(line)["port"])
    raise AssertionError(f"the server did not start: {process.wait()}")


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        ((), {}, 2, "no API token configured"),
        (("--no-auth", "--listen", "0.0.0.0:0"), {}, 64, "--no-auth is refused on 0.0.0.0"),
        (("--no-auth",), {"ATTUNE_SYNC_API_LISTEN": "[::]:0"}, 64, "--no-auth is refused on ::"),
        (("--listen", "nowhere"), {"ATTUNE_SYNC_API_TOKENS": "t"}, 64, "expected HOST:PORT"),
        (("--token-file", "/nonexistent/tokens"), {}, 2, "cannot read the token file"),
    ],
)
def test_serve_refuses_unsafe_or_broken_settings(
    sqlite_url: str, args: tuple[str, ...], env: dict[str, str], code: int, message: str
) -> None:
    process = _serve("--database", sqlite_url, *args, env=env)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code
    assert message in err


def test_serve_without_auth_on_loopback(sqlite_url: str) -> None:
    process = _serve("--database", sqlite_url, "--no-auth", "--listen", "127.0.0.1:0")
    try:
        port = _port(process)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/packs", timeout=30)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_sigterm_drains_a_request_in_flight(pg_url: str) -> None:
    """A create blocked on the test's uncommitted row is still answered after SIGTERM."""
    make_engine(pg_url).dispose()
    process = _serve(
        "--database", pg_url, "--listen", "127.0.0.1:0", env={"ATTUNE_SYNC_API_TOKENS": "tok"}
    )
    libpq = pg_url.replace("postgresql+psycopg", "postgresql")
    try:
        port = _port(process)
        with psycopg.connect(libpq) as blocker:
            blocker.execute("INSERT INTO pack (ref, label, description) VALUES ('held', 'H', 'd')")
            with httpx.Client(timeout=60) as client:
                result: dict[str, httpx.Response] = {}

                def create() -> None:
                    result["answer"] = client.post(
                        f"http://127.0.0.1:{port}/api/v1/packs",
                        headers={"Authorization": "Bearer tok"},
                        json={"ref": "held", "label": "H", "description": "d"},
                    )

                thread = threading.Thread(target=create)
                thread.start()
                with psycopg.connect(libpq, autocommit=True) as watcher:
                    while not watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    ).fetchone()[0]:  # type: ignore[index]
                        time.sleep(0.01)
                process.send_signal(signal.SIGTERM)
                blocker.rollback()
                thread.join(60)
        assert result["answer"].status_code == 201
        process.communicate(timeout=60)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def down_engine() -> Iterator[Engine]:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/nothing", check=False)
    yield engine
    engine.dispose()


def test_readyz_and_requests_when_the_database_is_down(down_engine: Engine) -> None:
    server, thread, port = start_server(down_engine)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 503
        answer = httpx.get(
            f"{base}/api/v1/packs", headers={"Authorization": f"Bearer {WRITE_TOKEN}"}, timeout=30
        )
        assert answer.status_code == 503
        assert "database is unavailable" in answer.json()["error"]
    finally:
        stop_server(server, thread)


def test_bodies_over_one_mebibyte_are_413(api: Api) -> None:
    big = b'{"ref": "p", "label": "P", "description": "' + b"x" * MAX_BODY_BYTES + b'"}'
    answer = api.client.post("/api/v1/packs", content=big)
    assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    chunked = api.client.post("/api/v1/packs", content=chunks())
    assert chunked.status_code == 413
    assert api.get("/api/v1/packs").json()["data"] == []


def test_access_log_lines_and_request_ids(api: Api, api_log: list[dict[str, Any]]) -> None:
    answer = api.get("/api/v1/packs/ghost", headers={"X-Request-ID": "req-42"})
    assert answer.headers["x-request-id"] == "req-42"
    generated = api.get("/api/v1/packs").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    logged = next(entry for entry in api_log if entry.get("request_id") == "req-42")
    assert logged["event"] == "request"
    assert logged["method"] == "GET"
    assert logged["path"] == "/api/v1/packs/ghost"
    assert logged["status"] == 404
    assert isinstance(logged["duration_ms"], float)
    assert any(entry.get("request_id") == generated for entry in api_log)


def test_unknown_routes_and_methods_answer_in_the_seed_shape(api: Api) -> None:
    assert api.get("/api/v1/nothing").json() == {"error": "No endpoint GET /api/v1/nothing"}
    patched = api.client.patch("/api/v1/packs/x", json={})
    assert patched.status_code == 405
    assert set(patched.json()) == {"error"}
