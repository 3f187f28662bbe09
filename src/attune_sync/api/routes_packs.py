"""The Pack Management API: /packs and the per-pack component lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from . import queries as q
from . import shapes
from . import writes as w
from .common import body_schema, call_db, engine_of, now, parse_body
from .db import reading, write_transaction
from .errors import not_found
from .pagination import parse_page
from .validation import api_rules

router = APIRouter(tags=["packs"])

_PACK_BODY = body_schema(api_rules("pack"), ("ref", "label", "description"))
_PACK_BODY["requestBody"]["content"]["application/json"]["schema"]["properties"]["runtime_deps"] = {
    "type": "array",
    "items": {"type": "integer"},
    "description": "runtime ids",
}
_SUMMARIES = {
    "actions": ("action", shapes.ACTION_SUMMARY),
    "triggers": ("trigger", shapes.TRIGGER_SUMMARY),
    "rules": ("rule", shapes.RULE_SUMMARY),
    "sensors": ("sensor", shapes.SENSOR_SUMMARY),
}


@router.get("/packs", summary="List packs")
def list_packs(request: Request) -> dict[str, Any]:
    page = parse_page(request.query_params)
    with reading(engine_of(request)) as conn:
        rows, total = q.list_all(conn, "pack", page, enabled_only=False)
    return {
        "data": [shapes.shape(row, shapes.PACK_SUMMARY) for row in rows],
        "pagination": page.body(total, "packs"),
    }


@router.get("/packs/{ref}", summary="Get a pack by ref")
def get_pack(request: Request, ref: str) -> dict[str, Any]:
    with reading(engine_of(request)) as conn:
        row = q.get_by_ref(conn, "pack", ref)
    if row is None:
        raise not_found("pack", ref)
    return {"data": shapes.shape(row, shapes.PACK_FULL)}


@router.post("/packs", summary="Create a pack", status_code=201, openapi_extra=_PACK_BODY)
async def create_pack(request: Request) -> JSONResponse:
    body = parse_body(await request.body())

    def work() -> dict[str, Any]:
        with write_transaction(engine_of(request)) as conn:
            return w.create_pack(conn, body, now())

    row = await call_db(work)
    data = {"data": shapes.shape(row, shapes.PACK_FULL), "message": "Pack created successfully"}
    return JSONResponse(data, status_code=201)


@router.put("/packs/{ref}", summary="Update a pack", openapi_extra=_PACK_BODY)
async def update_pack(request: Request, ref: str) -> dict[str, Any]:
    body = parse_body(await request.body())

    def work() -> dict[str, Any]:
        with write_transaction(engine_of(request)) as conn:
            return w.update_pack(conn, ref, body, now())

    row = await call_db(work)
    return {"data": shapes.shape(row, shapes.PACK_FULL), "message": "Pack updated successfully"}


@router.delete("/packs/{ref}", summary="Delete a pack and everything in it")
def delete_pack(request: Request, ref: str) -> dict[str, Any]:
    with write_transaction(engine_of(request)) as conn:
        w.delete_pack(conn, ref)
    return {"success": True, "message": f"Pack '{ref}' deleted successfully"}


def _component_list(request: Request, ref: str, what: str) -> dict[str, Any]:
    kind, fields = _SUMMARIES[what]
    page = parse_page(request.query_params)
    with reading(engine_of(request)) as conn:
        pack_id = q.id_of(conn, "pack", ref)
        if pack_id is None:
            raise not_found("pack", ref)
        rows, total = q.list_of_pack(conn, kind, pack_id, page)
    return {
        "data": [shapes.shape(row, fields) for row in rows],
        "pagination": page.body(total, "components"),
    }


@router.get("/packs/{ref}/actions", summary="List a pack's actions")
def pack_actions(request: Request, ref: str) -> dict[str, Any]:
    return _component_list(request, ref, "actions")


@router.get("/packs/{ref}/triggers", summary="List a pack's triggers")
def pack_triggers(request: Request, ref: str) -> dict[str, Any]:
    return _component_list(request, ref, "triggers")


@router.get("/packs/{ref}/rules", summary="List a pack's rules")
def pack_rules(request: Request, ref: str) -> dict[str, Any]:
    return _component_list(request, ref, "rules")


@router.get("/packs/{ref}/sensors", summary="List a pack's sensors")
def pack_sensors(request: Request, ref: str) -> dict[str, Any]:
    return _component_list(request, ref, "sensors")
