"""What a sync run produced, and how it is remembered in the run history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

from .db.apply import ApplyResult
from .db.runs import RunResult, record_run
from .model import Plan

log = structlog.get_logger(__name__)

LockTaker = Callable[[Connection], None]
"""Called inside a run's transaction before it reads the database (the daemon's apply lock
and timeouts)."""


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
    applied_hashes: dict[str, str] = field(default_factory=dict)
    """Managed pack ref to the content hash it had been applied with before this run: a
    change to a pack whose files still hash the same came from the database side (drift)."""

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


def record_failure(engine: Engine, started_at: datetime, revision: str | None, error: str) -> None:
    """Remember a failed run in its own transaction; never raises (the database may be down)."""
    try:
        with engine.begin() as conn:
            record_run(
                conn,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                revision=revision,
                result="failed",
                details={"error": error},
            )
    except Exception as failure:  # the original error is what matters to the caller
        log.warning("could not record the failed run", error=str(failure))
