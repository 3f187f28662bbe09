"""Prometheus metrics, on a registry of the daemon's own (tests run several daemons)."""

from __future__ import annotations

import platform

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from ..runs import RunResult
from ..version import version

# The `_created` series double every counter and histogram and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build_info = Gauge(
            "attune_sync_build_info",
            "Always 1; the labels say which attune-sync is running.",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(version(), platform.python_version()).set(1)
        self.synced_revision = Gauge(
            "attune_sync_synced_revision",
            "1 for the revision (commit) of the packs folder the last committed run applied.",
            ["revision"],
            registry=r,
        )
        self.runs = Counter("attune_sync_runs", "Sync runs by result.", ["result"], registry=r)
        for result in RunResult:
            self.runs.labels(result.value)  # so every series exists from the start (rate() works)
        self.run_duration = Histogram(
            "attune_sync_run_duration_seconds",
            "Wall time of a sync run, read to commit.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.objects_changed = Counter(
            "attune_sync_objects_changed",
            "Objects created, updated or deleted by applied runs.",
            ["kind", "action"],
            registry=r,
        )
        self.deletes_held_back = Counter(
            "attune_sync_deletes_held_back", "Deletes a run refused to make.", registry=r
        )
        self.invalid_packs = Gauge(
            "attune_sync_invalid_packs", "Pack folders invalid in the last run.", registry=r
        )
        self.drift_found = Counter(
            "attune_sync_drift_found",
            "Changes made to the database behind the sync's back, found by a run.",
            registry=r,
        )
        self.last_success = Gauge(
            "attune_sync_last_success_timestamp_seconds",
            "Unix time of the last run that committed.",
            registry=r,
        )
        self.leader = Gauge(
            "attune_sync_leader", "1 while this replica holds the leader lock.", registry=r
        )
        self.database_up = Gauge(
            "attune_sync_database_up", "1 while the last database contact worked.", registry=r
        )

    def synced(self, revision: str | None) -> None:
        """Show `revision` as the one applied; one series at a time."""
        self.synced_revision.clear()
        self.synced_revision.labels(revision or "unknown").set(1)
