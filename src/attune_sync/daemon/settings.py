"""The daemon's settings: one frozen value, built from flags and environment by cli/watch.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..db.settings import DEFAULT_HISTORY_LIMIT
from ..plan_options import PlanOptions
from ..setting_values import split_listen

DriftMode = Literal["revert", "report"]

DEFAULT_QUIET_PERIOD_MS = 300
DEFAULT_FULL_SYNC_INTERVAL_S = 60.0
DEFAULT_FULL_COMPARE_INTERVAL_S = 600.0
"""Equal to reconciler.FULL_COMPARE_EVERY_S (a test holds them equal)."""
DEFAULT_LISTEN = "127.0.0.1:8080"
"""Loopback: /status shows pack names and errors; expose it on purpose (0.0.0.0:8080)."""
DEFAULT_RUN_TIMEOUT_S = 20.0
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
DEFAULT_BACKOFF_MAX_S = 30.0
BACKOFF_FIRST_S = 0.2
LEADER_RETRY_S = 1.0
"""How often a standby replica tries to take the leader lock."""
LINK_RECHECK_S = 1.0
"""How often the watcher re-resolves PACKS_DIR even without events (git-sync swaps)."""


@dataclass(frozen=True, slots=True)
class Settings:
    packs_dir: str
    database_url: str
    options: PlanOptions = field(default_factory=PlanOptions)
    db_schema: str | None = None
    """PostgreSQL schema of attune-sync's tables (--db-schema); None: the default one."""
    history_limit: int = DEFAULT_HISTORY_LIMIT
    """Rows of run history to keep (--history-limit); 0 keeps all."""
    quiet_period: float = DEFAULT_QUIET_PERIOD_MS / 1000
    """Seconds without file events before a run starts (a burst becomes one run)."""
    full_sync_interval: float = DEFAULT_FULL_SYNC_INTERVAL_S
    full_compare_interval: float = DEFAULT_FULL_COMPARE_INTERVAL_S
    """A run compares the whole database at least this often, even when the change counter
    shows no foreign write (writes made with triggers disabled do not move it)."""
    drift: DriftMode = "revert"
    listen: str | None = DEFAULT_LISTEN
    """host:port for /healthz, /readyz, /metrics, /status; None turns HTTP off."""
    run_timeout: float = DEFAULT_RUN_TIMEOUT_S
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    force_polling: bool = False
    backoff_max: float = DEFAULT_BACKOFF_MAX_S
    leader_retry: float = LEADER_RETRY_S
    link_recheck: float = LINK_RECHECK_S

    @property
    def max_batch_delay(self) -> float:
        """A stream of writes that never goes quiet still gets a run this often."""
        return max(2.0, 10 * self.quiet_period)


def parse_listen(listen: str) -> tuple[str, int]:
    """'host:port', '[v6]:port' or ':port' (all interfaces); ValueError says what is wrong."""
    return split_listen(listen)
