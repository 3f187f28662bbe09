"""What the daemon knows about itself, for /readyz and /status. Thread-safe."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import Plan

RECENT_RUNS = 20


@dataclass(slots=True)
class DaemonState:
    leader: bool = False
    database_reachable: bool = False
    failing: bool = False
    """The last run failed (it rolled back); cleared by the next one that commits."""
    succeeded_once: bool = False
    """A run committed (ours, or the leader's when we stand by)."""
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
            return self.succeeded_once and self.database_reachable and not self.failing

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
                "ready": self.succeeded_once and self.database_reachable and not self.failing,
                "leader": self.leader,
                "database_reachable": self.database_reachable,
                "revision": self.revision,
                "last_success": self.last_success.isoformat() if self.last_success else None,
                "errors": list(self.errors),
                "drift": list(self.drift),
                "packs": {ref: dict(info) for ref, info in sorted(self.packs.items())},
                "recent_runs": list(self.runs),
            }


def pack_states(plan: Plan, valid_refs: set[str]) -> dict[str, dict[str, Any]]:
    """Each pack's standing after a committed run: in_sync, invalid or held_back."""
    packs: dict[str, dict[str, Any]] = {ref: {"state": "in_sync"} for ref in valid_refs}
    for pack in plan.invalid:
        key = pack.ref or f"folder:{pack.folder}"
        packs[key] = {
            "state": "invalid",
            "folder": pack.folder,
            "errors": [problem.render() for problem in pack.problems],
        }
    for item in plan.held_back:
        owner = owning_pack(item.ref, packs, item.kind)
        entry = packs.setdefault(owner, {"state": "held_back"})
        if entry["state"] != "invalid":
            entry["state"] = "held_back"
            entry.setdefault("held_back", []).append(
                {"action": item.action, "kind": item.kind, "ref": item.ref, "reason": item.reason}
            )
    for override in plan.overrides_kept:
        # API overrides of `enabled` the sync keeps: shown beside the pack's state.
        owner = owning_pack(override.ref, packs, override.kind)
        packs.setdefault(owner, {"state": "in_sync"}).setdefault("overrides", []).append(
            override.as_json()
        )
    return packs


def owning_pack(ref: str, packs: dict[str, Any] | set[str], kind: str) -> str:
    """The pack a ref belongs to: itself for packs, else the longest known pack prefix."""
    if kind == "pack":
        return ref
    candidates = [p for p in packs if ref.startswith(p + ".")]
    return max(candidates, key=len) if candidates else ref.rpartition(".")[0] or ref


def now() -> datetime:
    return datetime.now(UTC)
