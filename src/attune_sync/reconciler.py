"""The daemon's code path: repeated sync runs whose cost follows the change, not the tree.

A `Reconciler` remembers, between runs:

* the parsed files (`DocumentCache`): a run re-parses only files whose bytes changed;
* the last tree it read, per pack folder: a run told which paths changed re-reads only
  those pack folders (the root is always listed again, and a run without hints reads all);
* the database as its last committed run left it (the snapshot it read, changed as its
  own plans changed the database), and the database's change counter (bumped by triggers
  on every write, by anyone): while the counter shows no foreign write, a run compares only
  the packs whose files changed and reads nothing but the counter. Any foreign write
  (drift, the API, another tool) makes the next run read and compare everything.

The result is the same plan a full run would make; the property tests hold it to that.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from .db.apply import apply_plan
from .db.runs import record_run
from .db.state import load_actual, read_db_version
from .model import ActualState, DesiredState, Plan
from .outcome import LockTaker, RunOutcome, record_failure, run_details, run_result
from .planner import PlanOptions, make_plan
from .reader import DocumentCache, read_tree
from .revision import detect_revision

log = structlog.get_logger(__name__)

_LARGE_PLAN = 1000
"""Plans this long take long enough to apply that the log says so first."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a run, and out of what the run keeps.

    A run allocates millions of long-lived objects (parsed files, snapshots); each full
    collection would walk all of them, and on a cold sync of 41,000 files those walks cost
    more than the database. The young objects are collected once at the end, and whatever
    survives is frozen: it lives as long as the process and needs no more walking.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect(1)
        gc.freeze()


@dataclass(slots=True)
class Reconciler:
    engine: Engine
    root: str
    options: PlanOptions = field(default_factory=PlanOptions)
    before_plan: LockTaker | None = None
    """Called inside the run's transaction before it reads the database: the daemon takes
    its apply lock there and sets the run's timeouts."""
    record_failures: bool = True
    """Write a failed run to the history (the daemon does it itself, unless shutting down)."""
    cache: DocumentCache = field(default_factory=DocumentCache)
    desired: DesiredState | None = None
    """The tree as the last read saw it."""
    actual: ActualState | None = None
    """The database as the last committed run left it; None forces a full read."""
    db_version: int | None = None
    sticky: set[str] = field(default_factory=set)
    """Packs the last plan held back or found invalid: compared again until they settle."""

    def forget_database(self) -> None:
        """Make the next run read and compare the whole database."""
        self.actual = None
        self.db_version = None

    def read(self, changed: Collection[str] | None = None) -> DesiredState:
        """Read the tree; `changed` (absolute paths from file events) limits what is re-read.

        Raises TreeUnreadable / TreeChanged like `read_tree`.
        """
        only = self._folders(changed) if changed is not None else None
        with collector_paused():
            desired = read_tree(
                self.root, self.cache, previous=self.desired, only=only, progress=_Progress()
            )
        self.desired = desired
        return desired

    def _folders(self, changed: Collection[str]) -> set[str] | None:
        """Pack folders the paths fall in; None when a path is not inside one (read all)."""
        if self.desired is None:
            return None
        roots = {self.desired.root, os.path.abspath(self.root)}
        folders: set[str] = set()
        for path in changed:
            for root in roots:
                relative = os.path.relpath(path, root)
                if not relative.startswith(".."):
                    break
            else:
                return None
            top = relative.split(os.sep, 1)[0]
            if top in ("", "."):
                return None
            folders.add(top)
        return folders

    def run(
        self, changed: Collection[str] | None = None, *, revision: str | None = None
    ) -> RunOutcome:
        """Read and apply in one go (what `attune-sync apply` does, with memory)."""
        clock = time.perf_counter()
        desired = self.read(changed)
        read_seconds = time.perf_counter() - clock
        outcome = self.apply(desired, revision=revision)
        outcome.timings["read"] = read_seconds
        outcome.seconds = time.perf_counter() - clock
        return outcome

    def apply(
        self,
        desired: DesiredState,
        *,
        revision: str | None = None,
        scope: Collection[str] | None = None,
    ) -> RunOutcome:
        """Plan `desired` against the database and apply it in one transaction.

        `scope` limits the plan to those packs whatever else differs (`--drift report`
        applies the packs whose files changed and leaves drift elsewhere as it is).
        """
        started_at = datetime.now(UTC)
        clock = time.perf_counter()
        timings: dict[str, float] = {}
        if revision is None:
            revision = detect_revision(desired.root)
        try:
            with collector_paused(), self.engine.begin() as conn:
                if self.before_plan is not None:
                    self.before_plan(conn)
                mark = time.perf_counter()
                version = read_db_version(conn)
                actual = self.actual
                if actual is None or version != self.db_version:
                    actual = load_actual(conn)
                elif scope is None:
                    scope = self._scope(desired, actual)
                timings["load"] = time.perf_counter() - mark
                applied_hashes = {ref: info.content_hash for ref, info in actual.managed.items()}
                mark = time.perf_counter()
                plan = make_plan(desired, actual, self.options, scope)
                timings["plan"] = time.perf_counter() - mark
                mark = time.perf_counter()
                if len(plan.changes) >= _LARGE_PLAN:
                    log.info(
                        "applying", changes=len(plan.changes), seconds_planning=timings["plan"]
                    )
                applied = apply_plan(conn, plan, now=started_at)
                actual.record(plan)
                timings["apply"] = time.perf_counter() - mark
                result = run_result(plan)
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
                # apply_plan counts its own writes as one; anything more was someone else.
                wrote = bool(plan.changes or plan.bookkeeping or plan.ended_overrides)
                trusted = read_db_version(conn) == version + wrote
        except BaseException as error:
            # The snapshot may hold rows of a transaction that never committed.
            self.forget_database()
            if self.record_failures and isinstance(error, Exception):
                message = f"{type(error).__name__}: {error}"
                record_failure(self.engine, started_at, revision, message)
            raise
        if trusted:
            self.actual, self.db_version = actual, version + wrote
        else:
            self.forget_database()
        self.sticky = _unsettled(plan, actual)
        seconds = time.perf_counter() - clock
        return RunOutcome(
            plan, applied, revision, run_id, started_at, seconds, result, timings, applied_hashes
        )

    def _scope(self, desired: DesiredState, actual: ActualState) -> set[str]:
        """Packs whose files differ from what was last applied, or that need another look."""
        scope = set(self.sticky)
        for ref, bundle in desired.packs.items():
            info = actual.managed.get(ref)
            if (
                info is None
                or info.content_hash != bundle.content_hash
                or info.folder != bundle.folder
            ):
                scope.add(ref)
        scope.update(ref for ref in actual.managed if ref not in desired.packs)
        return scope


class _Progress:
    """Logs how far a long read has come, every few seconds; short reads stay quiet."""

    EVERY_S = 2.0

    def __init__(self) -> None:
        self.next_at = time.monotonic() + self.EVERY_S

    def __call__(self, done: int, total: int) -> None:
        moment = time.monotonic()
        if moment >= self.next_at:
            self.next_at = moment + self.EVERY_S
            log.info("reading pack folders", done=done, total=total)


def _unsettled(plan: Plan, actual: ActualState) -> set[str]:
    refs: set[str] = set()
    # An invalid pack is left as the database has it, which may differ from its recorded
    # content hash (a foreign write, a held-back delete): compare it again once it is valid.
    broken = {pack.folder for pack in plan.invalid}
    refs.update(pack.ref for pack in plan.invalid if pack.ref is not None)
    refs.update(ref for ref, info in actual.managed.items() if info.folder in broken)
    for item in plan.held_back:
        if item.kind == "pack":
            refs.add(item.ref)
        else:
            row = actual.objects(item.kind).get(item.ref)
            if row is not None and row.values.get("pack_ref") is not None:
                refs.add(row.values["pack_ref"])
    return refs
