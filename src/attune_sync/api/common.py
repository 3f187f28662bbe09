"""What every endpoint needs: the engine, the caller, the JSON body, the seeds' envelopes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from attune_sync.db.overrides import load_override
from attune_sync.fields import Field as Rule

from .auth import Caller
from .errors import validation_failed

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
    "schema": {"type": "object", "description": "a JSON Schema"},
    "string_list": {"type": "array", "items": {"type": "string"}},
}


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def caller_of(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


def now() -> datetime:
    return datetime.now(UTC)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> Any:
    """The request's JSON; malformed JSON is the seeds' 400, not a framework error page."""
    if not raw.strip():
        raise validation_failed({"body": ["Request body is empty; send a JSON object"]})
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as error:
        raise validation_failed({"body": [f"Malformed JSON: {error}"]}) from error


def with_override(conn: Connection, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A trigger's or sensor's body, showing an API override of its `enabled` if one holds."""
    found = load_override(conn, kind, body["ref"])
    if found is not None:
        body["override"] = found.as_json()
    return body


def body_schema(rules: Mapping[str, Rule], required: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI request body for the interactive docs, from the validator's own rules."""
    properties: dict[str, Any] = {}
    for name, rule in rules.items():
        schema = dict(_JSON_TYPES.get(rule.type, {}))
        if rule.max_length is not None:
            schema["maxLength"] = rule.max_length
        if rule.min_length is not None:
            schema["minLength"] = rule.min_length
        properties[name] = schema
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def call_db(function: Callable[[], Any]) -> Any:
    """Run blocking database work off the event loop."""
    return await run_in_threadpool(function)
