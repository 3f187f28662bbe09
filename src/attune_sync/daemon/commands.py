"""Argument parsing and entry points for `attune-sync watch` and `attune-sync status`.

cli.py owns the shared options; it passes its `common` and `guards` helpers in (importing
cli here would be an import cycle).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from .. import render
from ..db.engine import DEFAULT_DATABASE_URL, DatabaseError, DatabaseTooNew
from ..db.reading import open_for_reading
from ..dboptions import add_history_option, engine_options
from ..envvars import env_default, env_flag
from ..planner import PlanOptions
from .settings import (
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_FULL_SYNC_INTERVAL_S,
    DEFAULT_LISTEN,
    DEFAULT_QUIET_PERIOD_MS,
    DEFAULT_RUN_TIMEOUT_S,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    Settings,
    parse_listen,
)

log = structlog.get_logger("attune_sync.daemon")

Common = Callable[[argparse.ArgumentParser, str | None], None]
Guards = Callable[[argparse.ArgumentParser], None]

EXIT_OK = 0
EXIT_ATTENTION = 1  # status: a pack is invalid or held back, or the last run failed
EXIT_CRASHED = 1  # watch: the loop died of an unexpected error
EXIT_TROUBLE = 2  # watch: unusable configuration; status: cannot read the database
SHUTDOWN_GRACE_S = 3.0
"""After shutdown_timeout the run is cancelled; this long more and the process just exits
(the uncommitted transaction dies with the connection, so nothing half-applied remains)."""


DRIFT_MODES = ("revert", "report")


def _drift_mode(text: str) -> str:
    if text not in DRIFT_MODES:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of: {', '.join(DRIFT_MODES)}")
    return text


def add_watch_parser(
    commands: argparse._SubParsersAction[Any], common: Common, guards: Guards
) -> None:
    watch = commands.add_parser(
        "watch", help="sync at start, then after every change and every interval (the sidecar)"
    )
    common(watch, DEFAULT_DATABASE_URL)
    guards(watch)
    add_history_option(watch)
    add = watch.add_argument
    add(
        "--quiet-period",
        type=int,
        metavar="MS",
        default=env_default("ATTUNE_SYNC_QUIET_PERIOD", DEFAULT_QUIET_PERIOD_MS),
        help="run once no file has changed for this long (env ATTUNE_SYNC_QUIET_PERIOD, "
        f"default {DEFAULT_QUIET_PERIOD_MS} ms)",
    )
    add(
        "--full-sync-interval",
        type=float,
        metavar="SECONDS",
        default=env_default("ATTUNE_SYNC_FULL_SYNC_INTERVAL", DEFAULT_FULL_SYNC_INTERVAL_S),
        help="full sync (finds drift) at least this often (env ATTUNE_SYNC_FULL_SYNC_INTERVAL, "
        "default 60)",
    )
    add(
        "--drift",
        # A type, not choices: argparse checks a default (here, from the environment) only
        # through its type.
        type=_drift_mode,
        metavar="{revert,report}",
        default=env_default("ATTUNE_SYNC_DRIFT", "revert"),
        help="what to do about database changes made behind the sync's back (env "
        "ATTUNE_SYNC_DRIFT, default revert)",
    )
    add(
        "--listen",
        metavar="HOST:PORT",
        default=env_default("ATTUNE_SYNC_LISTEN", DEFAULT_LISTEN),
        help="address of /healthz /readyz /metrics /status; 'off' disables (env "
        f"ATTUNE_SYNC_LISTEN, default {DEFAULT_LISTEN})",
    )
    add(
        "--run-timeout",
        type=float,
        metavar="SECONDS",
        default=env_default("ATTUNE_SYNC_RUN_TIMEOUT", DEFAULT_RUN_TIMEOUT_S),
        help="cancel and roll back a run's transaction after this long (env "
        "ATTUNE_SYNC_RUN_TIMEOUT, default 20)",
    )
    add(
        "--shutdown-timeout",
        type=float,
        metavar="SECONDS",
        default=env_default("ATTUNE_SYNC_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT_S),
        help="on SIGTERM/SIGINT let a running run finish this long, then cancel it (env "
        "ATTUNE_SYNC_SHUTDOWN_TIMEOUT, default 5)",
    )
    add(
        "--backoff-max",
        type=float,
        metavar="SECONDS",
        default=env_default("ATTUNE_SYNC_BACKOFF_MAX", DEFAULT_BACKOFF_MAX_S),
        help="longest wait between retries after a failure (env ATTUNE_SYNC_BACKOFF_MAX, "
        "default 30)",
    )
    add(
        "--force-polling",
        action="store_true",
        default=env_flag("ATTUNE_SYNC_FORCE_POLLING"),
        help="poll instead of inotify (network filesystems; env ATTUNE_SYNC_FORCE_POLLING)",
    )


def add_status_parser(commands: argparse._SubParsersAction[Any], common: Common) -> None:
    status = commands.add_parser(
        "status", help="recent runs and each managed pack's standing, from the database"
    )
    common(status, DEFAULT_DATABASE_URL)
    status.add_argument("--runs", type=int, default=10, metavar="N", help="runs to show")


def settings_from_args(args: argparse.Namespace) -> Settings:
    listen = None if str(args.listen).lower() in ("", "off", "none") else str(args.listen)
    if listen is not None:
        parse_listen(listen)
    for name in ("quiet_period", "full_sync_interval", "run_timeout", "backoff_max"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive")
    if args.shutdown_timeout < 0:
        raise ValueError("--shutdown-timeout must not be negative")
    return Settings(
        packs_dir=args.packs_dir,
        database_url=args.database,
        db_schema=args.db_schema,
        history_limit=args.history_limit,
        options=PlanOptions(
            allow_mass_delete=args.allow_mass_delete, max_delete_share=args.max_delete_share
        ),
        quiet_period=args.quiet_period / 1000,
        full_sync_interval=args.full_sync_interval,
        drift=args.drift,
        listen=listen,
        run_timeout=args.run_timeout,
        shutdown_timeout=args.shutdown_timeout,
        force_polling=args.force_polling,
        backoff_max=args.backoff_max,
    )


def cmd_watch(args: argparse.Namespace) -> int:
    from .loop import Daemon  # keeps `status` free of watchfiles and the HTTP server

    try:
        settings = settings_from_args(args)
        daemon = Daemon(settings)
    except (ValueError, DatabaseError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_TROUBLE
    crashed: list[BaseException] = []

    def body() -> None:
        try:
            daemon.run()
        except DatabaseTooNew as error:
            crashed.append(error)
            log.error("cannot use the database", error=str(error))
        except BaseException as error:
            crashed.append(error)
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
            os._exit(EXIT_CRASHED)
    if crashed and isinstance(crashed[0], DatabaseTooNew):
        return EXIT_TROUBLE
    return EXIT_CRASHED if crashed else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .status import needs_attention, read_status, render_status

    try:
        # Read-only: status never creates a database file, a schema or a table.
        database = open_for_reading(args.database, **engine_options(args))
    except DatabaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_TROUBLE
    status = None
    try:
        if database.engine is not None:
            with database.connect() as conn:
                status = read_status(conn, args.runs)
    except SQLAlchemyError as error:
        print(f"error: cannot read the database: {error}", file=sys.stderr)
        return EXIT_TROUBLE
    finally:
        database.dispose()
    if status is None:
        message = "no sync has run against this database yet"
        if args.output == "json":
            print(render.dumps({"error": message}))
        else:
            print(message, file=sys.stderr)
        return EXIT_TROUBLE
    if args.output == "json":
        print(render.dumps(status))
    else:
        print(render_status(status))
    return EXIT_ATTENTION if needs_attention(status) else EXIT_OK
