"""Notes: things worth telling a machine reader that are not problems (never a warning)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SkippedNote:
    """A pack folder holds folders Attune has that attune-sync does not sync (one per pack)."""

    folder: str
    skipped: tuple[str, ...]
    """The skipped folder names, sorted, without the trailing slash."""

    @property
    def message(self) -> str:
        return "not synced by attune-sync: " + ", ".join(f"{name}/" for name in self.skipped)

    def as_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "skipped": list(self.skipped), "message": self.message}
