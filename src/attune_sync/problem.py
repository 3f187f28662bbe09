"""A problem with the input: one thing wrong, located by file, line, column and field.

Its own module because every layer reports problems (the reader, settling, the planner, the
edges) while the rest of `model` is the desired and actual state and the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    path: str
    """File or folder, relative to the packs root, with forward slashes."""
    message: str
    line: int | None = None
    """1-based line, when known."""
    column: int | None = None
    """1-based column, when known."""
    field: str | None = None
    """Dotted path of the offending field, e.g. ``conf_schema.properties.region``."""
    hint: str | None = None
    """How to fix it."""
    severity: Severity = "error"

    def location(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        text = f"{self.location()}: {self.severity}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def as_row(self) -> list[Any]:
        """The fields in order, for compact storage: `Problem(*row)` makes it again."""
        return [
            self.path,
            self.message,
            self.line,
            self.column,
            self.field,
            self.hint,
            self.severity,
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }
