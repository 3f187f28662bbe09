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
