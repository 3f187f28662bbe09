"""The ASGI application: routes, authentication, limits, access logs, errors, health."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from attune_sync.db.locks import WriteLockBusy

from .actions_rules import router as actions_rules_router
from .auth import Caller, TokenStore
from .errors import ApiError
from .routes_components import router as components_router
from .routes_packs import router as packs_router

log = structlog.get_logger("attune_sync.api")

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NO_AUTH = Caller("write", "anonymous (--no-auth)")


def create_app(engine: Engine, tokens: TokenStore | None) -> FastAPI:
    """The API over `engine`; `tokens` None means --no-auth (loopback only, checked by serve)."""
    app = FastAPI(
        title="attune-sync API",
        version="1",
        description=(
            "The Pack Management API and the Trigger and Sensor Management API over the "
            "database attune-sync keeps. Objects synced from files are read-only here "
            "(409 names the file to edit), except enable/disable, which is kept as an "
            "override. Send `Authorization: Bearer <token>`."
        ),
        openapi_url=OPENAPI_URL,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.include_router(packs_router, prefix=API_PREFIX)
    app.include_router(components_router, prefix=API_PREFIX)
    app.include_router(actions_rules_router, prefix=API_PREFIX)
    _add_handlers(app)
    _add_probes(app, engine)
    app.add_middleware(_Edge, tokens=tokens)
    return app


def _add_probes(app: FastAPI, engine: Engine) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[:1]
            return JSONResponse({"ready": False, "error": " ".join(reason)}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get(f"{API_PREFIX}/ping", tags=["service"], summary="Check a token; answers a constant")
    async def ping() -> dict[str, str]:
        # Also the benchmark's yardstick: the whole stack (auth, logs) and no database.
        return {"data": "pong"}


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail)
        if error.status_code == 404:
            message = f"No endpoint {request.method} {request.url.path}"
        elif error.status_code == 405:
            message = f"Method {request.method} is not allowed on {request.url.path}"
        return JSONResponse({"error": message}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details: dict[str, list[str]] = {}
        for item in error.errors():
            key = ".".join(str(p) for p in item.get("loc", ())[1:]) or "body"
            details.setdefault(key, []).append(str(item.get("msg")))
        return JSONResponse({"error": "Validation failed", "details": details}, status_code=400)

    @app.exception_handler(WriteLockBusy)
    async def write_lock_busy(_request: Request, error: WriteLockBusy) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, _error: OperationalError) -> JSONResponse:
        log.warning("database unavailable", path=request.url.path)
        return JSONResponse(
            {"error": "The database is unavailable; try again shortly"}, status_code=503
        )


class _Edge:
    """Request id, access log, body limit and authentication, in front of every request."""

    def __init__(self, app: ASGIApp, tokens: TokenStore | None) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500
        started = False

        async def send_logged(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is not None:
                await _answer(send_logged, *refusal)
                return
            if scope["method"] not in _READ_METHODS:
                body = await _read_body(receive, headers)
                if body is None:
                    await _answer(
                        send_logged, 413, {"error": f"Request body over {MAX_BODY_BYTES} bytes"}
                    )
                    return
                receive = _replay(body)
            await self.app(scope, receive, send_logged)
        except Exception:
            log.exception("request failed", request_id=request_id, path=scope["path"])
            if started:
                raise
            await _answer(
                send_logged, 500, {"error": f"Internal server error (request id {request_id})"}
            )
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - start) * 1000, 2),
                request_id=request_id,
            )

    def _refusal(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]] | None:
        """(status, body, headers) when authentication refuses the request; sets the caller."""
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if not path.startswith(API_PREFIX + "/") or path == OPENAPI_URL:
            return None
        if self.tokens is None:
            state["caller"] = NO_AUTH
            return None
        challenge = [(b"www-authenticate", b'Bearer realm="attune-sync"')]
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            message = "Missing bearer token: send the header `Authorization: Bearer <token>`"
            return 401, {"error": message}, challenge
        caller = self.tokens.caller(token.strip())
        if caller is None:
            return 401, {"error": "Invalid token"}, challenge
        if scope["method"] not in _READ_METHODS and caller.access != "write":
            return 403, {"error": "This token may only read; writes need a write token"}, []
        state["caller"] = caller
        return None


async def _read_body(receive: Receive, headers: dict[str, str]) -> bytes | None:
    """The whole body, or None when it is over the limit (without reading all of it)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    response = JSONResponse(body, status_code=status)
    raw = [*response.raw_headers, *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": response.body})
