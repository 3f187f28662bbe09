"""The seeds' error bodies: `{"error": ...}` with an optional `details` object."""

from __future__ import annotations

from typing import Any

KIND_TITLES = {
    "pack": "Pack",
    "trigger": "Trigger",
    "sensor": "Sensor",
    "action": "Action",
    "rule": "Rule",
    "runtime": "Runtime",
}


class ApiError(Exception):
    """Answered as `status` with the seeds' error body; never logged as a failure."""

    def __init__(self, status: int, error: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details

    def body(self) -> dict[str, Any]:
        found: dict[str, Any] = {"error": self.error}
        if self.details is not None:
            found["details"] = self.details
        return found


def not_found(kind: str, ref: object) -> ApiError:
    return ApiError(404, f"{KIND_TITLES[kind]} '{ref}' not found")


def already_exists(kind: str, ref: str) -> ApiError:
    return ApiError(409, f"{KIND_TITLES[kind]} with ref '{ref}' already exists")


def validation_failed(details: dict[str, list[str]]) -> ApiError:
    return ApiError(400, "Validation failed", details)


def managed(kind: str, ref: str, path: str) -> ApiError:
    return ApiError(
        409,
        f"{KIND_TITLES[kind]} '{ref}' is managed from files; change {path} instead",
        {"path": path},
    )
