"""One sync run: read the tree, plan against the database, apply in one transaction.

This is the path every command and the daemon share. Planning and applying happen in the
same transaction, so the plan is made against exactly the rows it changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

from .db.apply import ApplyResult, apply_plan
from .db.runs import RunResult, record_run
from .db.state import load_actual
from .model import ActualState, DesiredState, Plan
from .planner import PlanOptions, make_plan
from .reader import DocumentCache, read_tree
from .revision import detect_revision

log = structlog.get_logger(__name__)


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


def dry_run(
    engine: Engine,
    root: str,
    options: PlanOptions | None = None,
    cache: DocumentCache | None = None,
) -> Plan:
    """The plan a sync would apply now. Changes nothing."""
    desired = read_tree(root, cache)
    with engine.connect() as conn:
        actual = load_actual(conn)
    return make_plan(desired, actual, options)


LockTaker = Callable[[Connection], None]


def sync(
    engine: Engine,
    root: str,
    options: PlanOptions | None = None,
    *,
    cache: DocumentCache | None = None,
    revision: str | None = None,
    desired: DesiredState | None = None,
    before_plan: LockTaker | None = None,
) -> RunOutcome:
    """Read `root` and make the database equal to it, all or nothing.

    The revision, unless given, is told from the folder the run actually read.
    """
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    if desired is None:
        desired = read_tree(root, cache)
    if revision is None:
        revision = detect_revision(desired.root)
    timings["read"] = time.perf_counter() - clock
    with engine.begin() as conn:
        if before_plan is not None:
            before_plan(conn)
        mark = time.perf_counter()
        actual = load_actual(conn)
        timings["load"] = time.perf_counter() - mark
        mark = time.perf_counter()
        plan = make_plan(desired, actual, options)
        timings["plan"] = time.perf_counter() - mark
        mark = time.perf_counter()
        applied = apply_plan(conn, plan, now=started_at)
        timings["apply"] = time.perf_counter() - mark
        result = run_result(plan)
        seconds = time.perf_counter() - clock
        run_id = record_run(
            conn,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            revision=revision,
            result=result,
            created=plan.count("create"),
            updated=plan.count("update"),
            deleted=plan.count("delete"),
            held_back=len(plan.held_back),
            invalid=len(plan.invalid),
            details=run_details(plan),
        )
    return RunOutcome(plan, applied, revision, run_id, started_at, seconds, result, timings)


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
                created=0,
                updated=0,
                deleted=0,
                held_back=0,
                invalid=0,
                details={"error": error},
            )
    except Exception as failure:  # the original error is what matters to the caller
        log.warning("could not record the failed run", error=str(failure))


def run_details(plan: Plan) -> dict[str, Any]:
    return {
        "errors": [problem.as_json() for problem in plan.errors],
        "held_back": [item.as_json() for item in plan.held_back],
        "invalid_packs": [
            {
                "folder": pack.folder,
                "ref": pack.ref,
                "problems": [p.render() for p in pack.problems],
            }
            for pack in plan.invalid
        ],
        "changes": [
            {"action": change.action, "kind": change.kind, "ref": change.ref}
            for change in plan.changes[:1000]
        ],
    }


def offline_state(runtimes: dict[str, int]) -> ActualState:
    """The state validation assumes without a database: only the built-in runtimes."""
    return ActualState(runtimes=dict(runtimes))
