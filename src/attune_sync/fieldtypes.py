"""Column limits, ref and version patterns, and the issue type the field checks report."""

from __future__ import annotations

import re
from dataclasses import dataclass

REF_LENGTH = 255
LABEL_LENGTH = 255
VERSION_LENGTH = 64
ENTRYPOINT_LENGTH = 1024
"""Column limits: PostgreSQL enforces them, SQLite does not, so the validator must."""

REF_PATTERN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
SEMVER_PATTERN = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
"""Both used with fullmatch: `$` would also match before a trailing newline."""


def is_valid_ref(text: str) -> bool:
    return 0 < len(text) <= REF_LENGTH and REF_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A problem inside one document, before it is given a file and line."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    quote: bool = False
    """YAML read the value as a non-string; the fix is to quote it as written."""
    other: tuple[str | int, ...] | None = None
    """A second key the problem involves (an alias given next to its canonical name)."""
    at_key: bool = False
    """The problem is the key itself (an unknown field): point at the key, not its value."""

    @property
    def dotted(self) -> str:
        text = ""
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        return text
