"""The names every layer shares: kinds of object, kinds of change, and JSON values."""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["pack", "runtime", "trigger", "action", "sensor", "rule"]
ComponentKind = Literal["runtime", "trigger", "action", "sensor", "rule"]
Action = Literal["create", "update", "delete"]

JSON = Any
"""A value that came from YAML/JSON: dict, list, str, int, float, bool or None."""
