"""The daemon's code path: repeated sync runs whose cost follows the change, not the tree.

A `Reconciler` remembers, between runs:

* the parsed files (`DocumentCache`): a run re-parses only files whose bytes changed. A
  fresh process seeds it from what earlier applies stored (`readcache`), and every apply
  stores what changed, so even a new process parses only the files that changed;
* the last tree it read, per pack folder: a run told which paths changed re-reads only
  those pack folders (the root is always listed again, and a run without hints reads all);
* the database as its last committed run left it (the snapshot it read, changed as its
  own plans changed the database), and the database's change counter (bumped by triggers
  on every write, by anyone): while the counter shows no foreign write, a run compares only
  the packs whose files changed and reads nothing but the counter. Any foreign write
  (drift, the API, another tool) makes the next run read and compare everything.

Because triggers can be bypassed (`session_replication_role = replica`, a restore with
`--disable-triggers`), the counter is not trusted for ever: a run reads and compares the
whole database at least every `full_compare_every` seconds (`FULL_COMPARE_EVERY_S`).

Every run takes the database's write lock (`db.locks`) before it reads, so two writers
never plan against rows the other is changing. A `CancelToken` (the daemon's watchdog or
shutdown) is checked between the steps of a run and just before it commits.

The result is the same plan a full run would make; the property tests hold it to that.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy import Connection, Engine

from .db.apply import apply_plan
from .db.engine import for_reading
from .db.history import record_failure, record_summary
from .db.locks import DEFAULT_WRITE_LOCK_WAIT_S, take_write_lock
from .db.orphans import remove_orphans
from .db.state import load_actual, read_db_version
from .drift import DriftSplit
from .memory import RunMemory
from .model import ActualState, DesiredState, Plan
from .outcome import SHUTDOWN, CancelToken, LockTaker, RunOutcome
from .parse_ahead import parse_ahead
from .planner import PlanOptions, make_plan, plan_with_drift
from .reader import DocumentCache, read_tree
from .revision import detect_revision
from .runs import RunSummary
from .settled import changed_packs
from .shortcut import settled_state

log = structlog.get_logger(__name__)

_LARGE_PLAN = 1000
"""Plans this long take long enough to apply that the log says so first."""

FULL_COMPARE_EVERY_S = 600.0
"""A run reads and compares the whole database at least this often, whatever the change
counter says (writes made with triggers disabled do not move it)."""

DriftMode = Literal["revert", "report"]


@contextmanager
def collector_paused(freeze: bool = True) -> Iterator[None]:
    """Keep the cyclic garbage collector out of a run, and out of what the run keeps.

    A run allocates millions of long-lived objects (parsed files, snapshots); each full
    collection would walk all of them, and on a cold sync of 41,000 files those walks cost
    more than the database. The young objects are collected once at the end, and whatever
    survives is frozen: it lives as long as the process and needs no more walking. A
    one-shot caller passes freeze=False, so what it drops afterwards (its engine and the
    engine's connections) can still be collected.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect(1)
        if freeze:
            gc.freeze()


@dataclass(slots=True)
class Reconciler:
    engine: Engine
    root: str
    options: PlanOptions = field(default_factory=PlanOptions)
    before_plan: LockTaker | None = None
    """Called inside the run's transaction before it takes the write lock and reads."""
    lock_wait: float = DEFAULT_WRITE_LOCK_WAIT_S
    """How long a run waits for another writer's transaction (PostgreSQL)."""
    full_compare_every: float = FULL_COMPARE_EVERY_S
    clock: Callable[[], float] = time.monotonic
    long_lived: bool = True
    """Freeze what survives each run and keep the database snapshot for the next (a daemon
    does); False for one-shot callers, whose next run, if any, reads the database again."""
    cache: DocumentCache = field(default_factory=DocumentCache)
    desired: DesiredState | None = None
    """The tree as the last read saw it."""
    actual: ActualState | None = None
    """The database as the last committed run left it; None forces a full read."""
    db_version: int | None = None
    loaded_at: float | None = None
    """When the whole database was last read (by `clock`)."""
    sticky: set[str] = field(default_factory=set)
    """Packs the last plan held back or found invalid: compared again until they settle."""
    applied_hashes: dict[str, str] = field(default_factory=dict)
    """Managed pack ref to the content hash this process last applied it with; survives a
    foreign delete of the pack (whose bookkeeping row cascades away with it)."""
    read_cache: bool = True
    """Seed the parse cache from, and store it to, the database (`memory`, `readcache`);
    False reads every file in full (`--full-compare`, the property tests' reference)."""
    memory: RunMemory = field(init=False)
    _snapshot: ActualState | None = field(default=None, init=False, repr=False)
    """The snapshot the current run planned against."""
    _version: int = field(default=0, init=False, repr=False)
    """The change counter the current run read."""

    def __post_init__(self) -> None:
        self.memory = RunMemory(enabled=self.read_cache)

    def forget_database(self) -> None:
        """Make the next run read and compare the whole database."""
        self.actual = None
        self.db_version = None

    def read(
        self, changed: Collection[str] | None = None, cancel: CancelToken | None = None
    ) -> DesiredState:
        """Read the tree; `changed` (absolute paths from file events) limits what is re-read.

        Raises TreeUnreadable / TreeChanged like `read_tree`, RunCancelled once `cancel` is.
        """
        only = self._folders(changed) if changed is not None else None
        with collector_paused(self.long_lived):
            known = self.memory.seen  # what the settled shortcut hashed (the seed drops it)
            self.memory.seed(self.engine, self.cache)  # once a process: stored documents
            if self.desired is None or only is not None:
                # A first read may parse the whole tree: on every core. Later full reads
                # find nearly every file by signature, so they skip this listing.
                check = cancel.check if cancel is not None else None
                parse_ahead(
                    self.root,
                    self.cache,
                    previous=self.desired,
                    only=only,
                    known=known,
                    check=check,
                )
            desired = read_tree(
                self.root, self.cache, previous=self.desired, only=only, progress=_Progress(cancel)
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
        self,
        changed: Collection[str] | None = None,
        *,
        revision: str | None = None,
        cancel: CancelToken | None = None,
        drift: DriftMode = "revert",
    ) -> RunOutcome:
        """Read and apply in one go (what `attune-sync apply` does, with memory)."""
        clock = time.perf_counter()
        desired = self.read(changed, cancel)
        read_seconds = time.perf_counter() - clock
        outcome = self.apply(desired, revision=revision, cancel=cancel, drift=drift)
        outcome.timings["read"] = read_seconds
        outcome.seconds = time.perf_counter() - clock
        return outcome

    def plan(self, desired: DesiredState) -> Plan:
        """The plan a run would apply now, against what is committed. Changes nothing."""
        with self.engine.connect() as conn:
            actual = load_actual(for_reading(conn))
        return make_plan(desired, actual, self.options)

    def apply(
        self,
        desired: DesiredState,
        *,
        revision: str | None = None,
        cancel: CancelToken | None = None,
        drift: DriftMode = "revert",
    ) -> RunOutcome:
        """Plan `desired` against the database and apply it in one transaction.

        With `drift="report"`, changes that came from the database side are reported in the
        outcome and left as they are; the packs whose files changed are still applied.
        A failed run is written to the history, unless it was cancelled by shutdown.
        """
        started_at = datetime.now(UTC)
        clock = time.perf_counter()
        if revision is None:
            revision = detect_revision(desired.root)
        try:
            with collector_paused(self.long_lived), self.engine.begin() as conn:
                outcome = self._transaction(conn, desired, drift, cancel, started_at, revision)
                # apply_plan counts its own writes as one; anything more was someone else.
                wrote = bool(
                    outcome.plan.changes or outcome.plan.bookkeeping or outcome.plan.ended_overrides
                )
                trusted = read_db_version(conn) == self._version + wrote
                version = self._version + wrote if trusted else None
                self.memory.store(conn, desired, self.cache, outcome, self.options, version)
                if cancel is not None:
                    cancel.check()  # the last moment a watchdog can still roll it back
        except BaseException as error:
            # The snapshot may hold rows of a transaction that never committed.
            self.forget_database()
            self.memory.rolled_back()
            shutting_down = cancel is not None and cancel.reason == SHUTDOWN
            if isinstance(error, Exception) and not shutting_down:
                message = f"{type(error).__name__}: {error}"
                record_failure(self.engine, started_at, revision, message)
            raise
        assert self._snapshot is not None
        self.memory.committed()
        # A runtime this run created has an id only the database knows: reload next time.
        if trusted and self.long_lived and not self._snapshot.ids_unknown:
            self.actual, self.db_version = self._snapshot, self._version + wrote
        else:
            self.forget_database()
        # A pack deleted behind our back and only reported keeps the hash it was applied with.
        kept = {ref: h for ref, h in self.applied_hashes.items() if ref in desired.packs}
        kept.update((ref, info.content_hash) for ref, info in self._snapshot.managed.items())
        if not self.long_lived:  # the snapshot was not brought up to date: take the plan's
            kept.update(_hashes_applied(outcome.plan))
        self.applied_hashes = kept
        self.sticky = _unsettled(outcome.plan, self._snapshot)
        outcome.seconds = time.perf_counter() - clock
        return outcome

    def _transaction(
        self,
        conn: Connection,
        desired: DesiredState,
        drift: DriftMode,
        cancel: CancelToken | None,
        started_at: datetime,
        revision: str | None,
    ) -> RunOutcome:
        """Lock, read, plan, apply and record, inside the run's transaction."""
        timings: dict[str, float] = {}
        if self.before_plan is not None:
            self.before_plan(conn)
        mark = time.perf_counter()
        take_write_lock(conn, self.lock_wait)  # then read: plan from what is committed
        timings["lock"] = time.perf_counter() - mark
        mark = time.perf_counter()
        actual, scope = self._load(conn, desired)
        timings["load"] = time.perf_counter() - mark
        if cancel is not None:
            cancel.check()
        mark = time.perf_counter()
        plan, split = self._plan(desired, actual, scope, drift)
        timings["plan"] = time.perf_counter() - mark
        if cancel is not None:
            cancel.check()
        mark = time.perf_counter()
        if len(plan.changes) >= _LARGE_PLAN:
            log.info("applying", changes=len(plan.changes), seconds_planning=timings["plan"])
        applied = apply_plan(conn, plan, now=started_at)
        if self.long_lived:
            # Kept for the next run. A one-shot caller has none: on a cold apply that copy of
            # every row would cost seconds and the process's largest allocation.
            actual.record(plan)
        timings["apply"] = time.perf_counter() - mark
        summary = RunSummary.of_plan(plan)
        run_id = record_summary(conn, summary, started_at=started_at, revision=revision)
        return RunOutcome(
            plan,
            applied,
            revision,
            run_id,
            started_at,
            0.0,
            summary,
            timings,
            drift=split.drift,
            drift_reverted=drift == "revert",
            compared_all=scope is None,
        )

    def _load(self, conn: Connection, desired: DesiredState) -> tuple[ActualState, set[str] | None]:
        """The database snapshot, and the packs to compare (None: all of them)."""
        self._version = read_db_version(conn)
        now = self.clock()
        stale = self.loaded_at is None or now - self.loaded_at >= self.full_compare_every
        actual = self.actual
        scope: set[str] | None = None
        if actual is None or self._version != self.db_version or stale:
            if remove_orphans(conn):  # left by a delete without its cascade
                self._version = read_db_version(conn)
            first = self.loaded_at is None
            actual = load_actual(conn)
            self.loaded_at = now
            if first and self.read_cache and settled_state(conn, self.options):
                # A fresh process, and the database is as a settled apply left it: only packs
                # whose files changed can differ. (Later reloads follow doubt: compare all.)
                scope = self._scope(desired, actual)
        else:
            scope = self._scope(desired, actual)
        self._snapshot = actual
        return actual, scope

    def _plan(
        self,
        desired: DesiredState,
        actual: ActualState,
        scope: set[str] | None,
        drift: DriftMode,
    ) -> tuple[Plan, DriftSplit]:
        """Plan once, drift tagged; in report mode only the packs whose files changed."""
        recorded = {**self.applied_hashes}
        recorded.update((ref, info.content_hash) for ref, info in actual.managed.items())
        report = drift == "report"
        return plan_with_drift(desired, actual, self.options, scope, recorded, report=report)

    def _scope(self, desired: DesiredState, actual: ActualState) -> set[str]:
        """Packs whose files differ from what was last applied, or that need another look."""
        return changed_packs(desired, actual) | self.sticky


class _Progress:
    """Logs how far a long read has come, every few seconds; short reads stay quiet."""

    EVERY_S = 2.0

    def __init__(self, cancel: CancelToken | None = None) -> None:
        self.next_at = time.monotonic() + self.EVERY_S
        self.cancel = cancel

    def __call__(self, done: int, total: int) -> None:
        if self.cancel is not None:
            self.cancel.check()  # a read the watchdog gave up on stops at the next folder
        moment = time.monotonic()
        if moment >= self.next_at:
            self.next_at = moment + self.EVERY_S
            log.info("reading pack folders", done=done, total=total)


def _hashes_applied(plan: Plan) -> dict[str, str]:
    """Pack ref -> the content hash `plan` applies it with (as `ActualState.record` keeps)."""
    found = {
        change.ref: change.content_hash
        for change in plan.changes
        if change.kind == "pack" and change.action != "delete" and change.content_hash is not None
    }
    found.update((ref, info.content_hash) for ref, info in plan.bookkeeping.items())
    return found


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
