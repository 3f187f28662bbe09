"""A real uvicorn server on 127.0.0.1, port 0, over a fresh database of each backend."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from attune_sync.api.auth import TokenStore
from attune_sync.api.server import build_server
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.logs import configure_logging
from attune_sync.sync import sync

BUNDLED = Path(__file__).resolve().parents[2] / "packs"
WRITE_TOKEN = "w-0123456789abcdef"
READ_TOKEN = "r-0123456789abcdef"
TOKENS = TokenStore([(WRITE_TOKEN, "write", "alice"), (READ_TOKEN, "read", None)])


@dataclass
class Api:
    """A running server and what the test needs around it."""

    base: str
    engine: Engine
    client: httpx.Client
    packs: Path
    """A copy of the bundled packs (apply it with `sync_packs`)."""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return (
            self.client.post(path, json=body, **kw)
            if body is not None
            else self.client.post(path, **kw)
        )

    def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.client.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.delete(path, **kw)

    def sync_packs(self) -> Any:
        return sync(self.engine, str(self.packs))


def start_server(
    engine: Engine, tokens: TokenStore | None = TOKENS
) -> tuple[Any, threading.Thread, int]:
    """Serve in a thread on a socket bound to port 0; (server, thread, port)."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = build_server(engine, tokens, shutdown_timeout=5)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    return server, thread, port


def stop_server(server: Any, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session", autouse=True)
def _stdlib_logging() -> None:
    """Logs go through the standard library from the first request on, as under `serve`,
    so a test can point them at its own captured stream (see `log_lines`)."""
    configure_logging("json", "info")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # structlog hands the standard library its event dict as the record's message.
        if isinstance(record.msg, dict):
            self.entries.append(dict(record.msg))


@pytest.fixture
def api_log() -> Iterator[list[dict[str, Any]]]:
    """The API's log entries (structlog event dicts) written during the test."""
    records = _Records()
    logger = logging.getLogger("attune_sync.api")
    logger.addHandler(records)
    try:
        yield records.entries
    finally:
        logger.removeHandler(records)


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[Api]:
    server, thread, port = start_server(engine)
    base = f"http://127.0.0.1:{port}"
    packs = shutil.copytree(BUNDLED, tmp_path / "packs", ignore=shutil.ignore_patterns("*.md"))
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        try:
            yield Api(base, engine, client, packs)
        finally:
            stop_server(server, thread)


PG_ADMIN_URL = os.environ.get(
    "ATTUNE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """One server per backend for a whole module, for tests that change nothing (400s)."""
    folder = tmp_path_factory.mktemp("shared")
    name = f"attune_sync_t_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'api.db'}"
    else:
        with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        parsed = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        url = parsed.render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    server, thread, port = start_server(engine)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield Api(base, engine, client, folder)
    finally:
        stop_server(server, thread)
        engine.dispose()
        if request.param == "postgresql":
            with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
