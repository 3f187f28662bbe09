"""The settled shortcut against a real database: it answers only when nothing changed.

Whenever it answers, the answer must be the full plan (warnings and notes included); any
change to the tree, the database, the options or a tree it cannot judge sends the command
down the normal path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from attune_sync.db import schema as t
from attune_sync.db.reading import open_for_reading
from attune_sync.db.settled import read_mark
from attune_sync.db.state import load_actual
from attune_sync.model import ActualState, Plan
from attune_sync.planner import PlanOptions, make_plan
from attune_sync.reader import read_tree
from attune_sync.shortcut import settled_plan
from attune_sync.sync import apply


def shortcut(engine: Engine, root: Path, options: PlanOptions | None = None) -> Plan | None:
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    try:
        return settled_plan(database, str(root), options or PlanOptions())
    finally:
        database.dispose()


def full(engine: Engine, root: Path) -> Plan:
    with engine.connect() as conn:
        return make_plan(read_tree(root), load_actual(conn), PlanOptions())


def reported(plan: Plan) -> object:
    return (plan.changes, plan.held_back, plan.invalid, plan.warnings, plan.notes)


def test_after_a_settled_apply_the_shortcut_gives_the_full_plan(
    engine: Engine, bundled: Path
) -> None:
    (bundled / "core" / "notes.yaml").write_text("a: stray file, warned about\n")
    (bundled / "core" / "tests").mkdir(exist_ok=True)
    outcome = apply(engine, str(bundled))
    assert outcome.in_sync
    quick = shortcut(engine, bundled)
    assert quick is not None
    reference = full(engine, bundled)
    assert reference.warnings  # the stray file
    assert reported(quick) == reported(reference)
    again = apply(engine, str(bundled))
    assert "settled" in again.timings
    assert reported(again.plan) == reported(reference)


def test_any_change_to_the_tree_sends_it_down_the_normal_path(
    engine: Engine, bundled: Path
) -> None:
    assert apply(engine, str(bundled)).in_sync
    edits = [
        lambda: (bundled / "github" / "pack.yaml").write_text(
            (bundled / "github" / "pack.yaml").read_text() + "# a comment\n"
        ),
        lambda: (bundled / "github" / "stray.yml").write_text("x: 1\n"),
        lambda: (bundled / "github" / "Sensors").mkdir(),
        lambda: (bundled / "github" / "Sensors" / "s.yaml").write_text("x: 1\n"),
        lambda: (bundled / "new-pack").mkdir(),
    ]
    for number, edit in enumerate(edits):
        edit()
        if number == 2:
            # An empty folder the reader takes no notice of changes no plan: still settled.
            assert reported(shortcut(engine, bundled)) == reported(full(engine, bundled))
            continue
        assert shortcut(engine, bundled) is None, number
        reference = full(engine, bundled)
        outcome = apply(engine, str(bundled))
        assert "settled" not in outcome.timings
        assert reported(outcome.plan) == reported(reference), number
        if outcome.in_sync:
            assert reported(shortcut(engine, bundled)) == reported(full(engine, bundled))


def test_a_foreign_write_or_other_options_send_it_down_the_normal_path(
    engine: Engine, bundled: Path
) -> None:
    assert apply(engine, str(bundled)).in_sync
    assert shortcut(engine, bundled, PlanOptions(adopt=True)) is None
    with engine.begin() as conn:
        conn.execute(update(t.trigger).values(label="changed behind the sync's back"))
    assert shortcut(engine, bundled) is None
    outcome = apply(engine, str(bundled))
    assert "settled" not in outcome.timings
    assert outcome.drift  # found and reverted by the full compare
    assert shortcut(engine, bundled) is not None


def test_an_unsettled_run_leaves_no_mark_for_its_tree(engine: Engine, bundled: Path) -> None:
    (bundled / "github" / "pack.yaml").write_text("ref: [unparsable\n")
    outcome = apply(engine, str(bundled))
    assert outcome.plan.invalid
    with engine.connect() as conn:
        assert read_mark(conn) is None
    assert shortcut(engine, bundled) is None


def test_a_linked_pack_folder_is_never_judged_by_the_shortcut(
    engine: Engine, bundled: Path, tmp_path: Path
) -> None:
    os.rename(bundled / "logs", tmp_path / "logs-real")
    os.symlink(tmp_path / "logs-real", bundled / "logs")
    apply(engine, str(bundled))
    assert shortcut(engine, bundled) is None


def test_a_write_with_triggers_disabled_is_still_seen(engine: Engine, bundled: Path) -> None:
    """PostgreSQL's replica mode skips the change counter's triggers, not the row stamp."""
    assert apply(engine, str(bundled)).in_sync
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(update(t.trigger).values(label="repaired by hand"))
    assert shortcut(engine, bundled) is None
    outcome = apply(engine, str(bundled))
    assert outcome.drift
    assert {c.kind for c in outcome.plan.changes} == {"trigger"}


def test_the_row_stamp_is_the_same_however_the_server_orders_its_parts(engine: Engine) -> None:
    from attune_sync.db.settled import row_stamp

    with engine.connect() as conn:
        first = row_stamp(conn)
        if conn.dialect.name == "postgresql":
            # Make parallel plans likely, as on a big database: the order of a UNION ALL's
            # branches then varies.
            conn.exec_driver_sql("SET parallel_setup_cost = 0")
            conn.exec_driver_sql("SET parallel_tuple_cost = 0")
            conn.exec_driver_sql("SET min_parallel_table_scan_size = 0")
            assert first is not None
            assert first.split(";") == sorted(first.split(";"))
        assert all(row_stamp(conn) == first for _ in range(5))


def test_while_the_database_is_as_a_settled_apply_left_it_only_changed_packs_are_compared(
    engine: Engine, bundled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attune_sync import narrow, planner
    from attune_sync.sync import plan_read_only

    scopes: list[object] = []
    real = planner.make_plan

    def spy(*args: Any, **kwargs: Any) -> Plan:
        scopes.append(args[3] if len(args) > 3 else kwargs.get("scope"))
        return real(*args, **kwargs)

    monkeypatch.setattr(planner, "make_plan", spy)
    monkeypatch.setattr(narrow, "make_plan", spy)  # the narrowed plan (tests/db/test_narrow.py)
    assert apply(engine, str(bundled)).in_sync
    pack_yaml = bundled / "github" / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text().replace("label:", "label: Renamed\nx_label:", 1))
    pack_yaml.write_text(pack_yaml.read_text().replace("\nx_label:", "\n# was:", 1))

    def diff() -> Plan:
        database = open_for_reading(engine.url.render_as_string(hide_password=False))
        try:
            return plan_read_only(database, str(bundled), PlanOptions())
        finally:
            database.dispose()

    narrowed = diff()
    assert scopes[-1] == {"github"}
    assert reported(narrowed) == reported(real(read_tree(bundled), _load(engine), PlanOptions()))
    with engine.begin() as conn:
        conn.execute(update(t.pack).where(t.pack.c.ref == "core").values(label="theirs"))
    assert reported(diff()) == reported(real(read_tree(bundled), _load(engine), PlanOptions()))
    assert scopes[-1] is None


def _load(engine: Engine) -> ActualState:
    with engine.connect() as conn:
        return load_actual(conn)


def test_a_diff_after_a_missed_shortcut_reads_again_only_what_changed(
    engine: Engine, bundled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut hashed the tree: the full read reuses those digests, reading only the
    edited file again, and plans what a full read plans."""
    from attune_sync.readfs import LocalFileSystem
    from attune_sync.sync import plan_read_only

    assert apply(engine, str(bundled)).in_sync
    sensor = next((bundled / "github" / "sensors").glob("*.yaml"))
    sensor.write_text(sensor.read_text().replace("label:", "label: Edited\nold_label:", 1))
    sensor.write_text(sensor.read_text().replace("\nold_label:", "\n# was:", 1))
    files = sum(1 for p in bundled.rglob("*.y*ml") if "workflows" not in p.parts)
    reads: list[str] = []
    real = LocalFileSystem.read

    def counted(self: LocalFileSystem, path: str) -> bytes:
        reads.append(path)
        return real(self, path)

    monkeypatch.setattr(LocalFileSystem, "read", counted)
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    try:
        plan = plan_read_only(database, str(bundled), PlanOptions())
    finally:
        database.dispose()
    assert len(reads) == files + 1
    assert reads[-1] == str(sensor)
    monkeypatch.setattr(LocalFileSystem, "read", real)
    assert reported(plan) == reported(full(engine, bundled))
    changed = [(c.action, c.kind, c.pack_ref) for c in plan.changes]
    assert changed == [("update", "sensor", "github")]
