"""One run at a time, cancellable, and never trusting the change counter for ever.

Issue 10 §1 (report-mode drift of a deleted pack), §2 (two writers), §4 (a cancelled run
rolls back whatever it was doing) and §5 (writes the counter never saw). Every test runs on
SQLite and PostgreSQL unless it tests what only PostgreSQL has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, select, text, update

from attune_sync import sync
from attune_sync.daemon.guard import RunGuard
from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.locks import WriteLockBusy, take_write_lock
from attune_sync.db.migrate import upgrade
from attune_sync.outcome import CancelToken, RunCancelled
from attune_sync.reconciler import Reconciler
from core.trees import pack_doc, trigger_doc

MakeTree = Callable[[dict[str, str]], Path]


def one_pack(label: str = "a one") -> dict[str, str]:
    return {"a/pack.yaml": pack_doc("a"), "a/triggers/t1.yaml": trigger_doc(label)}


def labels(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(t.trigger.c.ref, t.trigger.c.label)).all())


def run_results(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = select(t.sync_run.c.result).order_by(t.sync_run.c.id)
        return [str(result) for result in conn.execute(query).scalars()]


def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll a condition that must come true (bounded so a bug fails instead of hanging)."""
    done = threading.Event()
    for _ in range(3000):
        if check():
            return
        done.wait(0.01)
    raise AssertionError(f"never happened: {what}")


# --------------------------------------------------------------------------- §2 writers


def advisory_lock_waiters(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


def test_a_second_writer_waits_and_plans_from_what_the_first_committed(
    pg_url: str, make_tree: MakeTree
) -> None:
    """Two writers at once: the second plans after the first committed, not before."""
    engine = make_engine(pg_url)
    upgrade(engine)
    root = make_tree(one_pack())
    sync.apply(engine, str(root))
    outcome: list[Any] = []
    with engine.begin() as first:  # another writer (an API write, another apply)
        take_write_lock(first)
        first.execute(delete(t.trigger).where(t.trigger.c.ref == "a.t1"))
        second = threading.Thread(target=lambda: outcome.append(sync.apply(engine, str(root))))
        second.start()
        wait_until(
            lambda: advisory_lock_waiters(engine) > 0 or not second.is_alive(),
            "the second writer waits for the lock (or, unfixed, finishes)",
        )
    second.join(30)
    assert not second.is_alive()
    # Planned from the committed state: the trigger the first writer deleted is back.
    assert [(c.action, c.ref) for c in outcome[0].plan.changes] == [("create", "a.t1")]
    assert labels(engine) == {"a.t1": "a one"}
    engine.dispose()


def test_a_writer_that_cannot_get_the_lock_in_time_fails_clearly(
    pg_url: str, make_tree: MakeTree
) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    root = make_tree(one_pack())
    with engine.begin() as holder:
        take_write_lock(holder)
        rec = Reconciler(engine, str(root), lock_wait=0.2)
        with pytest.raises(WriteLockBusy, match=r"write lock for more than 0\.2 s"):
            rec.run()
    assert labels(engine) == {}
    assert run_results(engine) == ["failed"]
    engine.dispose()


# --------------------------------------------------------------------------- §4 cancel


class FakeTimer:
    """The watchdog's timer, fired by the test instead of by the clock."""

    def __init__(self) -> None:
        self.action: Callable[[], None] | None = None
        self.cancelled = False

    def __call__(self, seconds: float, action: Callable[[], None]) -> FakeTimer:
        self.action = action
        return self

    def fire(self) -> None:
        assert self.action is not None
        self.action()

    def cancel(self) -> None:
        self.cancelled = True


def test_a_run_the_watchdog_cancels_between_statements_rolls_back(
    engine: Engine, make_tree: MakeTree
) -> None:
    """No statement in flight when the watchdog fires (the run is planning): no commit."""
    root = make_tree(one_pack())
    timer = FakeTimer()
    abandoned: list[str] = []
    guard = RunGuard(20.0, on_abandoned=abandoned.append, timer=timer)

    def plan_then_time_out(conn: Connection) -> None:
        guard.before_plan(conn)
        timer.fire()  # the run is still in Python: nothing to interrupt in the database

    rec = Reconciler(engine, str(root), before_plan=plan_then_time_out)
    token = guard.begin()
    with pytest.raises(RunCancelled, match="run timeout"):
        rec.run(cancel=token)
    guard.end()
    assert labels(engine) == {}
    assert run_results(engine) == ["failed"]
    assert abandoned == ["the run exceeded --run-timeout (20 s)"]
    assert timer.cancelled


def test_the_watchdog_covers_reading(engine: Engine, make_tree: MakeTree) -> None:
    files = one_pack()
    files.update({"b/pack.yaml": pack_doc("b"), "b/triggers/t1.yaml": trigger_doc("b one")})
    root = make_tree(files)
    token = CancelToken()
    token.cancel("run timeout")
    rec = Reconciler(engine, str(root))
    with pytest.raises(RunCancelled):
        rec.read(cancel=token)
    assert labels(engine) == {}


def test_a_run_cancelled_by_shutdown_is_not_recorded_as_failed(
    engine: Engine, make_tree: MakeTree
) -> None:
    root = make_tree(one_pack())
    guard = RunGuard(20.0, timer=FakeTimer())
    rec = Reconciler(engine, str(root), before_plan=guard.before_plan)
    token = guard.begin()
    guard.shutdown()
    with pytest.raises(RunCancelled, match="shutdown"):
        rec.run(cancel=token)
    assert run_results(engine) == []


# --------------------------------------------------------------------------- §5 counter


def write_behind_the_counter(engine: Engine) -> None:
    """A write the change counter does not see (as with triggers disabled)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # What pg_restore --disable-triggers does; the change count lives in more than
            # the counter row there (sync_change), so resetting the row would not hide it.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(update(t.trigger).values(label="by hand"))
            return
        version = conn.execute(select(t.sync_db_version.c.version)).scalar_one()
        conn.execute(update(t.trigger).values(label="by hand"))
        conn.execute(update(t.sync_db_version).values(version=version))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_write_the_counter_missed_is_found_by_the_periodic_full_compare(
    engine: Engine, make_tree: MakeTree
) -> None:
    root = make_tree(one_pack())
    clock = Clock()
    rec = Reconciler(engine, str(root), full_compare_every=300.0, clock=clock)
    rec.run()
    write_behind_the_counter(engine)
    clock.now += 299.0
    assert rec.run().plan.changes == []  # within the interval the counter is trusted
    clock.now += 1.0
    outcome = rec.run()
    assert [(c.action, c.ref) for c in outcome.plan.changes] == [("update", "a.t1")]
    assert outcome.compared_all
    assert labels(engine) == {"a.t1": "a one"}


def test_writes_with_triggers_disabled_are_found(pg_url: str, make_tree: MakeTree) -> None:
    """session_replication_role = replica: the counter's trigger does not fire."""
    engine = make_engine(pg_url)
    upgrade(engine)
    root = make_tree(one_pack())
    clock = Clock()
    rec = Reconciler(engine, str(root), full_compare_every=60.0, clock=clock)
    rec.run()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(update(t.trigger).values(label="restored without triggers"))
    clock.now += 60.0
    assert [(c.action, c.ref) for c in rec.run().plan.changes] == [("update", "a.t1")]
    assert labels(engine) == {"a.t1": "a one"}
    engine.dispose()


# --------------------------------------------------------------------------- §1 drift


def test_report_mode_reports_a_managed_pack_deleted_behind_the_syncs_back(
    engine: Engine, make_tree: MakeTree
) -> None:
    root = make_tree(one_pack())
    rec = Reconciler(engine, str(root))
    rec.run()
    with engine.begin() as conn:
        conn.execute(delete(t.pack).where(t.pack.c.ref == "a"))
    for _ in range(2):  # and it stays reported, not re-created, on the next full compare
        outcome = rec.run(drift="report")
        assert outcome.plan.changes == []
        assert ("create", "pack", "a") in [(c.action, c.kind, c.ref) for c in outcome.drift]
        assert not outcome.drift_reverted
        with engine.connect() as conn:
            assert conn.execute(select(t.pack.c.id)).all() == []
        rec.forget_database()
    # Revert mode puts it back.
    rec.run(drift="revert")
    assert labels(engine) == {"a.t1": "a one"}


def test_report_mode_still_applies_edited_files(engine: Engine, make_tree: MakeTree) -> None:
    files = one_pack()
    files.update({"b/pack.yaml": pack_doc("b"), "b/triggers/t1.yaml": trigger_doc("b one")})
    root = make_tree(files)
    rec = Reconciler(engine, str(root))
    rec.run()
    with engine.begin() as conn:
        conn.execute(update(t.trigger).where(t.trigger.c.ref == "a.t1").values(label="by hand"))
    (root / "b/triggers/t1.yaml").write_text(trigger_doc("b edited"), encoding="utf-8")
    outcome = rec.run(drift="report")
    assert [(c.action, c.ref) for c in outcome.drift] == [("update", "a.t1")]
    assert [(c.action, c.ref) for c in outcome.plan.changes] == [("update", "b.t1")]
    assert labels(engine) == {"a.t1": "by hand", "b.t1": "b edited"}


def test_one_run_vocabulary() -> None:
    """The history's result type and the run enum name the same results."""
    from attune_sync.db import runs as history
    from attune_sync.runs import COMMITTED_RESULTS, HISTORY_RESULTS

    assert {result.value for result in HISTORY_RESULTS} == history.RUN_RESULTS
    assert set(history.COMMITTED_RESULTS) == {result.value for result in COMMITTED_RESULTS}
