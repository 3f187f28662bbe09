"""The daemon: a loop of sync runs, woken by file hints and a timer.

One thread (the caller of `run`) does all runs, one at a time, through one `Reconciler`.
The watcher thread only records "something changed, around these paths"; the loop waits
for `quiet_period` without events, then re-reads the pack folders the events named (the
root is always listed again). The timer's full sync re-reads (by stat) the whole tree and,
when anyone else wrote to the database, compares all of it: that catches lost events and
drift.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, exists, select

from ..db import schema as t
from ..db.engine import for_reading, make_engine
from ..db.migrate import upgrade
from ..db.runs import COMMITTED_RESULTS
from ..db.state import load_actual
from ..model import Plan
from ..outcome import RunOutcome, record_failure
from ..planner import make_plan
from ..reader import TreeChanged, TreeUnreadable
from ..reconciler import Reconciler
from ..revision import detect_revision
from .drift import describe, split_drift
from .http import StatusServer
from .leader import APPLY_LOCK_KEY, AlwaysLeader, Leadership, PostgresLeadership
from .metrics import Metrics
from .settings import BACKOFF_FIRST_S, Settings, parse_listen
from .state import DaemonState, now, pack_states
from .watcher import TreeWatcher

log = structlog.get_logger("attune_sync.daemon")


class RunAborted(Exception):
    """The daemon is shutting down and the run had not touched the database yet."""


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


class Daemon:
    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self._own_engine = engine is None
        # check=False: an unreachable database at start is retried in run(), not fatal.
        self.engine = engine or make_engine(settings.database_url, check=False)
        self.metrics = Metrics()
        self.state = DaemonState()
        self.reconciler = Reconciler(
            self.engine,
            settings.packs_dir,
            settings.options,
            before_plan=self._before_plan,
            record_failures=False,  # recorded here, except for runs cancelled by shutdown
        )
        self._hinted: set[str] | None = set()
        """Paths file events named since the last run began; None: read everything."""
        self.leadership: Leadership = (
            PostgresLeadership(settings.database_url)
            if self.engine.dialect.name == "postgresql"
            else AlwaysLeader()
        )
        self._cond = threading.Condition()
        self._stopping = False
        self._stop_deadline: float | None = None
        self._dirty_since: float | None = None
        self._last_event = 0.0
        self._full_due = 0.0
        self._retry_at: float | None = None
        self._backoff = Backoff(BACKOFF_FIRST_S, settings.backoff_max)
        self._prepared = False
        self._unreadable_logged = False
        self._active: Any = None
        self._active_lock = threading.Lock()
        self._watchdog: threading.Timer | None = None
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

    # ------------------------------------------------------------------ control

    def hint(self, reason: str = "files", paths: set[str] | None = None) -> None:
        """Something may have changed (under `paths`, when known): run after the quiet period."""
        with self._cond:
            if paths is None or self._hinted is None:
                self._hinted = None
            else:
                self._hinted |= paths
            moment = time.monotonic()
            if self._dirty_since is None:
                self._dirty_since = moment
            self._last_event = moment
            self._cond.notify_all()

    def stop(self) -> None:
        """Finish (or, after shutdown_timeout, cancel and roll back) the current run, then exit."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._stop_deadline = time.monotonic() + self.settings.shutdown_timeout
            self._cond.notify_all()
        log.info("stopping", shutdown_timeout=self.settings.shutdown_timeout)
        timer = threading.Timer(self.settings.shutdown_timeout, self._interrupt, ("shutdown",))
        timer.daemon = True
        timer.start()

    def stop_requested_for(self) -> float:
        """Seconds since stop() was called; 0 while running normally."""
        with self._cond:
            deadline = self._stop_deadline
        if deadline is None:
            return 0.0
        return time.monotonic() - (deadline - self.settings.shutdown_timeout)

    def run(self) -> None:
        """Block until stop(): sync at start, then after changes and every interval."""
        try:
            if self._http:
                self._http.start()
            self._watcher.start()
            log.info(
                "watching",
                packs_dir=self.settings.packs_dir,
                quiet_period=self.settings.quiet_period,
                full_sync_interval=self.settings.full_sync_interval,
                drift=self.settings.drift,
            )
            while not self._stopping:
                delay = self._step()
                if delay > 0:
                    with self._cond:
                        if not self._stopping:
                            self._cond.wait(delay)
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
            except Exception as error:
                self._db_failed("database not ready (will retry)", error)
                return self._backoff.next()
            self._prepared = True
            self._backoff.reset()
        leading = self._lead()
        if leading is None:
            return self._backoff.next()
        if not leading:
            return self.settings.leader_retry
        delay = self._due_in()
        if delay > 0:
            return delay
        self._run_once()
        return 0.0

    def _lead(self) -> bool | None:
        was_leader = self.state.leader
        try:
            leading = self.leadership.try_acquire()
        except Exception as error:
            self._set_leader(False)
            self._db_failed("cannot take or keep the leader lock", error)
            return None
        if leading and not was_leader:
            log.info("became leader")
            self._set_leader(True)
            with self._cond:
                self._full_due = 0.0  # a new leader syncs at once
        elif not leading:
            if was_leader:
                self._set_leader(False)
            self._standby_check()
        return leading

    def _standby_check(self) -> None:
        """A standby is ready while the database answers and the leader has synced."""
        try:
            with self.engine.connect() as conn:
                query = select(exists().where(t.sync_run.c.result.in_(COMMITTED_RESULTS)))
                synced = bool(conn.execute(query).scalar())
        except Exception as error:
            self._db_failed("database unreachable", error)
            return
        self.metrics.database_up.set(1)
        self.state.set(database_reachable=True, succeeded_once=synced, failing=False, errors=[])

    def _due_in(self) -> float:
        moment = time.monotonic()
        with self._cond:
            if self._retry_at is not None:
                return max(0.0, self._retry_at - moment)
            due = self._full_due
            if self._dirty_since is not None:
                quiet_due = min(
                    self._last_event + self.settings.quiet_period,
                    self._dirty_since + self.settings.max_batch_delay,
                )
                due = min(due, quiet_due)
            return max(0.0, due - moment)

    # ------------------------------------------------------------------ one run

    def _run_once(self) -> None:
        with self._cond:
            reason = "files" if self._dirty_since is not None else "timer"
            if not self.state.runs:
                reason = "start"
            # Only a run woken by file events alone may limit what it reads; the timer, the
            # first run and retries read everything.
            changed = self._hinted if reason == "files" and self._retry_at is None else None
            # Events from here on belong to the next run: nothing is lost between the two.
            self._dirty_since = None
            self._hinted = set()
            self._retry_at = None
        run_id = uuid.uuid4().hex[:12]
        with structlog.contextvars.bound_contextvars(run_id=run_id, revision=None):
            self._run(run_id, reason, changed)
        with self._cond:
            self._full_due = time.monotonic() + self.settings.full_sync_interval

    def _run(self, run_id: str, reason: str, changed: set[str] | None) -> None:
        clock = time.perf_counter()
        started_at = now()
        try:
            desired = self.reconciler.read(changed)
        except TreeUnreadable as error:
            # git-sync may not have cloned yet: wait, look again, never exit.
            if not self._unreadable_logged:
                log.warning("packs folder unreadable; waiting for it", error=str(error))
                self._unreadable_logged = True
            self._count("unreadable", clock)
            self.state.set(errors=[str(error)])
            self._retry_in(self.settings.link_recheck)
            return
        except TreeChanged as error:
            # Files vanished mid-read (a swap): throw the run away, read again soon.
            log.info("tree changed while reading; run discarded", error=str(error))
            self._count("tree_changed", clock)
            self._retry_in(self.settings.quiet_period)
            return
        self._unreadable_logged = False
        revision = detect_revision(desired.root)
        structlog.contextvars.bind_contextvars(revision=revision)
        log.info(
            "run started",
            reason=reason,
            root=desired.root,
            packs=len(desired.packs),
            hinted=None if changed is None else len(changed),
        )
        record = {"run_id": run_id, "started_at": started_at.isoformat(), "revision": revision}
        try:
            scope = None
            if self.settings.drift == "report":
                handled, scope = self._report_drift_only(desired, clock, record)
                if handled:
                    return
            outcome = self.reconciler.apply(desired, revision=revision, scope=scope)
        except Exception as error:
            self._failed(error, started_at, revision, clock, record)
            return
        finally:
            self._end_transaction()
        drift, _ = split_drift(outcome.plan, desired, outcome.applied_hashes)
        self._succeeded(outcome, set(desired.packs), drift, clock, record)

    def _report_drift_only(
        self, desired: Any, clock: float, record: dict[str, Any]
    ) -> tuple[bool, set[str] | None]:
        """--drift report: (handled, scope).

        handled: the only differences were drift, now reported and not applied. Otherwise
        scope names the packs whose files changed, so the apply leaves drift elsewhere be
        (None when there was no drift at all).
        """
        with self.engine.connect() as conn:
            actual = load_actual(for_reading(conn))
        plan = make_plan(desired, actual, self.settings.options)
        hashes = {ref: info.content_hash for ref, info in actual.managed.items()}
        drift, tree = split_drift(plan, desired, hashes)
        if not drift:
            self.state.set(drift=[])  # whatever was reported before has been fixed
            return False, None
        self._report_drift(drift, reverted=False)
        if tree:
            # Apply the packs whose files changed; drift inside those packs goes with them.
            changed = {c.ref if c.kind == "pack" else c.pack_ref for c in tree}
            return False, {ref for ref in changed if ref is not None}
        seconds = self._count("drift_reported", clock)
        self.metrics.database_up.set(1)
        self.state.set(
            database_reachable=True,
            failing=False,
            errors=[],
            packs=pack_states(plan, set(desired.packs)),
        )
        self.state.add_run({**record, "result": "drift_reported", "seconds": seconds})
        self._backoff.reset()
        return True, None

    def _before_plan(self, conn: Connection) -> None:
        """Inside the run's transaction, before it reads the database."""
        with self._cond:
            deadline = self._stop_deadline
        if deadline is not None and time.monotonic() >= deadline:
            raise RunAborted("shut down before the run reached the database")
        with self._active_lock:
            self._active = conn.connection.dbapi_connection
        watchdog = threading.Timer(self.settings.run_timeout, self._interrupt, ("run timeout",))
        watchdog.daemon = True
        watchdog.start()
        self._watchdog = watchdog
        if conn.dialect.name == "postgresql":
            ms = max(1, int(self.settings.run_timeout * 1000))
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
            # Serialises applies even if two replicas briefly both believe they lead.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPLY_LOCK_KEY})")

    def _end_transaction(self) -> None:
        with self._active_lock:
            self._active = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _interrupt(self, why: str) -> None:
        """Cancel the statement in flight; the run's transaction then rolls back."""
        with self._active_lock:
            active = self._active
            if active is None:
                return
            log.warning("cancelling the running transaction", why=why)
            try:
                if hasattr(active, "interrupt"):  # sqlite3
                    active.interrupt()
                elif hasattr(active, "cancel_safe"):  # psycopg >= 3.2
                    active.cancel_safe()
                else:
                    active.cancel()
            except Exception as error:
                log.warning("could not cancel the running transaction", error=str(error))

    # ------------------------------------------------------------------ bookkeeping

    def _succeeded(
        self,
        outcome: RunOutcome,
        valid_refs: set[str],
        drift: list[Any],
        clock: float,
        record: dict[str, Any],
    ) -> None:
        plan = outcome.plan
        seconds = self._count(outcome.result, clock)
        for change in plan.changes:
            self.metrics.objects_changed.labels(change.kind, change.action).inc()
        held_deletes = sum(1 for item in plan.held_back if item.action == "delete")
        self.metrics.deletes_held_back.inc(held_deletes)
        self.metrics.invalid_packs.set(len(plan.invalid))
        self.metrics.last_success.set(time.time())
        self.metrics.database_up.set(1)
        self.metrics.synced(outcome.revision)  # workflow (issue 9)
        if drift:
            self._report_drift(drift, reverted=True)
        self.state.set(
            succeeded_once=True,
            database_reachable=True,
            failing=False,
            revision=outcome.revision,
            last_success=now(),
            errors=_plan_errors(plan),
            packs=pack_states(plan, valid_refs),
        )
        self.state.add_run(
            {
                **record,
                "db_run_id": outcome.run_id,
                "result": outcome.result,
                "seconds": round(seconds, 4),
                "created": plan.count("create"),
                "updated": plan.count("update"),
                "deleted": plan.count("delete"),
                "held_back": len(plan.held_back),
                "invalid": len(plan.invalid),
                "drift": len(drift),
            }
        )
        self._backoff.reset()
        log.info(
            "run finished",
            result=outcome.result,
            db_run_id=outcome.run_id,
            created=plan.count("create"),
            updated=plan.count("update"),
            deleted=plan.count("delete"),
            held_back=len(plan.held_back),
            invalid=len(plan.invalid),
            seconds=round(seconds, 4),
        )

    def _failed(
        self,
        error: Exception,
        started_at: Any,
        revision: str | None,
        clock: float,
        record: dict[str, Any],
    ) -> None:
        message = f"{type(error).__name__}: {error}".strip()
        if self._stopping:
            log.warning("run cancelled by shutdown; rolled back", error=message)
        else:
            log.error("run failed; rolled back", error=message)
            record_failure(self.engine, started_at, revision, message)
        seconds = self._count("failed", clock)
        self.metrics.database_up.set(0)
        self.state.set(failing=True, errors=[message])
        self.state.add_run({**record, "result": "failed", "seconds": seconds, "error": message})
        self._retry_in(self._backoff.next())

    def _report_drift(self, drift: list[Any], *, reverted: bool) -> None:
        self.metrics.drift_found.inc(len(drift))
        found = describe(drift)
        log.warning("drift found", reverted=reverted, changes=found[:50], count=len(found))
        self.state.set(drift=[] if reverted else found)

    def _db_failed(self, what: str, error: Exception) -> None:
        message = f"{what}: {type(error).__name__}: {error}".strip()
        log.warning(what, error=str(error))
        self.metrics.database_up.set(0)
        self.state.set(database_reachable=False, errors=[message])

    def _count(self, result: str, clock: float) -> float:
        seconds = time.perf_counter() - clock
        self.metrics.runs.labels(result).inc()
        self.metrics.run_duration.observe(seconds)
        return seconds

    def _retry_in(self, delay: float) -> None:
        with self._cond:
            self._retry_at = time.monotonic() + delay

    def _set_leader(self, leading: bool) -> None:
        self.state.set(leader=leading)
        self.metrics.leader.set(1 if leading else 0)

    def _release_leadership(self) -> None:
        try:
            self.leadership.release()
        finally:
            self._set_leader(False)


def _plan_errors(plan: Plan) -> list[str]:
    errors = [
        f"{pack.folder}: {problem.render()}" for pack in plan.invalid for problem in pack.problems
    ]
    errors += [
        f"held back {item.action} {item.kind} {item.ref}: {item.reason}" for item in plan.held_back
    ]
    return errors
