"""What a sync run produced, and how a run is asked to stop. Touches no database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from .db.apply import ApplyResult
from .model import Change, Plan
from .runs import RunResult, RunSummary

LockTaker = Callable[[Connection], None]
"""Called inside a run's transaction before it takes the write lock and reads (the daemon
registers the connection its watchdog may cancel, and sets the run's timeouts)."""

SHUTDOWN = "shutdown"
"""The cancel reason of a run stopped because the process is stopping."""


class RunCancelled(Exception):
    """The run was asked to stop (watchdog or shutdown); nothing it did was committed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"run cancelled ({reason}); rolled back, nothing was changed")
        self.reason = reason


class CancelToken:
    """Set by whoever wants a run to stop; the run checks it between steps and before commit.

    Cancelling a statement in flight is not enough: a run busy in Python (reading,
    planning) when the watchdog fires would otherwise go on and commit.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise RunCancelled once cancel() was called."""
        if self._event.is_set():
            raise RunCancelled(self.reason or "cancelled")


@dataclass(slots=True)
class RunOutcome:
    plan: Plan
    applied: ApplyResult
    revision: str | None
    run_id: int | None
    started_at: datetime
    seconds: float
    summary: RunSummary
    timings: dict[str, float] = field(default_factory=dict)
    drift: list[Change] = field(default_factory=list)
    """Changes that came from the database side (the pack's files did not change)."""
    drift_reverted: bool = True
    """False in report mode: the drift was reported and left in the database."""
    compared_all: bool = True
    """The run read and compared the whole database (so `drift` is the whole story)."""

    @property
    def result(self) -> RunResult:
        return self.summary.result

    @property
    def in_sync(self) -> bool:
        """The database now equals the tree (nothing invalid, nothing held back)."""
        return not self.plan.invalid and not self.plan.held_back
