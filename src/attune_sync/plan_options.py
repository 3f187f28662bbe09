"""What a command may tell the planner: its own module, so a command that ends up not
planning (the settled shortcut, `--help`) never imports the planner and its schema checks."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_DELETE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class PlanOptions:
    allow_mass_delete: bool = False
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    """Deleting more than this share of the managed packs or objects (or all) is refused."""
    adopt: bool = False
    """Take over a pack that exists in the database unmanaged when a folder declares its ref."""
