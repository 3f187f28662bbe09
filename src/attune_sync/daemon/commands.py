"""Running the daemon as a process: signals, a worker thread, and a bounded shutdown.

The `watch` command (cli/watch.py) parses and checks the settings; this module only runs them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

import structlog

from ..db.engine import DatabaseError, DatabaseTooNew
from .settings import Settings

log = structlog.get_logger("attune_sync.daemon")

SHUTDOWN_GRACE_S = 3.0
"""After shutdown_timeout the run is cancelled; this long more and the process just exits
(the uncommitted transaction dies with the connection, so nothing half-applied remains)."""


def run_daemon(settings: Settings, *, crashed: int, trouble: int) -> int:
    """Run until SIGTERM/SIGINT (0); `crashed` if the loop died, `trouble` if it cannot start."""
    from .loop import Daemon  # keeps `status` free of watchfiles and the HTTP server

    try:
        daemon = Daemon(settings)
    except (ValueError, DatabaseError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return trouble
    failures: list[BaseException] = []

    def body() -> None:
        try:
            daemon.run()
        except DatabaseTooNew as error:  # no retry can help; say why in one line
            failures.append(error)
            log.error("cannot use the database", error=str(error))
        except BaseException as error:
            failures.append(error)
            log.exception("daemon crashed")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received", signal=signal.Signals(signum).name)
        daemon.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The loop runs in a thread so this one stays free to handle signals promptly.
    worker = threading.Thread(target=body, name="daemon")
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        if daemon.stop_requested_for() > settings.shutdown_timeout + SHUTDOWN_GRACE_S:
            log.error("run did not end after cancel; exiting anyway (its transaction dies)")
            sys.stderr.flush()
            os._exit(crashed)
    if failures and isinstance(failures[0], DatabaseTooNew):
        return trouble
    return crashed if failures else 0
