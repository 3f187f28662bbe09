"""The run guard: one watchdog over a whole run, cancellation, and shutdown.

A run is guarded from before it reads the tree until it commits or rolls back. When the
watchdog fires (or shutdown's grace ends) the guard sets the run's `CancelToken`, which
the run checks between pack folders, after loading and planning, and just before commit,
and it cancels the statement in flight, if any. A run that does not come back is
"abandoned": the daemon reports it (/readyz 503) until a run ends again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import Connection

from ..db.locks import set_run_timeouts
from ..outcome import SHUTDOWN, CancelToken, RunCancelled

log = structlog.get_logger("attune_sync.daemon")

TIMEOUT = "run timeout"

TimerFactory = Callable[[float, Callable[[], None]], Any]
"""Starts a one-shot timer (threading.Timer by default) and returns it (with cancel())."""


def _thread_timer(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


class RunGuard:
    def __init__(
        self,
        run_timeout: float,
        *,
        on_abandoned: Callable[[str], None] = lambda why: None,
        timer: TimerFactory = _thread_timer,
    ) -> None:
        self.run_timeout = run_timeout
        self.on_abandoned = on_abandoned
        self._timer_factory = timer
        self._lock = threading.Lock()
        self._token: CancelToken | None = None
        self._active: Any = None
        self._watchdog: Any = None
        self._stopping = False

    @property
    def active(self) -> Any:
        """The DB-API connection of the run's transaction, while it has one."""
        with self._lock:
            return self._active

    def begin(self) -> CancelToken:
        """A run starts (before it reads): arm the watchdog, hand out its token."""
        token = CancelToken()
        with self._lock:
            self._token = token
            if self._stopping:
                token.cancel(SHUTDOWN)
        self._watchdog = self._timer_factory(self.run_timeout, self.expire)
        return token

    def end(self) -> None:
        """The run returned (committed, rolled back or gave up)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        with self._lock:
            self._token = None
            self._active = None

    def expire(self) -> None:
        """The watchdog fired: the run is cancelled and, until it returns, abandoned."""
        if self._cancel(TIMEOUT):
            self.on_abandoned(f"the run exceeded --run-timeout ({self.run_timeout:g} s)")

    def shutdown(self) -> None:
        """Shutdown's grace ended: cancel the running run, and any run yet to start."""
        with self._lock:
            self._stopping = True
        self._cancel(SHUTDOWN)

    def before_plan(self, conn: Connection) -> None:
        """Inside the run's transaction, before it takes the write lock and reads."""
        with self._lock:
            token = self._token
            if token is not None and token.cancelled:
                raise RunCancelled(token.reason or SHUTDOWN)
            self._active = conn.connection.dbapi_connection
        set_run_timeouts(conn, self.run_timeout)

    def _cancel(self, why: str) -> bool:
        with self._lock:
            token, active = self._token, self._active
        if token is None:
            return False
        token.cancel(why)
        if active is not None:
            log.warning("cancelling the running transaction", why=why)
            _interrupt(active)
        else:
            log.warning("cancelling the running run", why=why)
        return True


def _interrupt(active: Any) -> None:
    """Cancel the statement in flight; the run's transaction then rolls back."""
    try:
        if hasattr(active, "interrupt"):  # sqlite3
            active.interrupt()
        elif hasattr(active, "cancel_safe"):  # psycopg >= 3.2
            active.cancel_safe()
        else:
            active.cancel()
    except Exception as error:
        log.warning("could not cancel the running transaction", error=str(error))
