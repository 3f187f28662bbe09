"""`attune-sync watch`: the long-running sidecar. Its typed settings are the daemon's Settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ..setting_values import (
    choice,
    parse_listen,
    parse_milliseconds,
    parse_seconds,
    parse_seconds_or_zero,
    parse_switch,
)
from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .common import CommonSettings, plan_options
from .database import HISTORY_LIMIT
from .options import COMMON, GUARDS, READ_WORKERS, Option, Values

if TYPE_CHECKING:
    from ..daemon.settings import DriftMode, Settings

# Equal to daemon/settings.py's DEFAULT_* (a test holds them equal); kept here so --help does
# not import the daemon.
DEFAULT_QUIET_PERIOD_MS = 300
DEFAULT_FULL_SYNC_INTERVAL_S = 60.0
DEFAULT_FULL_COMPARE_INTERVAL_S = 600.0
DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_RUN_TIMEOUT_S = 20.0
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
DEFAULT_BACKOFF_MAX_S = 30.0


class WatchExit(ExitCode):
    STOPPED = 0, "stopped by SIGTERM/SIGINT"
    CRASHED = 1, "the loop crashed, or a cancelled run never returned"
    TROUBLE = (
        2,
        "cannot start: database URL unusable or unreachable, address in use, a database "
        "migrated by a newer attune-sync",
    )
    USAGE_ERROR = USAGE, USAGE_MEANING


WATCH_OPTIONS = (
    Option(
        "quiet_period",
        "--quiet-period",
        "ATTUNE_SYNC_QUIET_PERIOD",
        parse_milliseconds,
        DEFAULT_QUIET_PERIOD_MS,
        "run once no file has changed for this many milliseconds",
        metavar="MS",
    ),
    Option(
        "full_sync_interval",
        "--full-sync-interval",
        "ATTUNE_SYNC_FULL_SYNC_INTERVAL",
        parse_seconds,
        DEFAULT_FULL_SYNC_INTERVAL_S,
        "full sync (finds drift) at least this often, in seconds",
        metavar="SECONDS",
    ),
    Option(
        "full_compare_interval",
        "--full-compare-interval",
        "ATTUNE_SYNC_FULL_COMPARE_INTERVAL",
        parse_seconds,
        DEFAULT_FULL_COMPARE_INTERVAL_S,
        "compare the whole database at least this often, in seconds, whatever its change "
        "counter says (finds writes made with triggers disabled)",
        metavar="SECONDS",
    ),
    Option(
        "drift",
        "--drift",
        "ATTUNE_SYNC_DRIFT",
        choice("revert", "report"),
        "revert",
        "revert or only report database changes made behind the sync's back",
        metavar="{revert,report}",
    ),
    Option(
        "listen",
        "--listen",
        "ATTUNE_SYNC_LISTEN",
        parse_listen,
        DEFAULT_LISTEN,
        "address of /healthz /readyz /metrics /status; off disables it",
        metavar="HOST:PORT",
    ),
    Option(
        "run_timeout",
        "--run-timeout",
        "ATTUNE_SYNC_RUN_TIMEOUT",
        parse_seconds,
        DEFAULT_RUN_TIMEOUT_S,
        "cancel and roll back a run still going after this many seconds",
        metavar="SECONDS",
    ),
    Option(
        "shutdown_timeout",
        "--shutdown-timeout",
        "ATTUNE_SYNC_SHUTDOWN_TIMEOUT",
        parse_seconds_or_zero,
        DEFAULT_SHUTDOWN_TIMEOUT_S,
        "on SIGTERM/SIGINT let a running run finish this many seconds, then cancel it",
        metavar="SECONDS",
    ),
    Option(
        "backoff_max",
        "--backoff-max",
        "ATTUNE_SYNC_BACKOFF_MAX",
        parse_seconds,
        DEFAULT_BACKOFF_MAX_S,
        "longest wait between retries after a failed run, in seconds",
        metavar="SECONDS",
    ),
    Option(
        "force_polling",
        "--force-polling",
        "ATTUNE_SYNC_FORCE_POLLING",
        parse_switch,
        False,
        "poll instead of inotify (network filesystems)",
        switch=True,
    ),
)


def watch_settings(values: Values) -> Settings:
    from ..daemon.settings import Settings

    common = CommonSettings.from_values(values)
    return Settings(
        packs_dir=common.packs_dir,
        database_url=str(values["database"]),
        db_schema=common.db_schema,
        history_limit=int(values["history_limit"]),
        options=plan_options(values),
        quiet_period=int(values["quiet_period"]) / 1000,
        full_sync_interval=float(values["full_sync_interval"]),
        full_compare_interval=float(values["full_compare_interval"]),
        drift=cast("DriftMode", values["drift"]),
        listen=values["listen"],
        run_timeout=float(values["run_timeout"]),
        shutdown_timeout=float(values["shutdown_timeout"]),
        force_polling=bool(values["force_polling"]),
        backoff_max=float(values["backoff_max"]),
    )


def run(settings: Settings) -> int:
    from ..daemon.commands import run_daemon

    return run_daemon(settings, crashed=WatchExit.CRASHED, trouble=WatchExit.TROUBLE)


COMMAND = Command(
    name="watch",
    summary="sync at start, then after every change and every interval (the sidecar)",
    options=(*COMMON, *GUARDS, *WATCH_OPTIONS, HISTORY_LIMIT, READ_WORKERS),
    exits=WatchExit,
    settings=watch_settings,
    run=run,
    crashed=WatchExit.CRASHED,
    precedence="2 is decided at start, before any run; afterwards 1 over 0.",
)
