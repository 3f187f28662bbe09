"""Creating actions and rules: `POST /actions` and `POST /rules`, as the pack seed's
integration example uses them. Reading them is `GET /packs/:ref/actions|rules`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from . import queries as q
from . import shapes
from .common import body_schema, call_db, engine_of, now, parse_body
from .db import write_transaction
from .errors import ApiError, already_exists, not_found
from .validation import api_rules, check_create
from .writes import insert_row, pack_for_create

router = APIRouter()

_ACTION_BODY = body_schema(api_rules("action"), ("ref", "pack_ref", "label"))
_ACTION_BODY["requestBody"]["content"]["application/json"]["schema"]["properties"]["runtime"] = {
    "type": "integer",
    "description": "runtime id",
}
_RULE_BODY = body_schema(
    api_rules("rule"), ("ref", "pack_ref", "label", "action_ref", "trigger_ref")
)


def create_action(conn: Connection, body: Any, at: datetime) -> dict[str, Any]:
    values = check_create("action", body)
    ref = values["ref"]
    row: dict[str, Any] = {"description": None, "entrypoint": None, "runtime": None, **values}
    row.update(created=at, updated=at, pack=pack_for_create(conn, "action", row["pack_ref"]))
    if row["runtime"] is not None and row["runtime"] not in q.runtime_ids(conn):
        raise ApiError(404, f"Runtime {row['runtime']} not found")
    if q.id_of(conn, "action", ref) is not None:
        raise already_exists("action", ref)
    insert_row(conn, "action", ref, row)
    return _get(conn, "action", ref)


def create_rule(conn: Connection, body: Any, at: datetime) -> dict[str, Any]:
    values = check_create("rule", body)
    ref = values["ref"]
    row: dict[str, Any] = {"description": None, "enabled": True, **values}
    row.update(created=at, updated=at, pack=pack_for_create(conn, "rule", row["pack_ref"]))
    for name in ("action", "trigger"):
        found = q.id_of(conn, name, row[f"{name}_ref"])
        if found is None:
            raise not_found(name, row[f"{name}_ref"])
        row[name] = found
    if q.id_of(conn, "rule", ref) is not None:
        raise already_exists("rule", ref)
    insert_row(conn, "rule", ref, row)
    return _get(conn, "rule", ref)


def _get(conn: Connection, kind: str, ref: str) -> dict[str, Any]:
    row = q.get_by_ref(conn, kind, ref)
    if row is None:  # pragma: no cover - written in this very transaction
        raise not_found(kind, ref)
    fields = shapes.ACTION_SUMMARY if kind == "action" else shapes.RULE_SUMMARY
    return shapes.shape(row, fields)


@router.post(
    "/actions",
    summary="Create an action",
    status_code=201,
    openapi_extra=_ACTION_BODY,
    tags=["actions"],
)
async def post_action(request: Request) -> JSONResponse:
    body = parse_body(await request.body())

    def work() -> dict[str, Any]:
        with write_transaction(engine_of(request)) as conn:
            return create_action(conn, body, now())

    data = await call_db(work)
    return JSONResponse({"data": data, "message": "Action created successfully"}, status_code=201)


@router.post(
    "/rules", summary="Create a rule", status_code=201, openapi_extra=_RULE_BODY, tags=["rules"]
)
async def post_rule(request: Request) -> JSONResponse:
    body = parse_body(await request.body())

    def work() -> dict[str, Any]:
        with write_transaction(engine_of(request)) as conn:
            return create_rule(conn, body, now())

    data = await call_db(work)
    return JSONResponse({"data": data, "message": "Rule created successfully"}, status_code=201)
