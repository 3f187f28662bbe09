"""The read cache in the database: what an apply stores, and what a later process trusts.

Every case ends in the same check: the plan equals a full read's, whatever the store holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from attune_sync import readcache
from attune_sync.db import schema as t
from attune_sync.db.readcache import load_documents
from attune_sync.db.state import load_actual
from attune_sync.planner import PlanOptions, make_plan
from attune_sync.reader import read_tree
from attune_sync.reconciler import Reconciler


def fresh(engine: Engine, root: Path) -> Reconciler:
    return Reconciler(engine, str(root), PlanOptions(), long_lived=False)


def full_plan(engine: Engine, root: Path) -> object:
    with engine.connect() as conn:
        plan = make_plan(read_tree(root), load_actual(conn), PlanOptions())
    return (plan.changes, plan.held_back, [p.problems for p in plan.invalid], plan.warnings)


def plan_of(reconciler: Reconciler) -> object:
    plan = reconciler.plan(reconciler.read())
    return (plan.changes, plan.held_back, [p.problems for p in plan.invalid], plan.warnings)


def files_in(root: Path) -> int:
    return sum(1 for p in root.rglob("*.y*ml") if "workflows" not in p.parts)


def rows(engine: Engine) -> dict[str, str]:
    c = t.sync_read_cache.c
    with engine.connect() as conn:
        return dict(conn.execute(select(c.folder, c.fingerprint)).all())  # type: ignore[arg-type]


def test_an_apply_stores_every_folder_and_a_new_process_parses_nothing(
    engine: Engine, bundled: Path
) -> None:
    first = fresh(engine, bundled)
    assert first.run().in_sync
    assert first.cache.parsed > 0
    stored = rows(engine)
    assert set(stored) == {p.name for p in bundled.iterdir() if p.is_dir()}
    assert set(stored.values()) == {readcache.fingerprint()}

    second = fresh(engine, bundled)
    assert plan_of(second) == full_plan(engine, bundled)
    assert second.cache.parsed == 0


def test_one_edited_file_is_the_only_one_parsed_and_stored_again(
    engine: Engine, bundled: Path
) -> None:
    assert fresh(engine, bundled).run().in_sync
    path = next((bundled / "github" / "triggers").glob("*.yaml"))
    path.write_text(path.read_text() + "\n# edited\n")
    with engine.connect() as conn:
        before = dict(
            conn.execute(select(t.sync_read_cache.c.folder, t.sync_read_cache.c.folder_key)).all()  # type: ignore[arg-type]
        )
    run = fresh(engine, bundled)
    assert run.run().in_sync
    assert run.cache.parsed == 1
    with engine.connect() as conn:
        after = dict(
            conn.execute(select(t.sync_read_cache.c.folder, t.sync_read_cache.c.folder_key)).all()  # type: ignore[arg-type]
        )
    assert {f for f in after if after[f] != before.get(f)} == {"github"}


def test_rows_of_other_code_or_that_do_not_decode_mean_a_full_read(
    engine: Engine, bundled: Path
) -> None:
    assert fresh(engine, bundled).run().in_sync
    with engine.begin() as conn:
        table = t.sync_read_cache
        conn.execute(update(table).where(table.c.folder == "github").values(fingerprint="0" * 32))
        conn.execute(update(table).where(table.c.folder == "core").values(payload=b"garbage"))
    run = fresh(engine, bundled)
    assert plan_of(run) == full_plan(engine, bundled)
    reparsed = files_in(bundled / "github") + files_in(bundled / "core")
    assert run.cache.parsed == reparsed
    # The next apply writes both again, and drops what no code of this version can use.
    assert run.apply(run.desired or run.read()).in_sync
    assert set(rows(engine).values()) == {readcache.fingerprint()}
    with engine.connect() as conn:
        documents, _keys = load_documents(conn, readcache.fingerprint())
    assert len(documents) == sum(1 for _ in bundled.rglob("*.y*ml") if "workflows" not in _.parts)


def test_a_stored_document_for_other_bytes_is_never_reused(engine: Engine, bundled: Path) -> None:
    """The document is found by the file's digest: a row describing old bytes is not used."""
    assert fresh(engine, bundled).run().in_sync
    pack_yaml = bundled / "slack.notifications" / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text().replace("label:", "label: x\nlabel_:", 1))
    run = fresh(engine, bundled)
    assert plan_of(run) == full_plan(engine, bundled)
    assert run.cache.parsed == 1


def test_a_failed_apply_stores_nothing(engine: Engine, bundled: Path) -> None:
    def fail(_conn: object) -> None:
        raise RuntimeError("the database went away")

    run = Reconciler(engine, str(bundled), PlanOptions(), long_lived=False, before_plan=fail)
    with pytest.raises(RuntimeError):
        run.run()
    assert rows(engine) == {}


def test_a_folder_that_goes_away_is_forgotten(engine: Engine, bundled: Path) -> None:
    assert fresh(engine, bundled).run().in_sync
    import shutil

    shutil.rmtree(bundled / "logs")
    assert fresh(engine, bundled).run().in_sync
    assert "logs" not in rows(engine)


def test_without_the_read_cache_nothing_is_stored(engine: Engine, bundled: Path) -> None:
    run = Reconciler(engine, str(bundled), PlanOptions(), long_lived=False, read_cache=False)
    assert run.run().in_sync
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.sync_read_cache)).scalar() == 0
