"""/healthz, /readyz, /metrics and /status on a stdlib ThreadingHTTPServer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import Metrics
from .state import DaemonState

log = structlog.get_logger(__name__)


class StatusServer:
    def __init__(self, host: str, port: int, state: DaemonState, metrics: Metrics) -> None:
        handler = _handler(state, metrics)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="http",
            daemon=True,
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        log.info("http listening", host=self.address[0], port=self.address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


def _handler(state: DaemonState, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "attune-sync"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "text/plain; charset=utf-8", b"ok\n")
            elif path == "/readyz":
                ready = state.ready
                snap = state.snapshot()
                body = {
                    "ready": ready,
                    "errors": snap["errors"],
                    "leader": snap["leader"],
                    "abandoned": snap["abandoned"],
                }
                self._json(200 if ready else 503, body)
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
            elif path == "/status":
                self._json(200, state.snapshot())
            else:
                self._json(404, {"error": "not found"})

        def do_HEAD(self) -> None:
            # Probes and load balancers may ask with HEAD: the same answer, no body.
            self.do_GET()

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, indent=2, default=str).encode() + b"\n"
            self._send(code, "application/json", data)

        def _send(self, code: int, content_type: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Probes hit these every few seconds; keep them out of the info log.
            log.debug("http request", request=format % args)

    return Handler
