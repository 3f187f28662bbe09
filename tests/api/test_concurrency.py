"""Two clients creating one ref at once: one 201, one 409, never a 500."""

from __future__ import annotations

import threading

import httpx
import pytest

from .conftest import WRITE_TOKEN, Api


def _race(api: Api, path: str, body: dict[str, object], clients: int = 2) -> list[int]:
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
        with httpx.Client(base_url=api.base, headers=headers, timeout=60) as client:
            barrier.wait()
            status = client.post(path, json=body).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=create) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_pack_creates(api: Api, round_: int) -> None:
    body = {"ref": f"race{round_}", "label": "R", "description": "d"}
    assert _race(api, "/api/v1/packs", body) == [201, 409]


def test_concurrent_trigger_and_sensor_creates(api: Api) -> None:
    api.post("/api/v1/packs", {"ref": "p", "label": "P", "description": "d"})
    assert _race(api, "/api/v1/triggers", {"ref": "p.t", "pack_ref": "p", "label": "T"}, 4) == [
        201,
        409,
        409,
        409,
    ]
    sensor = {
        "ref": "p.s",
        "pack_ref": "p",
        "label": "S",
        "description": "d",
        "entrypoint": "s.py",
        "runtime_ref": "shell",
        "trigger_ref": "p.t",
    }
    assert _race(api, "/api/v1/sensors", sensor, 4) == [201, 409, 409, 409]


def test_writes_wait_for_the_shared_write_lock_then_give_up_with_503(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync (here: a transaction holding the lock) makes API writes queue, never interleave."""
    from sqlalchemy import select, text

    from attune_sync.api import db as api_db
    from attune_sync.db.engine import make_engine
    from attune_sync.db.locks import WRITE_LOCK_KEY
    from attune_sync.db.migrate import upgrade

    from .conftest import start_server, stop_server

    engine = make_engine(pg_url)
    upgrade(engine)
    server, thread, port = start_server(engine)
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    body = {"ref": "queued", "label": "Q", "description": "d"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:
            monkeypatch.setattr(api_db, "WRITE_LOCK_WAIT_S", 0.3)
            with engine.begin() as holder:
                holder.execute(select(text(f"pg_advisory_xact_lock({WRITE_LOCK_KEY})")))
                busy = c.post("/api/v1/packs", json=body)
                assert busy.status_code == 503
                assert "write lock" in busy.json()["error"]
                assert busy.headers["retry-after"] == "5"
                assert c.get("/api/v1/packs").status_code == 200  # reads never wait
            assert c.post("/api/v1/packs", json=body).status_code == 201
    finally:
        stop_server(server, thread)
        engine.dispose()
