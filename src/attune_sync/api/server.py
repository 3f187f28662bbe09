"""Running the application on uvicorn, on a socket the caller bound (so port 0 works)."""

from __future__ import annotations

import signal
import socket
from types import FrameType

import uvicorn
from sqlalchemy import Engine

from .app import create_app
from .auth import TokenStore


def build_server(
    engine: Engine, tokens: TokenStore | None, shutdown_timeout: int = 10
) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(engine, tokens),
        log_config=None,  # structlog owns the logs
        access_log=False,  # the application logs each request itself, with its request id
        lifespan="off",
        timeout_graceful_shutdown=shutdown_timeout,
        server_header=False,
    )
    return uvicorn.Server(config)


def serve(
    engine: Engine, tokens: TokenStore | None, sock: socket.socket, shutdown_timeout: int
) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish first (uvicorn's drain).

    uvicorn re-raises the signal once it has drained, expecting the default handler to end
    the process; the handler installed here takes it instead, so a drained stop exits 0.
    It also covers a signal that arrives before uvicorn has installed its own.
    """
    server = build_server(engine, tokens, shutdown_timeout)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
