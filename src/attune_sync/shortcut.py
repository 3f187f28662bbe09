"""The settled shortcut for one-shot commands: no plan when nothing changed on either side.

`settled.py` says when the shortcut holds; this is the edge that checks it against the
database. `diff` checks in a read-only transaction; `apply` takes the write lock first (so no
writer can slip in between the check and the run it records) and records an idle run, as the
full run would. Whenever anything differs, these return None and the caller plans as usual.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from .db.apply import ApplyResult
from .db.changes import read_db_version
from .db.engine import for_reading
from .db.history import record_failure, record_summary
from .db.locks import DEFAULT_WRITE_LOCK_WAIT_S, take_write_lock
from .db.settled import read_mark, row_stamp
from .fingerprint import fingerprint
from .outcome import LockTaker, RunOutcome
from .revision import detect_revision
from .runs import RunSummary
from .settled import LightRead, Mark, light_read, options_key

if TYPE_CHECKING:
    from .db.reading import ReadOnlyDatabase
    from .model import Plan


def settled_state(conn: Connection, options: object) -> Mark | None:
    """The mark, when the database is exactly as a settled apply with these options and this
    code left it (its tree may differ from today's: the caller compares `mark.tree`)."""
    mark = read_mark(conn)
    if (
        mark is None
        or (mark.options, mark.fingerprint) != (options_key(options), fingerprint())
        or read_db_version(conn) != mark.db_version
        or row_stamp(conn) != mark.rows
    ):
        return None
    return mark


def settled_look(
    database: ReadOnlyDatabase, root: str, options: object
) -> tuple[Mark | None, LightRead | None]:
    """The mark, when the database is as it describes, and only then the tree as listed and
    hashed: when the database moved, the tree is not even hashed."""
    if database.engine is None:
        return None, None
    mark = database.optional_read(lambda conn: settled_state(conn, options))
    return mark, (light_read(root) if mark is not None else None)


def settled_plan(database: ReadOnlyDatabase, root: str, options: object) -> Plan | None:
    """`diff`'s shortcut: the plan, when the database holds a mark these inputs match."""
    mark, light = settled_look(database, root, options)
    return answer(mark, light)


def answer(mark: Mark | None, light: LightRead | None) -> Plan | None:
    """The settled plan, when the tree is the one the mark was made from."""
    if mark is None or light is None or light.key != mark.tree:
        return None
    return mark.plan()


def settled_apply(
    engine: Engine,
    root: str,
    options: object,
    *,
    revision: str | None = None,
    before_plan: LockTaker | None = None,
    lock_wait: float = DEFAULT_WRITE_LOCK_WAIT_S,
) -> tuple[RunOutcome | None, LightRead | None]:
    """`apply`'s shortcut: record an idle run when the mark matches; else no outcome, and the
    tree as hashed if it was (the full read then reuses its digests).

    A first look without the lock spares hashing the tree when the database moved; the
    answer is then checked again under the write lock, in the transaction that records it.
    """
    clock = time.perf_counter()
    started_at = datetime.now(UTC)
    with engine.connect() as conn:
        first = settled_state(for_reading(conn), options)
    light = light_read(root) if first is not None else None
    if answer(first, light) is None:
        return None, light
    read_seconds = time.perf_counter() - clock
    if revision is None:
        revision = detect_revision(root)
    try:
        with engine.begin() as conn:
            if before_plan is not None:
                before_plan(conn)
            take_write_lock(conn, lock_wait)
            plan = answer(settled_state(conn, options), light)
            if plan is None:
                return None, light
            summary = RunSummary.of_plan(plan)
            run_id = record_summary(conn, summary, started_at=started_at, revision=revision)
    except Exception as error:
        record_failure(engine, started_at, revision, f"{type(error).__name__}: {error}")
        raise
    seconds = time.perf_counter() - clock
    timings = {"read": read_seconds, "settled": seconds - read_seconds}
    outcome = RunOutcome(
        plan, ApplyResult(), revision, run_id, started_at, seconds, summary, timings
    )
    return outcome, light
