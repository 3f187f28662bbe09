"""What a sync run produced, and how it is remembered in the run history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from .db.apply import ApplyResult
from .db.runs import RunResult
from .model import Plan

LockTaker = Callable[[Connection], None]
"""Called inside a run's transaction before it reads the database (the daemon's locks)."""


@dataclass(slots=True)
class RunOutcome:
    plan: Plan
    applied: ApplyResult | None
    revision: str | None
    run_id: int | None
    started_at: datetime
    seconds: float
    result: RunResult
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        """The database now equals the tree (nothing invalid, nothing held back)."""
        return not self.plan.invalid and not self.plan.held_back


def run_result(plan: Plan) -> RunResult:
    """How a run that applied `plan` is remembered."""
    if plan.invalid:
        return "invalid"
    if plan.held_back:
        return "held_back"
    return "applied" if plan.changes else "noop"


def run_details(plan: Plan) -> dict[str, Any]:
    """The run history's account of a plan: problems and what changed, no values."""
    return {
        "errors": [problem.as_json() for problem in plan.errors],
        "held_back": [item.as_json() for item in plan.held_back],
        "invalid_packs": [
            {
                "folder": pack.folder,
                "ref": pack.ref,
                "problems": [problem.render() for problem in pack.problems],
            }
            for pack in plan.invalid
        ],
        "changes": [
            {"action": change.action, "kind": change.kind, "ref": change.ref}
            for change in plan.changes[:1000]
        ],
    }
