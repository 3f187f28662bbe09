"""The change count: foreign writes never wait on each other, nothing is missed, and a
removed counter row is repaired instead of failing every run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from attune_sync.db import schema as t
from attune_sync.db.apply import apply_plan
from attune_sync.db.changes import read_db_version
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.db.runs import record_run
from attune_sync.model import Change, Plan
from attune_sync.planner import PlanOptions
from attune_sync.reconciler import Reconciler
from attune_sync.runs import RunResult, RunSummary
from cli.helpers import run_json
from core.trees import pack_doc, trigger_doc, write_tree

from .factories import T0, apply, managed_pack

APPLIED, NOOP = RunSummary(RunResult.APPLIED), RunSummary(RunResult.NOOP)


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return read_db_version(conn)


def test_unrelated_foreign_writes_do_not_wait_on_each_other(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        apply(engine, managed_pack("a"), managed_pack("b"))
        before = _version(engine)
        with engine.connect() as first, engine.connect() as second:
            first.execute(t.pack.update().where(t.pack.c.ref == "a").values(label="A"))
            # With one shared counter row the second writer waited for the first to end
            # (here: failed on the lock timeout). Now no lock is shared at all.
            second.exec_driver_sql("SET lock_timeout = '500ms'")
            second.execute(t.pack.update().where(t.pack.c.ref == "b").values(label="B"))
            second.commit()
            assert _version(engine) == before + 1
            first.commit()
        assert _version(engine) == before + 2
    finally:
        engine.dispose()


def test_foreign_writes_do_not_wait_on_a_running_apply(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        apply(engine, managed_pack("a"), managed_pack("b"))
        before = _version(engine)
        with engine.connect() as ours, engine.connect() as foreign:
            update = Change("update", "pack", "a", None, values={"label": "new"})
            apply_plan(ours, Plan(changes=[update]))
            record_run(ours, APPLIED, started_at=T0, finished_at=T0, revision=None)
            foreign.exec_driver_sql("SET lock_timeout = '500ms'")
            foreign.execute(t.pack.update().where(t.pack.c.ref == "b").values(label="B"))
            foreign.commit()
            ours.commit()
        assert _version(engine) == before + 2  # ours once, theirs once
    finally:
        engine.dispose()


def test_a_write_committed_after_a_later_one_is_still_counted(pg_url: str) -> None:
    # Commit order differs from statement order: a count, not a high-water mark.
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        apply(engine, managed_pack("a"), managed_pack("b"))
        with engine.connect() as early, engine.connect() as late:
            early.execute(t.pack.update().where(t.pack.c.ref == "a").values(label="A"))
            late.execute(t.pack.update().where(t.pack.c.ref == "b").values(label="B"))
            late.commit()
            seen = _version(engine)
            with engine.begin() as conn:  # a sync folding the noted changes meanwhile
                record_run(conn, NOOP, started_at=T0, finished_at=T0, revision=None)
            assert _version(engine) == seen
            early.commit()
        assert _version(engine) == seen + 1
    finally:
        engine.dispose()


def test_writes_through_another_search_path_are_counted(pg_url: str) -> None:
    # attune-sync's tables in a schema of their own; a person with psql qualifies the name.
    engine = make_engine(pg_url, schema="attune_sync")
    plain = make_engine(pg_url)
    try:
        upgrade(engine)
        apply(engine, managed_pack("a"))
        before = _version(engine)
        with plain.begin() as conn:
            conn.execute(text("UPDATE attune_sync.pack SET label = 'by hand'"))
        assert _version(engine) == before + 1
        with plain.connect() as conn:
            public = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname='public'"))
            assert public.scalar_one() == 0
    finally:
        engine.dispose()
        plain.dispose()


def test_a_removed_counter_row_is_repaired(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "packs", {"p/pack.yaml": pack_doc("p"), "p/triggers/t.yaml": trigger_doc()}
    )
    assert run_json(capsys, "apply", str(root), "--database", db_url)[0] == 0
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(t.sync_db_version))
        # Before: every later run failed with NoResultFound, forever.
        code, document = run_json(capsys, "apply", str(root), "--database", db_url)
        assert (code, document["result"]) == (0, "noop")
        with engine.connect() as conn:
            assert conn.execute(select(t.sync_db_version.c.id)).scalars().all() == [1]
    finally:
        engine.dispose()


def test_a_counter_row_removed_while_running_is_never_trusted(
    engine: Engine, tmp_path: Path
) -> None:
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    reconciler = Reconciler(engine, str(root), PlanOptions())
    assert reconciler.run().result == "applied"
    with engine.begin() as conn:
        conn.execute(delete(t.sync_db_version))
        # A foreign change the daemon must not miss while the counter is gone.
        conn.execute(t.pack.update().values(label="by hand"))
    outcome = reconciler.run()
    assert outcome.result == "applied"
    assert [c.ref for c in outcome.plan.changes] == ["p"]
    assert reconciler.run().result == "noop"  # the run repaired the row
    with engine.connect() as conn:
        assert conn.execute(select(t.sync_db_version.c.id)).scalars().all() == [1]


def test_a_missing_counter_row_reads_as_a_new_number_each_time(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(t.sync_db_version))
    first, second = _version(engine), _version(engine)
    assert first != second
    assert _version(engine) not in (first, second, first + 1, second + 1)


def test_the_foreign_lock_timeout_really_fires_on_a_shared_row(pg_url: str) -> None:
    # The first test relies on lock_timeout turning a wait into an error: show it does.
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        apply(engine, managed_pack("a"))
        with engine.connect() as first, engine.connect() as second:
            first.execute(t.pack.update().where(t.pack.c.ref == "a").values(label="A"))
            second.exec_driver_sql("SET lock_timeout = '200ms'")
            with pytest.raises(DBAPIError, match="lock timeout"):
                second.execute(t.pack.update().where(t.pack.c.ref == "a").values(label="B"))
            second.rollback()
            first.rollback()
    finally:
        engine.dispose()
