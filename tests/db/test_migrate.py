from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import (
    current_revision,
    downgrade,
    head_revision,
    known_revisions,
    upgrade,
)

SRC = Path(__file__).resolve().parents[2] / "src"
ALL_TABLES = {
    "runtime",
    "pack",
    "trigger",
    "sensor",
    "sync_override",
    "sensor_trigger",
    "action",
    "rule",
    "sync_managed_pack",
    "sync_run",
    "sync_db_version",
    "sync_change",
    "sync_read_cache",
    "alembic_version",
}
HEAD = head_revision()


def test_upgrade_creates_every_table_and_the_builtin_runtimes(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == ALL_TABLES
    with engine.connect() as conn:
        runtimes = dict(conn.execute(select(t.runtime.c.ref, t.runtime.c.id)).all())
    assert runtimes == t.BUILTIN_RUNTIMES == {"shell": 1, "python3": 2, "nodejs": 3, "native": 4}
    assert current_revision(engine) == HEAD
    assert "0004" in known_revisions()


def test_migrated_schema_matches_the_schema_module(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, t.metadata) == []


def test_upgrade_twice_is_a_noop(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(t.runtime.insert().values(ref="custom", label="Custom"))
    upgrade(engine)
    with engine.connect() as conn:
        refs = conn.execute(select(t.runtime.c.ref).order_by(t.runtime.c.id)).scalars().all()
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert refs == ["shell", "python3", "nodejs", "native", "custom"]
    assert versions == [(HEAD,)]


def test_runtime_created_after_seeding_gets_a_fresh_id(engine: Engine) -> None:
    # On PostgreSQL the seed's explicit ids must have advanced the sequence.
    with engine.begin() as conn:
        new_id = conn.execute(
            t.runtime.insert().values(ref="ruby", label="Ruby").returning(t.runtime.c.id)
        ).scalar_one()
    assert new_id == 5


def test_fresh_database_has_no_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == HEAD
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


_RACER = textwrap.dedent(
    """
    import sys, time
    from attune_sync.db.engine import make_engine
    from attune_sync.db.migrate import upgrade

    url, start = sys.argv[1], float(sys.argv[2])
    engine = make_engine(url)
    time.sleep(max(0.0, start - time.time()))
    upgrade(engine)
    engine.dispose()
    print("ok")
    """
)


def test_processes_starting_at_once_all_upgrade_cleanly(db_url: str) -> None:
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    # Every racer finishes importing first, then all call upgrade() at the same instant.
    start = time.time() + 3.0
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, db_url, str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [racer.communicate(timeout=120) for racer in racers]
    for racer, (out, err) in zip(racers, outcomes, strict=True):
        assert racer.returncode == 0, err
        assert out.strip() == "ok"

    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runtime")).scalar_one() == 4
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


def test_every_write_to_a_synced_table_bumps_the_database_version(engine: Engine) -> None:
    from attune_sync.db.state import read_db_version

    with engine.begin() as conn:
        before = read_db_version(conn)
        conn.execute(t.runtime.insert().values(ref="ruby", label="Ruby"))
    with engine.begin() as conn:
        after_insert = read_db_version(conn)
        conn.execute(t.runtime.update().where(t.runtime.c.ref == "ruby").values(label="Ruby 3"))
    with engine.begin() as conn:
        after_update = read_db_version(conn)
        conn.execute(t.runtime.delete().where(t.runtime.c.ref == "ruby"))
    with engine.begin() as conn:
        after_delete = read_db_version(conn)
        conn.execute(t.sync_run.insert().values(started_at=datetime.now(UTC), result="noop"))
    with engine.begin() as conn:
        after_history = read_db_version(conn)
    assert before < after_insert < after_update < after_delete
    assert after_history == after_delete  # run history is not synced state


def test_an_apply_counts_its_own_writes_once(engine: Engine) -> None:
    from attune_sync.db.apply import apply_plan
    from attune_sync.db.state import read_db_version
    from attune_sync.model import Change, Plan

    values = {
        "label": "P",
        "description": "d",
        "version": None,
        "conf_schema": None,
        "config": None,
        "meta": None,
        "tags": [],
        "runtime_deps": [],
        "is_standard": False,
    }
    plan = Plan(
        changes=[
            Change("create", "pack", ref, ref, values=values, folder=ref, content_hash="h")
            for ref in ("a", "b", "c")
        ]
    )
    with engine.begin() as conn:
        before = read_db_version(conn)
        apply_plan(conn, plan)
        assert read_db_version(conn) == before + 1
    with engine.begin() as conn:
        assert read_db_version(conn) == before + 1
        apply_plan(conn, Plan())  # nothing to write: not counted
        conn.execute(t.pack.update().where(t.pack.c.ref == "a").values(label="by hand"))
    with engine.begin() as conn:
        assert read_db_version(conn) > before + 1  # someone else's write is counted


def test_sqlite_tables_keep_autoincrement_after_every_migration(sqlite_url: str) -> None:
    # Ids of deleted rows are never reused (as with PostgreSQL's sequences); a batch rebuild
    # of a table in a migration would silently drop AUTOINCREMENT.
    engine = make_engine(sqlite_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            tables = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").all())
        for name, table in t.metadata.tables.items():
            if table.dialect_options["sqlite"]["autoincrement"]:
                assert "AUTOINCREMENT" in tables[name], name
    finally:
        engine.dispose()
