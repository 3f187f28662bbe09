"""The Trigger and Sensor Management API: the same endpoints for both kinds."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from . import queries as q
from . import shapes
from . import writes as w
from .common import body_schema, call_db, caller_of, engine_of, now, parse_body, with_override
from .db import reading, write_transaction
from .errors import not_found
from .pagination import parse_page
from .validation import IMMUTABLE, api_rules

router = APIRouter()

_FULL = {"trigger": shapes.TRIGGER_FULL, "sensor": shapes.SENSOR_FULL}
_SUMMARY = {"trigger": shapes.TRIGGER_SUMMARY, "sensor": shapes.SENSOR_SUMMARY}
_REQUIRED = {
    "trigger": ("ref", "label"),
    "sensor": (
        "ref",
        "pack_ref",
        "label",
        "description",
        "entrypoint",
        "runtime_ref",
        "trigger_ref",
    ),
}

Handler = Callable[..., Any]


def _title(kind: str) -> str:
    return kind.capitalize()


def _full(kind: str, row: dict[str, Any], conn: Any) -> dict[str, Any]:
    return with_override(conn, kind, shapes.shape(row, _FULL[kind]))


def _list_handler(kind: str, *, enabled_only: bool) -> Handler:
    def handler(request: Request) -> dict[str, Any]:
        page = parse_page(request.query_params)
        with reading(engine_of(request)) as conn:
            rows, total = q.list_all(conn, kind, page, enabled_only=enabled_only)
        return {
            "data": [shapes.shape(row, _SUMMARY[kind]) for row in rows],
            "pagination": page.body(total, "components"),
        }

    return handler


def _get_handler(kind: str) -> Handler:
    def handler(request: Request, ref: str) -> dict[str, Any]:
        with reading(engine_of(request)) as conn:
            row = q.get_by_ref(conn, kind, ref)
            if row is None:
                raise not_found(kind, ref)
            return {"data": _full(kind, row, conn)}

    return handler


def _write_handler(
    kind: str, verb: str, work: Callable[[Any, Request, str | None, Any], dict[str, Any]]
) -> Handler:
    """POST/PUT handlers: read the body, run `work` in one transaction, answer the envelope."""
    status = 201 if verb == "created" else 200

    async def handler(request: Request, ref: str | None = None) -> JSONResponse:
        raw = await request.body()
        body = parse_body(raw) if verb in ("created", "updated") else None

        def run() -> dict[str, Any]:
            with write_transaction(engine_of(request)) as conn:
                row = work(conn, request, ref, body)
                return _full(kind, row, conn)

        data = await call_db(run)
        message = f"{_title(kind)} {verb} successfully"
        return JSONResponse({"data": data, "message": message}, status_code=status)

    return handler


def _create(kind: str) -> Callable[[Any, Request, str | None, Any], dict[str, Any]]:
    return lambda conn, request, ref, body: w.create_component(conn, kind, body, now())


def _update(kind: str) -> Callable[[Any, Request, str | None, Any], dict[str, Any]]:
    return lambda conn, request, ref, body: w.update_component(
        conn, kind, str(ref), body, now(), caller_of(request).name
    )


def _enable(kind: str, enabled: bool) -> Callable[[Any, Request, str | None, Any], dict[str, Any]]:
    return lambda conn, request, ref, body: w.set_enabled(
        conn, kind, str(ref), enabled, now(), caller_of(request).name
    )


def _delete_handler(kind: str) -> Handler:
    def handler(request: Request, ref: str) -> dict[str, Any]:
        with write_transaction(engine_of(request)) as conn:
            w.delete_component(conn, kind, ref)
        return {"success": True, "message": f"{_title(kind)} '{ref}' deleted successfully"}

    return handler


def _sensors_of_trigger(request: Request, trigger_ref: str) -> dict[str, Any]:
    page = parse_page(request.query_params)
    with reading(engine_of(request)) as conn:
        trigger_id = q.id_of(conn, "trigger", trigger_ref)
        if trigger_id is None:
            raise not_found("trigger", trigger_ref)
        rows, total = q.sensors_firing(conn, trigger_id, page)
    return {
        "data": [shapes.shape(row, shapes.SENSOR_SUMMARY) for row in rows],
        "pagination": page.body(total, "components"),
    }


def _register(kind: str) -> None:
    base = f"/{kind}s"
    tag: list[str | Enum] = [f"{kind}s"]
    create_body = body_schema(api_rules(kind), _REQUIRED[kind])
    update_rules = {k: v for k, v in api_rules(kind).items() if k not in IMMUTABLE[kind]}
    update_body = body_schema(update_rules, ())
    routes: list[tuple[str, str, Handler, str, dict[str, Any]]] = [
        ("GET", base, _list_handler(kind, enabled_only=False), f"List {kind}s", {}),
        (
            "GET",
            f"{base}/enabled",
            _list_handler(kind, enabled_only=True),
            f"List enabled {kind}s",
            {},
        ),
        ("GET", f"{base}/{{ref}}", _get_handler(kind), f"Get a {kind} by ref", {}),
        (
            "POST",
            base,
            _write_handler(kind, "created", _create(kind)),
            f"Create a {kind}",
            create_body,
        ),
        (
            "PUT",
            f"{base}/{{ref}}",
            _write_handler(kind, "updated", _update(kind)),
            f"Update a {kind}",
            update_body,
        ),
        (
            "POST",
            f"{base}/{{ref}}/enable",
            _write_handler(kind, "enabled", _enable(kind, True)),
            f"Enable a {kind}",
            {},
        ),
        (
            "POST",
            f"{base}/{{ref}}/disable",
            _write_handler(kind, "disabled", _enable(kind, False)),
            f"Disable a {kind}",
            {},
        ),
        ("DELETE", f"{base}/{{ref}}", _delete_handler(kind), f"Delete a {kind}", {}),
    ]
    for method, path, endpoint, summary, extra in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            summary=summary,
            tags=tag,
            name=f"{method.lower()} {path}",
            status_code=201 if summary.startswith("Create") else 200,
            openapi_extra=extra or None,
        )


_register("trigger")
router.add_api_route(
    "/triggers/{trigger_ref}/sensors",
    _sensors_of_trigger,
    methods=["GET"],
    summary="List the sensors that fire a trigger",
    tags=["triggers"],
)
_register("sensor")
