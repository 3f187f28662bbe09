"""The reporter: turns how one run ended into metrics, the daemon's state and log lines.

The loop decides what to do; everything the outside sees of a run (Prometheus, /readyz,
/status, the log) is written here, from one `RunOutcome` or one failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import structlog

from ..drift import describe
from ..model import Change, Plan
from ..outcome import RunOutcome
from ..render import held_back_lines
from ..runs import RunResult, plan_details
from ..standing import pack_standing
from .metrics import Metrics
from .state import DaemonState, now

log = structlog.get_logger("attune_sync.daemon")

LOGGED_CHANGES = 200
"""A run logs at most this many of its changes one by one (then a count)."""
LOGGED_ERRORS = 3
"""An invalid pack's log line carries its first few problems."""


class Reporter:
    def __init__(self, metrics: Metrics, state: DaemonState) -> None:
        self.metrics = metrics
        self.state = state

    def count(self, result: RunResult, clock: float) -> float:
        """Count a run by result; return its wall time since `clock` (perf_counter)."""
        seconds = time.perf_counter() - clock
        self.metrics.runs.labels(result.value).inc()
        self.metrics.run_duration.observe(seconds)
        return seconds

    def succeeded(
        self, outcome: RunOutcome, valid_refs: Iterable[str], clock: float, record: dict[str, Any]
    ) -> None:
        plan = outcome.plan
        drift_only = bool(outcome.drift) and not outcome.drift_reverted and not plan.changes
        result = RunResult.DRIFT_REPORTED if drift_only else outcome.result
        seconds = self.count(result, clock)
        # What apply_plan reports it wrote, not what was planned.
        for (kind, action), count in outcome.applied.counts.items():
            self.metrics.objects_changed.labels(kind, action).inc(count)
        held_deletes = sum(1 for item in plan.held_back if item.action == "delete")
        self.metrics.deletes_held_back.inc(held_deletes)
        self.metrics.invalid_packs.set(len(plan.invalid))
        self.metrics.last_success.set(time.time())
        self.metrics.database_up.set(1)
        self.metrics.synced(outcome.revision)  # workflow (issue 9)
        self._drift(outcome)
        self.state.set(
            succeeded_once=True,
            database_reachable=True,
            failing=False,
            abandoned=None,
            revision=outcome.revision,
            last_success=now(),
            errors=plan_errors(plan),
            packs=pack_standing({ref: {} for ref in valid_refs}, plan_details(plan)),
        )
        summary = outcome.summary
        self.state.add_run(
            {
                **record,
                "db_run_id": outcome.run_id,
                "result": result.value,
                "seconds": round(seconds, 4),
                **summary.counts(),
                "drift": len(outcome.drift),
            }
        )
        log_changes(plan.changes)
        log_invalid(plan)
        log.info(
            "run finished",
            result=result.value,
            db_run_id=outcome.run_id,
            **summary.counts(),
            seconds=round(seconds, 4),
        )

    def _drift(self, outcome: RunOutcome) -> None:
        if outcome.drift:
            self.metrics.drift_found.inc(len(outcome.drift))
            found = describe(outcome.drift)
            log.warning(
                "drift found",
                reverted=outcome.drift_reverted,
                changes=found[:50],
                count=len(found),
            )
            if outcome.drift_reverted:
                self.state.set(drift=[])
            elif outcome.compared_all:
                self.state.set(drift=found)
            else:  # a run that compared some packs adds to what the last full compare found
                known = self.state.snapshot()["drift"]
                self.state.set(drift=known + [item for item in found if item not in known])
        elif outcome.compared_all or outcome.drift_reverted:
            self.state.set(drift=[])  # whatever was reported before has been fixed

    def failed(
        self, message: str, clock: float, record: dict[str, Any], *, cancelled: bool
    ) -> None:
        if cancelled:
            log.warning("run cancelled; rolled back", error=message)
        else:
            log.error("run failed; rolled back", error=message)
        seconds = self.count(RunResult.FAILED, clock)
        self.state.set(failing=True, abandoned=None, errors=[message])
        self.state.add_run({**record, "result": "failed", "seconds": seconds, "error": message})

    def database_failed(self, what: str, error: Exception) -> None:
        message = f"{what}: {type(error).__name__}: {error}".strip()
        log.warning(what, error=str(error))
        self.metrics.database_up.set(0)
        self.state.set(database_reachable=False, errors=[message])

    def database_up(self, synced: bool) -> None:
        """A standby: the database answers; ready once the leader has synced."""
        self.metrics.database_up.set(1)
        self.state.set(database_reachable=True, succeeded_once=synced, failing=False, errors=[])

    def abandoned(self, why: str) -> None:
        """The watchdog gave up on a run that has not returned yet."""
        log.error("run abandoned; not ready until a run ends", why=why)
        self.state.set(abandoned=why)

    def leader(self, leading: bool) -> None:
        self.state.set(leader=leading)
        self.metrics.leader.set(1 if leading else 0)


def log_changes(changes: list[Change]) -> None:
    """One line per change: kind, ref, action and the changed field names, never values."""
    for change in changes[:LOGGED_CHANGES]:
        fields = sorted({item.field for item in change.fields}) if change.action == "update" else []
        log.info(
            "change",
            action=change.action,
            kind=change.kind,
            ref=change.ref,
            fields=fields,
        )
    if len(changes) > LOGGED_CHANGES:
        log.info("more changes not logged one by one", count=len(changes) - LOGGED_CHANGES)


def log_invalid(plan: Plan) -> None:
    """One line per invalid pack, with its first problems."""
    for pack in plan.invalid:
        log.warning(
            "invalid pack left as it is",
            folder=pack.folder,
            ref=pack.ref,
            problems=len(pack.problems),
            first_errors=[problem.render() for problem in pack.problems[:LOGGED_ERRORS]],
        )


def plan_errors(plan: Plan) -> list[str]:
    errors = [
        f"{pack.folder}: {problem.render()}" for pack in plan.invalid for problem in pack.problems
    ]
    errors += held_back_lines(plan.held_back)  # a mass delete's reason once
    return errors
