"""The image's build files: pinned dependencies, two stages, labels, a healthcheck that works."""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from attune_sync.daemon.settings import DEFAULT_LISTEN
from attune_sync.healthcheck import check, listen_address, probe_url

ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"not an exact pin: {line!r}"
        assert version.strip(), f"not an exact pin: {line!r}"
        pins[_canonical(name)] = version
    return pins


def test_every_runtime_dependency_is_pinned_in_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        _canonical(match.group()) for dep in project["dependencies"] if (match := _NAME.match(dep))
    }
    assert names <= set(_pins()), f"not pinned: {sorted(names - set(_pins()))}"


def test_dockerfile_is_two_stage_pinned_labelled_non_root_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    assert "COPY --from=build" in text
    assert "constraints.txt" in text
    for label in ("title", "version", "revision", "source", "licenses"):
        assert f"org.opencontainers.image.{label}=" in text
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert 'CMD ["python", "-m", "attune_sync.healthcheck"]' in text


def test_dockerignore_keeps_the_context_to_what_the_build_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines  # everything out, then only the build's inputs back in
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M))
    for sources in copied:
        for source in sources.split():
            assert f"!{source.rstrip('/')}" in {line.rstrip("/") for line in lines}


# ----------------------------------------------------------------------------- healthcheck


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, DEFAULT_LISTEN),
        ([], {"ATTUNE_SYNC_LISTEN": "off"}, None),
        ([], {"ATTUNE_SYNC_LISTEN": " OFF "}, None),
        ([], {"ATTUNE_SYNC_LISTEN": "none"}, None),
        (
            ["attune-sync", "watch", "--listen", "127.0.0.1:9"],
            {"ATTUNE_SYNC_LISTEN": "off"},
            "127.0.0.1:9",
        ),
        (["attune-sync", "watch", "--listen=off"], {"ATTUNE_SYNC_LISTEN": ":8080"}, None),
        (["attune-sync", "serve"], {"ATTUNE_SYNC_LISTEN": "off"}, "127.0.0.1:3000"),
        (["attune-sync", "serve"], {"ATTUNE_SYNC_API_LISTEN": ":3001"}, ":3001"),
    ],
)
def test_listen_address_follows_the_daemon(
    argv: list[str], environ: dict[str, str], expected: str | None
) -> None:
    assert listen_address(argv, environ) == expected


def test_probe_url_asks_loopback_for_wildcards() -> None:
    assert probe_url("0.0.0.0:8080") == "http://127.0.0.1:8080/healthz"
    assert probe_url(":8080") == "http://127.0.0.1:8080/healthz"
    assert probe_url("[::]:81") == "http://[::1]:81/healthz"
    assert probe_url("10.0.0.5:81") == "http://10.0.0.5:81/healthz"


@pytest.fixture
def healthz() -> Iterator[tuple[int, list[int]]]:
    """A loopback server whose /healthz answers the status at the head of the list."""
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], status
    finally:
        server.shutdown()
        server.server_close()


def test_check_is_healthy_when_healthz_answers_200(healthz: tuple[int, list[int]]) -> None:
    port, status = healthz
    healthy, why = check(["attune-sync", "watch", "--listen", f"127.0.0.1:{port}"], {})
    assert healthy, why
    status[0] = 500
    healthy, why = check([], {"ATTUNE_SYNC_LISTEN": f"127.0.0.1:{port}"})
    assert not healthy
    assert "500" in why


def test_check_is_unhealthy_when_nothing_listens(healthz: tuple[int, list[int]]) -> None:
    _port, _ = healthz
    healthy, why = check([], {"ATTUNE_SYNC_LISTEN": "127.0.0.1:1"})
    assert not healthy
    assert "127.0.0.1:1" in why


def test_check_rejects_a_bad_address() -> None:
    healthy, why = check([], {"ATTUNE_SYNC_LISTEN": "nonsense"})
    assert not healthy
    assert "HOST:PORT" in why
