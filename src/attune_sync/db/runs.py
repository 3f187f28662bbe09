"""The sync's own history: one `sync_run` row per reconciliation attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, insert, select

from attune_sync.db.schema import sync_run

RunResult = Literal["applied", "noop", "invalid", "held_back", "failed"]
"""The results the history holds: attune_sync.runs.HISTORY_RESULTS, as a type."""
RUN_RESULTS: frozenset[str] = frozenset(get_args(RunResult))
COMMITTED_RESULTS: tuple[RunResult, ...] = ("applied", "noop", "invalid", "held_back")
"""Results of runs whose transaction committed (attune_sync.runs.COMMITTED_RESULTS)."""


def record_run(
    conn: Connection,
    *,
    started_at: datetime,
    finished_at: datetime | None,
    revision: str | None,
    result: RunResult,
    created: int = 0,
    updated: int = 0,
    deleted: int = 0,
    held_back: int = 0,
    invalid: int = 0,
    details: dict[str, Any] | None = None,
) -> int:
    """Insert one run and return its id.

    A failed apply has rolled its transaction back, so record it in a transaction of its own.
    `details` must be JSON-serialisable (errors, held-back reasons, per-object results).
    """
    if result not in RUN_RESULTS:
        raise ValueError(f"result must be one of {sorted(RUN_RESULTS)}, not {result!r}")
    row_id = conn.execute(
        insert(sync_run)
        .values(
            started_at=started_at,
            finished_at=finished_at,
            revision=revision,
            result=result,
            created=created,
            updated=updated,
            deleted=deleted,
            held_back=held_back,
            invalid=invalid,
            details=details,
        )
        .returning(sync_run.c.id)
    ).scalar_one()
    return int(row_id)


def recent_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first, each as a dict keyed by column name."""
    query = select(sync_run).order_by(sync_run.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]
