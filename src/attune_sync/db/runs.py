"""The sync's own history: `sync_run` rows, one per run or per streak of identical idle runs.

A run that changed nothing and reports exactly what the newest row reports (the same
result, revision, counts and details: a daemon's full sync every minute of a quiet day) is
folded into that row: its `finished_at` moves on and its `run_count` goes up, instead of a
new row (1,440 a day). The history then keeps the newest `history_limit` rows (an engine
option, `make_engine(history_limit=...)`; 0 keeps everything).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Row, delete, insert, select, update

from attune_sync.db.changes import fold_changes
from attune_sync.db.engine import HISTORY_LIMIT_OPTION
from attune_sync.db.schema import sync_run
from attune_sync.db.settings import DEFAULT_HISTORY_LIMIT
from attune_sync.runs import RunSummary

RunResult = Literal["applied", "noop", "invalid", "held_back", "failed"]
"""The results the history holds: attune_sync.runs.HISTORY_RESULTS, as a type."""
RUN_RESULTS: frozenset[str] = frozenset(get_args(RunResult))
COMMITTED_RESULTS: tuple[RunResult, ...] = ("applied", "noop", "invalid", "held_back")
"""Results of runs whose transaction committed (attune_sync.runs.COMMITTED_RESULTS)."""

_SAME_AS_BEFORE = ("result", "revision", "held_back", "invalid", "details")


def record_run(
    conn: Connection,
    summary: RunSummary,
    *,
    started_at: datetime,
    finished_at: datetime | None,
    revision: str | None,
) -> int:
    """Record one run and return the id of its row (a repeat of an idle run reuses it).

    A failed apply has rolled its transaction back, so record it in a transaction of its own.
    The summary's `details` must be JSON-serialisable (errors, held-back reasons, per-object
    results); a summary without any stores none. Also keeps the sync's bookkeeping small:
    prunes the history, folds the change count.
    """
    if summary.result not in RUN_RESULTS:
        raise ValueError(f"result must be one of {sorted(RUN_RESULTS)}, not {summary.result!r}")
    fold_changes(conn)
    row = {
        "started_at": started_at,
        "finished_at": finished_at,
        "revision": revision,
        "result": str(summary.result),
        **summary.counts(),
        "details": summary.details or None,
    }
    latest = conn.execute(select(sync_run).order_by(sync_run.c.id.desc()).limit(1)).first()
    if latest is not None and _repeats(latest, row):
        conn.execute(
            update(sync_run)
            .where(sync_run.c.id == latest.id)
            .values(finished_at=finished_at, run_count=sync_run.c.run_count + 1)
        )
        run_id = int(latest.id)
    else:
        inserted = insert(sync_run).values(**row).returning(sync_run.c.id)
        run_id = int(conn.execute(inserted).scalar_one())
    _prune(conn)
    return run_id


def _repeats(latest: Row[Any], row: dict[str, Any]) -> bool:
    """`row` changed nothing and says what `latest` says: one more of the same run."""
    if row["created"] or row["updated"] or row["deleted"]:
        return False
    if latest.created or latest.updated or latest.deleted:
        return False
    return all(latest._mapping[name] == row[name] for name in _SAME_AS_BEFORE)


def _prune(conn: Connection) -> None:
    limit = int(conn.get_execution_options().get(HISTORY_LIMIT_OPTION, DEFAULT_HISTORY_LIMIT))
    if limit <= 0:
        return
    oldest_kept = (
        select(sync_run.c.id).order_by(sync_run.c.id.desc()).offset(limit - 1).limit(1)
    ).scalar_subquery()
    conn.execute(delete(sync_run).where(sync_run.c.id < oldest_kept))


def recent_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` rows, newest first, each as a dict keyed by column name.

    `run_count` says how many identical idle runs a row stands for: `started_at` is the
    first one's start, `finished_at` the last one's end.
    """
    query = select(sync_run).order_by(sync_run.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]
