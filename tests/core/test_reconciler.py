"""The incremental path: a `Reconciler` kept across runs does only the work the change needs,
and still ends where a full run would.

Every test runs on SQLite and PostgreSQL (`engine` is parametrized by `db_url`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, update

from attune_sync import reader
from attune_sync import reconciler as reconciler_module
from attune_sync.db import schema as t
from attune_sync.db.state import load_actual
from attune_sync.model import ActualState, Plan
from attune_sync.planner import make_plan
from attune_sync.reader import read_tree
from attune_sync.reconciler import Reconciler
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree

MakeTree = Callable[[dict[str, str]], Path]


def three_packs() -> dict[str, str]:
    files: dict[str, str] = {}
    for name in ("a", "b", "c"):
        files[f"{name}/pack.yaml"] = pack_doc(name)
        files[f"{name}/triggers/t1.yaml"] = trigger_doc(f"{name} one")
    files["b/sensors/s1.yaml"] = sensor_doc("a.t1", label="b watches a")
    return files


def edit(root: Path, relpath: str, text: str) -> str:
    """Write one file the way an editor would; the absolute path a file event would give."""
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def labels(engine: Engine, table: Any) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.ref, table.c.label)).all())


def summary(plan: Plan) -> list[tuple[str, str, str]]:
    return [(change.action, change.kind, change.ref) for change in plan.changes]


def assert_in_sync(reconciler: Reconciler, root: Path) -> None:
    """The database equals the tree, and the kept snapshot equals the database."""
    with reconciler.engine.connect() as conn:
        actual = load_actual(conn)
    plan = make_plan(read_tree(root), actual)
    assert (plan.changes, plan.held_back, plan.bookkeeping) == ([], [], {})
    if reconciler.actual is not None:
        assert snapshot(reconciler.actual) == snapshot(actual)


def snapshot(state: ActualState) -> dict[str, Any]:
    return {
        "packs": {ref: row.values for ref, row in state.packs.items()},
        "triggers": {ref: row.values for ref, row in state.triggers.items()},
        "sensors": {ref: row.values for ref, row in state.sensors.items()},
        "managed": {ref: (i.folder, i.content_hash) for ref, i in state.managed.items()},
    }


@pytest.fixture
def folders_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the pack folders the reader actually (re)reads, in order."""
    seen: list[str] = []
    original = reader.read_pack_folder

    def spy(root: Path, folder: str, *args: Any) -> Any:
        seen.append(folder)
        return original(root, folder, *args)

    monkeypatch.setattr(reader, "read_pack_folder", spy)
    return seen


@pytest.fixture
def scopes(monkeypatch: pytest.MonkeyPatch) -> list[set[str] | None]:
    """The scope each reconciler run planned with (None: a full comparison)."""
    seen: list[set[str] | None] = []
    original = reconciler_module.plan_with_drift

    def spy(desired: Any, actual: Any, options: Any, scope: Any, *args: Any, **kw: Any) -> Any:
        seen.append(None if scope is None else set(scope))
        return original(desired, actual, options, scope, *args, **kw)

    monkeypatch.setattr(reconciler_module, "plan_with_drift", spy)
    return seen


def test_first_run_is_full_and_applies_the_tree(engine: Engine, make_tree: MakeTree) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    outcome = rec.run()
    assert outcome.result == "applied"
    assert outcome.plan.count("create") == 7
    assert rec.actual is not None
    assert rec.cache.parsed == 7
    assert_in_sync(rec, root)


def test_hinted_run_reparses_and_rereads_only_the_edited_file(
    engine: Engine, make_tree: MakeTree, folders_read: list[str], scopes: list[Any]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    parsed = rec.cache.parsed
    folders_read.clear()
    changed = edit(root, "b/triggers/t1.yaml", trigger_doc("b renamed"))

    outcome = rec.run({changed})

    assert rec.cache.parsed - parsed == 1
    assert folders_read == ["b"]
    assert scopes[-1] == {"b"}
    assert summary(outcome.plan) == [("update", "trigger", "b.t1")]
    assert labels(engine, t.trigger)["b.t1"] == "b renamed"
    assert_in_sync(rec, root)


def test_unhinted_noop_parses_nothing_and_plans_nothing(
    engine: Engine, make_tree: MakeTree, scopes: list[Any]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    parsed, version = rec.cache.parsed, rec.db_version

    outcome = rec.run()

    assert rec.cache.parsed == parsed
    assert scopes == [None, set()]  # the first run compared everything, the second nothing
    assert outcome.plan.changes == []
    assert outcome.plan.bookkeeping == {}
    assert outcome.result == "noop"
    assert rec.db_version == version  # a noop writes nothing the counter sees
    assert_in_sync(rec, root)


def test_new_pack_folder_appears_though_the_hint_names_another(
    engine: Engine, make_tree: MakeTree, folders_read: list[str]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    folders_read.clear()
    write_tree(root, {"d/pack.yaml": pack_doc("d"), "d/triggers/t1.yaml": trigger_doc()})

    outcome = rec.run({str(root / "a" / "pack.yaml")})

    assert sorted(folders_read) == ["a", "d"]
    assert summary(outcome.plan) == [("create", "pack", "d"), ("create", "trigger", "d.t1")]
    assert_in_sync(rec, root)


def test_removed_pack_folder_goes_though_the_hint_names_another(
    engine: Engine, make_tree: MakeTree
) -> None:
    files = three_packs()
    files["d/pack.yaml"] = pack_doc("d")
    root = make_tree(files)
    rec = Reconciler(engine, str(root))
    rec.run()
    shutil.rmtree(root / "d")

    outcome = rec.run({str(root / "c" / "pack.yaml")})

    assert summary(outcome.plan) == [("delete", "pack", "d")]
    assert_in_sync(rec, root)


def test_foreign_write_is_reverted_though_the_hint_is_unrelated(
    engine: Engine, make_tree: MakeTree, scopes: list[Any]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    with engine.begin() as conn:
        conn.execute(update(t.trigger).where(t.trigger.c.ref == "a.t1").values(label="hacked"))

    outcome = rec.run({str(root / "c" / "triggers" / "t1.yaml")})

    assert scopes[-1] is None  # the counter moved: everything was loaded and compared
    assert summary(outcome.plan) == [("update", "trigger", "a.t1")]
    assert labels(engine, t.trigger)["a.t1"] == "a one"
    assert_in_sync(rec, root)
    # And the run after that trusts its snapshot again.
    assert rec.run(set()).plan.changes == []
    assert scopes[-1] == set()


def test_foreign_delete_and_insert_are_noticed(engine: Engine, make_tree: MakeTree) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    with engine.begin() as conn:
        conn.execute(t.sensor.delete().where(t.sensor.c.ref == "b.s1"))
        conn.execute(t.pack.insert().values(ref="other", label="Other", description="theirs"))

    outcome = rec.run(set())

    assert summary(outcome.plan) == [("create", "sensor", "b.s1")]
    assert "other" in labels(engine, t.pack)  # not managed: left alone
    assert_in_sync(rec, root)


def link_to(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically, as git-sync publishes a commit."""
    temporary = link.with_name(link.name + ".new")
    os.symlink(target, temporary)
    os.replace(temporary, link)


def test_hint_outside_the_packs_root_reads_everything(
    engine: Engine, tmp_path: Path, folders_read: list[str]
) -> None:
    real = write_tree(tmp_path / "repo" / "rev1", three_packs())
    link = tmp_path / "repo" / "packs"
    link_to(link, real)
    rec = Reconciler(engine, str(link))
    rec.run()
    folders_read.clear()
    edit(real, "c/triggers/t1.yaml", trigger_doc("c renamed"))

    outcome = rec.run({str(tmp_path / "repo")})

    assert sorted(folders_read) == ["a", "b", "c"]
    assert summary(outcome.plan) == [("update", "trigger", "c.t1")]
    assert_in_sync(rec, link)


def test_hint_on_the_packs_root_itself_reads_everything(
    engine: Engine, make_tree: MakeTree, folders_read: list[str]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    folders_read.clear()
    rec.run({str(root)})
    assert sorted(folders_read) == ["a", "b", "c"]


def test_swapped_root_ignores_the_previous_folders(
    engine: Engine, tmp_path: Path, folders_read: list[str]
) -> None:
    first = write_tree(tmp_path / "repo" / "rev1", three_packs())
    link = tmp_path / "repo" / "packs"
    link_to(link, first)
    rec = Reconciler(engine, str(link))
    rec.run()
    second = tmp_path / "repo" / "rev2"
    shutil.copytree(first, second)
    edit(second, "b/triggers/t1.yaml", trigger_doc("b in rev2"))
    link_to(link, second)
    parsed = rec.cache.parsed
    folders_read.clear()

    # A hint through the link that, against the old folders, would limit the read to `a`.
    outcome = rec.run({str(link / "a" / "pack.yaml")})

    assert sorted(folders_read) == ["a", "b", "c"]
    assert rec.desired is not None
    assert rec.desired.root == str(second.resolve())
    assert rec.cache.parsed - parsed == 1  # same bytes, new inodes: matched by digest
    assert summary(outcome.plan) == [("update", "trigger", "b.t1")]
    assert labels(engine, t.trigger)["b.t1"] == "b in rev2"
    assert_in_sync(rec, link)
    # The old worktree goes away, as git-sync removes it.
    shutil.rmtree(first)
    assert rec.run(set()).plan.changes == []


def fail(conn: Connection) -> None:
    raise RuntimeError("lock lost")


def test_failed_run_before_planning_forgets_the_database(
    engine: Engine, make_tree: MakeTree, scopes: list[Any]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    changed = edit(root, "a/triggers/t1.yaml", trigger_doc("a renamed"))
    rec.before_plan = fail
    with pytest.raises(RuntimeError, match="lock lost"):
        rec.run({changed})
    assert rec.actual is None
    assert rec.db_version is None

    rec.before_plan = None
    outcome = rec.run(set())

    assert scopes[-1] is None  # a full load
    assert summary(outcome.plan) == [("update", "trigger", "a.t1")]
    assert_in_sync(rec, root)


def test_failed_run_after_applying_rolls_back_and_forgets_its_snapshot(
    engine: Engine, make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    changed = edit(root, "a/triggers/t1.yaml", trigger_doc("a renamed"))
    with monkeypatch.context() as patch:

        def broken_record_run(*args: Any, **kwargs: Any) -> int:
            raise RuntimeError("history table gone")

        patch.setattr(reconciler_module, "record_summary", broken_record_run)
        with pytest.raises(RuntimeError, match="history table gone"):
            rec.run({changed})
    # The snapshot had already recorded the change that was then rolled back.
    assert rec.actual is None
    assert labels(engine, t.trigger)["a.t1"] == "a one"

    outcome = rec.run(set())

    assert summary(outcome.plan) == [("update", "trigger", "a.t1")]
    assert labels(engine, t.trigger)["a.t1"] == "a renamed"
    assert_in_sync(rec, root)


def test_held_back_deletes_stay_in_scope_until_they_apply(
    engine: Engine, make_tree: MakeTree, scopes: list[Any]
) -> None:
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()

    # a.t1 goes, but b's sensor still fires from it: b is invalid and the delete waits.
    gone = root / "a" / "triggers" / "t1.yaml"
    gone.unlink()
    outcome = rec.run({str(gone)})
    assert [(item.kind, item.ref) for item in outcome.plan.held_back] == [("trigger", "a.t1")]
    assert [pack.ref for pack in outcome.plan.invalid] == ["b"]
    assert "a" in rec.sticky
    assert "a.t1" in labels(engine, t.trigger)

    # An unrelated edit: `a` is compared again though its files did not change.
    changed = edit(root, "c/triggers/t1.yaml", trigger_doc("c renamed"))
    outcome = rec.run({changed})
    assert scopes[-1] is not None
    assert {"a", "c"} <= scopes[-1]
    assert [(item.kind, item.ref) for item in outcome.plan.held_back] == [("trigger", "a.t1")]
    assert "a" in rec.sticky

    # The blocker goes: b's sensor now fires from c.t1; the held delete applies with it.
    changed = edit(root, "b/sensors/s1.yaml", sensor_doc("c.t1", label="b watches c"))
    outcome = rec.run({changed})
    assert outcome.plan.held_back == []
    assert outcome.plan.invalid == []
    assert ("delete", "trigger", "a.t1") in summary(outcome.plan)
    assert rec.sticky == set()
    assert "a.t1" not in labels(engine, t.trigger)
    assert_in_sync(rec, root)


def test_pack_invalid_while_the_database_drifted_is_compared_once_fixed(
    engine: Engine, make_tree: MakeTree
) -> None:
    """A full run that had to skip an invalid pack must not leave it out of the next runs.

    The foreign write makes run 2 load everything, but `b` is invalid then and left as the
    database has it. Fixing `b` restores exactly the files last applied, so its content
    hash equals the recorded one; the next run must still compare it, as a full run does.
    """
    root = make_tree(three_packs())
    rec = Reconciler(engine, str(root))
    rec.run()
    good = (root / "b" / "pack.yaml").read_text(encoding="utf-8")

    broken = edit(root, "b/pack.yaml", "ref: {b\n")
    with engine.begin() as conn:
        conn.execute(update(t.trigger).where(t.trigger.c.ref == "b.t1").values(label="hacked"))
    outcome = rec.run({broken})
    assert [pack.folder for pack in outcome.plan.invalid] == ["b"]
    assert labels(engine, t.trigger)["b.t1"] == "hacked"

    fixed = edit(root, "b/pack.yaml", good)
    outcome = rec.run({fixed})

    assert summary(outcome.plan) == [("update", "trigger", "b.t1")]
    assert labels(engine, t.trigger)["b.t1"] == "b one"
    assert_in_sync(rec, root)


def test_held_back_delete_of_a_pack_that_turned_invalid_applies_once_fixed(
    engine: Engine, make_tree: MakeTree
) -> None:
    """The sticky pack must stay sticky while it is invalid, not only while it is held."""
    files = three_packs()
    files["a/triggers/t2.yaml"] = trigger_doc("a two")
    files["c/sensors/s2.yaml"] = sensor_doc("a.t2", label="c watches a")
    root = make_tree(files)
    rec = Reconciler(engine, str(root))
    rec.run()

    # a.t2 goes while c's sensor uses it: held back, `a` sticky.
    gone = root / "a" / "triggers" / "t2.yaml"
    gone.unlink()
    outcome = rec.run({str(gone)})
    assert [(item.kind, item.ref) for item in outcome.plan.held_back] == [("trigger", "a.t2")]

    # Now `a` itself breaks and c's sensor is removed: nothing may touch `a` this run.
    good = (root / "a" / "pack.yaml").read_text(encoding="utf-8")
    broken = edit(root, "a/pack.yaml", "ref: {a\n")
    (root / "c" / "sensors" / "s2.yaml").unlink()
    outcome = rec.run({broken, str(root / "c" / "sensors" / "s2.yaml")})
    assert [pack.folder for pack in outcome.plan.invalid] == ["a"]
    assert "a.t2" in labels(engine, t.trigger)

    # `a` is fixed with exactly the files whose hash was recorded: a.t2 must go now.
    fixed = edit(root, "a/pack.yaml", good)
    outcome = rec.run({fixed})

    assert summary(outcome.plan) == [("delete", "trigger", "a.t2")]
    assert "a.t2" not in labels(engine, t.trigger)
    assert_in_sync(rec, root)


def test_a_failed_apply_is_remembered_with_its_start_and_revision(
    engine: Engine, make_tree: MakeTree
) -> None:
    from attune_sync.db.runs import recent_runs

    root = make_tree(three_packs())

    def refuse(conn: Any) -> None:
        raise RuntimeError("refused for the test")

    rec = Reconciler(engine, str(root), before_plan=refuse)
    with pytest.raises(RuntimeError):
        rec.run(revision="f" * 40)
    with engine.connect() as conn:
        [run] = recent_runs(conn, 1)
    assert run["result"] == "failed"
    assert run["revision"] == "f" * 40
    assert "RuntimeError: refused for the test" in str(run["details"])
