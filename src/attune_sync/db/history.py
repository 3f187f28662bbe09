"""Writing run summaries to the run history (`sync_run`)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Engine, exists, inspect, select

from ..runs import COMMITTED_RESULTS, RunSummary
from . import schema as t
from .runs import record_run

log = structlog.get_logger(__name__)


def record_summary(
    conn: Connection,
    summary: RunSummary,
    *,
    started_at: datetime,
    revision: str | None,
    finished_at: datetime | None = None,
) -> int:
    """Insert one run in `conn`'s transaction and return its id."""
    finished_at = finished_at or datetime.now(UTC)
    return record_run(
        conn, summary, started_at=started_at, finished_at=finished_at, revision=revision
    )


def record_failure(engine: Engine, started_at: datetime, revision: str | None, error: str) -> None:
    """Remember a failed run in its own transaction; never raises (the database may be down)."""
    try:
        with engine.begin() as conn:
            record_summary(
                conn, RunSummary.failure(error), started_at=started_at, revision=revision
            )
    except Exception as failure:  # the original error is what matters to the caller
        log.warning("could not record the failed run", error=str(failure))


def any_committed_run(conn: Connection) -> bool:
    """Whether any run against this database ever committed (a standby's readiness)."""
    results = sorted(result.value for result in COMMITTED_RESULTS)
    query = select(exists().where(t.sync_run.c.result.in_(results)))
    return bool(conn.execute(query).scalar())


def has_history(conn: Connection) -> bool:
    """Whether attune-sync's tables exist here (a database never synced has none)."""
    return inspect(conn).has_table("sync_run")


def managed_packs(conn: Connection) -> list[tuple[str, str, datetime | None]]:
    """(ref, folder, synced_at) of every pack the sync manages, by ref."""
    m = t.sync_managed_pack
    query = (
        select(t.pack.c.ref, m.c.folder, m.c.synced_at)
        .join(t.pack, m.c.pack_id == t.pack.c.id)
        .order_by(t.pack.c.ref)
    )
    return [(str(ref), str(folder), synced_at) for ref, folder, synced_at in conn.execute(query)]
