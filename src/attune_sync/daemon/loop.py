"""The daemon: a loop of sync runs, woken by file hints and a timer.

One thread (the caller of `run`) does all runs, one at a time, through one `Reconciler`
(the engine's memory between runs). Its parts:

* `Scheduler` (scheduler.py): when the next run is due and what it may read, from file
  hints, the quiet period, the full-sync interval and retries; pure, with a clock.
* `RunGuard` (guard.py): the watchdog over a whole run (reading included), cancellation
  and shutdown.
* `Reporter` (reporter.py): metrics, /status state and log lines from how a run ended.
* leadership (db/leadership.py): which daemon of several on one database runs.

The watcher thread only records "something changed, around these paths"; the loop waits
for the quiet period, then re-reads the pack folders the events named. The timer's full
sync re-reads (by stat) the whole tree and, when anyone else wrote to the database (or
`full_compare_interval` has passed), compares all of it: that catches lost events and drift.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import structlog
from sqlalchemy import Engine

from ..db.engine import DatabaseTooNew, for_reading, make_engine, mask_url
from ..db.history import any_committed_run
from ..db.leadership import Leadership, leadership_for
from ..db.migrate import upgrade
from ..outcome import RunCancelled
from ..reader import TreeChanged, TreeUnreadable
from ..reconciler import Reconciler
from ..revision import detect_revision
from ..runs import RunResult
from .guard import RunGuard
from .http import StatusServer
from .metrics import Metrics
from .reporter import Reporter
from .scheduler import Backoff, DueRun, Scheduler
from .settings import BACKOFF_FIRST_S, Settings, parse_listen
from .state import DaemonState, now
from .watcher import TreeWatcher

log = structlog.get_logger("attune_sync.daemon")

__all__ = ["Backoff", "Daemon"]


class Daemon:
    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self._own_engine = engine is None
        # check=False: an unreachable database at start is retried in run(), not fatal.
        self.engine = engine or make_engine(
            settings.database_url,
            check=False,
            schema=settings.db_schema,
            history_limit=settings.history_limit,
        )
        self.metrics = Metrics()
        self.state = DaemonState()
        self.reporter = Reporter(self.metrics, self.state)
        self.guard = RunGuard(settings.run_timeout, on_abandoned=self.reporter.abandoned)
        self.reconciler = Reconciler(
            self.engine,
            settings.packs_dir,
            settings.options,
            before_plan=self.guard.before_plan,
            full_compare_every=settings.full_compare_interval,
        )
        self.scheduler = Scheduler(
            quiet_period=settings.quiet_period,
            max_batch_delay=settings.max_batch_delay,
            full_sync_interval=settings.full_sync_interval,
            clock=time.monotonic,
        )
        self.leadership: Leadership = leadership_for(
            settings.database_url, self.engine.dialect.name
        )
        self._wake = threading.Condition()
        self._stopping = False
        self._stop_requested_at: float | None = None
        self._backoff = Backoff(BACKOFF_FIRST_S, settings.backoff_max)
        self._prepared = False
        self._unreadable_logged = False
        self._standby_logged = False
        self._http: StatusServer | None = None
        if settings.listen:
            host, port = parse_listen(settings.listen)
            self._http = StatusServer(host, port, self.state, self.metrics)
        self._watcher = TreeWatcher(
            settings.packs_dir,
            self.hint,
            recheck=settings.link_recheck,
            force_polling=settings.force_polling,
        )
        self.finished = threading.Event()

    @property
    def http_address(self) -> tuple[str, int] | None:
        return self._http.address if self._http else None

    @property
    def _active(self) -> Any:
        """The connection of the run in flight (tests wait for a run to reach the database)."""
        return self.guard.active

    # ------------------------------------------------------------------ control

    def hint(self, reason: str = "files", paths: set[str] | None = None) -> None:
        """Something may have changed (under `paths`, when known): run after the quiet period."""
        self.scheduler.hint(paths)
        with self._wake:
            self._wake.notify_all()

    def stop(self) -> None:
        """Finish (or, after shutdown_timeout, cancel and roll back) the current run, then exit."""
        with self._wake:
            if self._stopping:
                return
            self._stopping = True
            self._stop_requested_at = time.monotonic()
            self._wake.notify_all()
        log.info("stopping", shutdown_timeout=self.settings.shutdown_timeout)
        timer = threading.Timer(self.settings.shutdown_timeout, self.guard.shutdown)
        timer.daemon = True
        timer.start()

    def stop_requested_for(self) -> float:
        """Seconds since stop() was called; 0 while running normally."""
        with self._wake:
            since = self._stop_requested_at
        return 0.0 if since is None else time.monotonic() - since

    def run(self) -> None:
        """Block until stop(): sync at start, then after changes and every interval."""
        try:
            if self._http:
                self._http.start()
            self._watcher.start()
            log.info(
                "watching",
                packs_dir=self.settings.packs_dir,
                database=mask_url(self.settings.database_url),
                quiet_period=self.settings.quiet_period,
                full_sync_interval=self.settings.full_sync_interval,
                full_compare_interval=self.settings.full_compare_interval,
                drift=self.settings.drift,
                listen=self.settings.listen,
            )
            while not self._stopping:
                delay = self._step()
                if delay > 0:
                    with self._wake:
                        if not self._stopping:
                            self._wake.wait(delay)
        finally:
            self._watcher.stop()
            self._release_leadership()
            if self._http:
                self._http.stop()
            if self._own_engine:
                self.engine.dispose()
            log.info("stopped")
            self.finished.set()

    # ------------------------------------------------------------------ steps

    def _step(self) -> float:
        """Do the next thing due; return how long to wait before looking again."""
        if not self._prepared:
            try:
                upgrade(self.engine)
            except DatabaseTooNew:
                raise  # no retry can help: this version must not touch that database
            except Exception as error:
                self.reporter.database_failed("database not ready (will retry)", error)
                return self._backoff.next()
            self._prepared = True
            self._backoff.reset()
        leading = self._lead()
        if leading is None:
            return self._backoff.next()
        if not leading:
            return self.settings.leader_retry
        delay = self.scheduler.due_in()
        if delay > 0:
            return delay
        due = self.scheduler.take()
        with structlog.contextvars.bound_contextvars(run_id=uuid.uuid4().hex[:12], revision=None):
            self._run(due)
        self.scheduler.finished()
        return 0.0

    def _lead(self) -> bool | None:
        was_leader = self.state.leader
        try:
            leading = self.leadership.try_acquire()
        except Exception as error:
            self.reporter.leader(False)
            self.reporter.database_failed("cannot take or keep the leader lock", error)
            return None
        if leading and not was_leader:
            log.info("became leader", lock=self.leadership.describe())
            self._standby_logged = False
            self.reporter.leader(True)
            self.scheduler.full_sync_now()  # a new leader syncs at once
        elif not leading:
            if was_leader:
                self.reporter.leader(False)
            if not self._standby_logged:
                log.info(
                    "another daemon leads this database; standing by until it stops",
                    lock=self.leadership.describe(),
                )
                self._standby_logged = True
            self._standby_check()
        return leading

    def _standby_check(self) -> None:
        """A standby is ready while the database answers and the leader has synced."""
        try:
            with self.engine.connect() as conn:
                synced = any_committed_run(for_reading(conn))
        except Exception as error:
            self.reporter.database_failed("database unreachable", error)
            return
        self.reporter.database_up(synced)

    # ------------------------------------------------------------------ one run

    def _run(self, due: DueRun) -> None:
        clock = time.perf_counter()
        record: dict[str, Any] = {"run_id": None, "started_at": now().isoformat()}
        cancel = self.guard.begin()  # the watchdog covers reading too
        try:
            try:
                desired = self.reconciler.read(due.changed, cancel)
            except TreeUnreadable as error:
                self._unreadable(error, clock)
                return
            except TreeChanged as error:
                # Files vanished mid-read (a swap): throw the run away, read again soon.
                log.info("tree changed while reading; run discarded", error=str(error))
                self.reporter.count(RunResult.TREE_CHANGED, clock)
                self.scheduler.retry_in(self.settings.quiet_period)
                return
            except RunCancelled as error:
                self._failed(error, clock, record, revision=None)
                return
            self._unreadable_logged = False
            revision = detect_revision(desired.root)
            structlog.contextvars.bind_contextvars(revision=revision)
            log.info(
                "run started",
                reason=due.reason,
                root=desired.root,
                packs=len(desired.packs),
                hinted=None if due.changed is None else len(due.changed),
            )
            record.update(run_id=uuid.uuid4().hex[:12], revision=revision)
            try:
                outcome = self.reconciler.apply(
                    desired, revision=revision, cancel=cancel, drift=self.settings.drift
                )
            except Exception as error:
                self._failed(error, clock, record, revision=revision)
                return
        finally:
            self.guard.end()
        self.reporter.succeeded(outcome, desired.packs, clock, record)
        self._backoff.reset()

    def _unreadable(self, error: TreeUnreadable, clock: float) -> None:
        # git-sync may not have cloned yet: wait, look again, never exit.
        if not self._unreadable_logged:
            log.warning("packs folder unreadable; waiting for it", error=str(error))
            self._unreadable_logged = True
        self.reporter.count(RunResult.UNREADABLE, clock)
        self.state.set(errors=[str(error)], abandoned=None)
        self.scheduler.retry_in(self.settings.link_recheck)

    def _failed(
        self, error: Exception, clock: float, record: dict[str, Any], *, revision: str | None
    ) -> None:
        message = f"{type(error).__name__}: {error}".strip()
        cancelled = self._stopping or isinstance(error, RunCancelled)
        self.reporter.failed(message, clock, record, cancelled=cancelled)
        self.metrics.database_up.set(0 if not isinstance(error, RunCancelled) else 1)
        self.scheduler.retry_in(self._backoff.next())

    def _release_leadership(self) -> None:
        try:
            self.leadership.release()
        finally:
            self.reporter.leader(False)
