"""Rows to the seeds' JSON bodies: full and summary shapes, timestamps in UTC with `Z`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attune_sync.schemas import mask_secrets

PACK_SUMMARY = (
    "id",
    "ref",
    "label",
    "description",
    "version",
    "tags",
    "is_standard",
    "created",
    "updated",
)
PACK_FULL = (
    "id",
    "ref",
    "label",
    "description",
    "version",
    "conf_schema",
    "config",
    "meta",
    "tags",
    "runtime_deps",
    "is_standard",
    "created",
    "updated",
)
TRIGGER_SUMMARY = (
    "id",
    "ref",
    "pack_ref",
    "label",
    "description",
    "enabled",
    "created",
    "updated",
)
TRIGGER_FULL = (
    "id",
    "ref",
    "pack",
    "pack_ref",
    "label",
    "description",
    "enabled",
    "param_schema",
    "out_schema",
    "created",
    "updated",
)
SENSOR_SUMMARY = (
    "id",
    "ref",
    "pack_ref",
    "label",
    "description",
    "trigger_ref",
    "enabled",
    "created",
    "updated",
)
SENSOR_FULL = (
    "id",
    "ref",
    "pack",
    "pack_ref",
    "label",
    "description",
    "entrypoint",
    "runtime",
    "runtime_ref",
    "trigger",
    "trigger_ref",
    "enabled",
    "param_schema",
    "created",
    "updated",
)
ACTION_SUMMARY = (
    "id",
    "ref",
    "pack_ref",
    "label",
    "description",
    "runtime",
    "created",
    "updated",
)
RULE_SUMMARY = (
    "id",
    "ref",
    "pack_ref",
    "label",
    "description",
    "action_ref",
    "trigger_ref",
    "enabled",
    "created",
    "updated",
)


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with `Z`, to the second, as the seeds write them."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shape(row: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    body = {name: row[name] for name in fields}
    for name in ("created", "updated"):
        if isinstance(body.get(name), datetime):
            body[name] = timestamp(body[name])
    if "config" in body:
        # The API shows configuration as every other output does: secrets masked.
        body["config"] = mask_secrets(body["config"], row.get("conf_schema"))
    if "tags" in body and body["tags"] is None:
        body["tags"] = []
    if "runtime_deps" in body and body["runtime_deps"] is None:
        body["runtime_deps"] = []
    return body
