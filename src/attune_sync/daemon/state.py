"""What the daemon knows about itself, for /readyz and /status. Thread-safe."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RECENT_RUNS = 20


@dataclass(slots=True)
class DaemonState:
    leader: bool = False
    database_reachable: bool = False
    failing: bool = False
    """The last run failed (it rolled back); cleared by the next one that commits."""
    succeeded_once: bool = False
    """A run committed (ours, or the leader's when we stand by)."""
    abandoned: str | None = None
    """Why the running run was given up on (the watchdog fired and it has not returned)."""
    revision: str | None = None
    last_success: datetime | None = None
    errors: list[str] = field(default_factory=list)
    """Why the daemon is not fully well right now (empty when it is)."""
    packs: dict[str, dict[str, Any]] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)
    runs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_RUNS))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        with self.lock:
            return self._ready()

    def _ready(self) -> bool:
        return (
            self.succeeded_once
            and self.database_reachable
            and not self.failing
            and self.abandoned is None
        )

    def set(self, **values: Any) -> None:
        with self.lock:
            for name, value in values.items():
                setattr(self, name, value)

    def add_run(self, run: dict[str, Any]) -> None:
        with self.lock:
            self.runs.appendleft(run)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "ready": self._ready(),
                "abandoned": self.abandoned,
                "leader": self.leader,
                "database_reachable": self.database_reachable,
                "revision": self.revision,
                "last_success": self.last_success.isoformat() if self.last_success else None,
                "errors": list(self.errors),
                "drift": list(self.drift),
                "packs": {ref: dict(info) for ref, info in sorted(self.packs.items())},
                "recent_runs": list(self.runs),
            }


def now() -> datetime:
    return datetime.now(UTC)
