"""The daemon's code path: repeated sync runs that remember what earlier runs read.

A `Reconciler` owns the per-file cache, so a run re-parses only files whose bytes changed.
Each run still reads the whole tree from one resolved root: file events are only a hint
that something changed, never the change itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from .planner import PlanOptions
from .reader import DocumentCache
from .sync import LockTaker, RunOutcome, sync


@dataclass(slots=True)
class Reconciler:
    engine: Engine
    root: str
    options: PlanOptions = field(default_factory=PlanOptions)
    before_plan: LockTaker | None = None
    """Called inside the run's transaction before planning (the daemon's leader lock)."""
    cache: DocumentCache = field(default_factory=DocumentCache)

    def run(self) -> RunOutcome:
        """One full run: raises TreeUnreadable / TreeChanged / database errors to the caller."""
        return sync(
            self.engine,
            self.root,
            self.options,
            cache=self.cache,
            before_plan=self.before_plan,
        )
