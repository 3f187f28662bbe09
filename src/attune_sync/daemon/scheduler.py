"""When the daemon's next run is due, and what it may read: pure, driven by a clock.

Nothing here sleeps or starts threads; the loop asks `due_in(now)` and waits that long (or
until a hint wakes it). Tests drive it with a fake clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class Backoff:
    """Capped exponential delays: first, 2x first, ... up to `cap`."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap, self._next = first, cap, first

    def next(self) -> float:
        delay = min(self._next, self.cap)
        self._next = min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first


@dataclass(frozen=True, slots=True)
class DueRun:
    reason: str
    """start, files or timer."""
    changed: set[str] | None
    """Paths file events named (the run may re-read only their pack folders); None: all."""


class Scheduler:
    """Quiet periods, batching, the periodic full sync and retries. Thread-safe."""

    def __init__(
        self,
        *,
        quiet_period: float,
        max_batch_delay: float,
        full_sync_interval: float,
        clock: Clock,
    ) -> None:
        self.quiet_period = quiet_period
        self.max_batch_delay = max_batch_delay
        self.full_sync_interval = full_sync_interval
        self.clock = clock
        self.lock = threading.Lock()
        self._hinted: set[str] | None = set()
        self._dirty_since: float | None = None
        self._last_event = 0.0
        self._full_due = 0.0
        self._retry_at: float | None = None
        self._started = False

    def hint(self, paths: set[str] | None) -> None:
        """Something changed (under `paths`, when known)."""
        with self.lock:
            if paths is None or self._hinted is None:
                self._hinted = None
            else:
                self._hinted |= paths
            moment = self.clock()
            if self._dirty_since is None:
                self._dirty_since = moment
            self._last_event = moment

    def full_sync_now(self) -> None:
        """Run a full sync at once (a new leader)."""
        with self.lock:
            self._full_due = 0.0

    def due_in(self) -> float:
        """Seconds until the next run is due (0: now)."""
        moment = self.clock()
        with self.lock:
            if self._retry_at is not None:
                return max(0.0, self._retry_at - moment)
            due = self._full_due
            if self._dirty_since is not None:
                quiet_due = min(
                    self._last_event + self.quiet_period,
                    self._dirty_since + self.max_batch_delay,
                )
                due = min(due, quiet_due)
            return max(0.0, due - moment)

    def take(self) -> DueRun:
        """Start the due run: events from here on belong to the next one."""
        with self.lock:
            reason = "files" if self._dirty_since is not None else "timer"
            if not self._started:
                reason = "start"
            # Only a run woken by file events alone may limit what it reads; the timer, the
            # first run and retries read everything.
            changed = self._hinted if reason == "files" and self._retry_at is None else None
            self._dirty_since = None
            self._hinted = set()
            self._retry_at = None
            self._started = True
        return DueRun(reason, changed)

    def finished(self) -> None:
        """A run ended: the next full sync is one interval away."""
        with self.lock:
            self._full_due = self.clock() + self.full_sync_interval

    def retry_in(self, delay: float) -> None:
        with self.lock:
            self._retry_at = self.clock() + delay
