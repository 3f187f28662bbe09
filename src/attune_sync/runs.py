"""The run vocabulary: how a run ended, and the one summary every edge reports from.

`RunResult` names every way a run can end. The committed ones are written to the run
history; `FAILED` is written in a transaction of its own (the run's rolled back); the
daemon-only ones (`UNREADABLE`, `TREE_CHANGED`, `DRIFT_REPORTED`) are counted in metrics and
shown in /status but never written, because those runs did not reach the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .model import Plan


class RunResult(StrEnum):
    APPLIED = "applied"
    NOOP = "noop"
    INVALID = "invalid"
    HELD_BACK = "held_back"
    FAILED = "failed"
    UNREADABLE = "unreadable"
    TREE_CHANGED = "tree_changed"
    DRIFT_REPORTED = "drift_reported"

    @property
    def committed(self) -> bool:
        return self in COMMITTED_RESULTS


COMMITTED_RESULTS = frozenset(
    {RunResult.APPLIED, RunResult.NOOP, RunResult.INVALID, RunResult.HELD_BACK}
)
"""Results of runs whose transaction committed."""

HISTORY_RESULTS = COMMITTED_RESULTS | {RunResult.FAILED}
"""Results that the run history (`sync_run.result`) holds."""

MAX_CHANGES_IN_DETAILS = 1000


def result_of(plan: Plan) -> RunResult:
    """How a run that applied `plan` ended."""
    if plan.invalid:
        return RunResult.INVALID
    if plan.held_back:
        return RunResult.HELD_BACK
    return RunResult.APPLIED if plan.changes else RunResult.NOOP


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run did, in the shape the history, the metrics and the logs all take."""

    result: RunResult
    created: int = 0
    updated: int = 0
    deleted: int = 0
    held_back: int = 0
    invalid: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_plan(cls, plan: Plan) -> RunSummary:
        return cls(
            result=result_of(plan),
            created=plan.count("create"),
            updated=plan.count("update"),
            deleted=plan.count("delete"),
            held_back=len(plan.held_back),
            invalid=len(plan.invalid),
            details=plan_details(plan),
        )

    @classmethod
    def failure(cls, message: str) -> RunSummary:
        return cls(result=RunResult.FAILED, details={"error": message})

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "held_back": self.held_back,
            "invalid": self.invalid,
        }


def plan_details(plan: Plan) -> dict[str, Any]:
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
            for change in plan.changes[:MAX_CHANGES_IN_DETAILS]
        ],
        "overrides": [override.as_json() for override in plan.overrides_kept],
    }
