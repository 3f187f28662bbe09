from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import current_revision, downgrade, head_revision, upgrade

SRC = Path(__file__).resolve().parents[2] / "src"
ALL_TABLES = {
    "runtime",
    "pack",
    "trigger",
    "sensor",
    "action",
    "rule",
    "sync_managed_pack",
    "sync_run",
    "alembic_version",
}


def test_upgrade_creates_every_table_and_the_builtin_runtimes(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == ALL_TABLES
    with engine.connect() as conn:
        runtimes = dict(conn.execute(select(t.runtime.c.ref, t.runtime.c.id)).all())
    assert runtimes == t.BUILTIN_RUNTIMES == {"shell": 1, "python3": 2, "nodejs": 3, "native": 4}
    assert current_revision(engine) == head_revision() == "0001"


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
    assert versions == [("0001",)]


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
        assert current_revision(engine) == "0001"
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
        assert current_revision(engine) == "0001"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runtime")).scalar_one() == 4
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
