"""Property: a fresh process that reuses stored documents plans exactly as a full read does.

The same random scenarios as the incremental property (random trees; edits to fields,
components, whole packs, folder renames; a pack.yaml broken and fixed; runtimes appearing
and vanishing with their packs; foreign writes to the database). Each step is run the way CI
runs it, a new process per command: a `diff` (`plan_read_only`) and then an `apply`, each
with a fresh cache seeded from the database's read cache, against a second database synced
by full reads only (no read cache at all). Every plan and every row must be equal, and the
seeded commands must parse exactly the files whose bytes (or paths) are new.

The settled shortcut (`settled`) is held to the same: whenever it answers, its plan equals
the full plan, and right after an apply that settled everything it must answer. So is the
narrowed plan (`narrow`): whenever it answers (the database settled, only the tree moved),
its plan, problems, warnings and notes are the full plan's; and it must answer when the only
change is a field of a trigger or a sensor.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from attune_sync.db.reading import open_for_reading
from attune_sync.model import Plan
from attune_sync.narrow import narrowed_plan
from attune_sync.planner import make_plan
from attune_sync.reader import DocumentCache, read_tree
from attune_sync.reconciler import Reconciler
from attune_sync.shortcut import settled_look, settled_plan
from attune_sync.sync import apply, plan_read_only
from cli.test_incremental_property import (
    ADOPT,
    Step,
    Tree,
    content,
    engines,  # noqa: F401  (a fixture)
    expected,
    full_url,  # noqa: F401  (a fixture)
    load,
    plan_of,
    publish,
    reset,
    scenarios,
    seen,
    write_foreign,
)
from cli.test_property import render


def _full(engine: Engine, root: Path) -> Reconciler:
    return Reconciler(engine, str(root), ADOPT, long_lived=False, read_cache=False)


def _fresh(engine: Engine, root: Path) -> Reconciler:
    """What `attune-sync apply` builds in a new process."""
    return Reconciler(engine, str(root), ADOPT, long_lived=False)


def _diff(engine: Engine, root: Path) -> tuple[dict[str, object], int]:
    """`attune-sync diff` in a new process, without the shortcut: the plan, and how many
    files it parsed."""
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    cache = DocumentCache()
    try:
        plan = plan_read_only(database, str(root), ADOPT, cache=cache, shortcut=False)
    finally:
        database.dispose()
    return plan_of(plan), cache.parsed


def _shortcut(engine: Engine, root: Path) -> Plan | None:
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    try:
        return settled_plan(database, str(root), ADOPT)
    finally:
        database.dispose()


def _narrowed(engine: Engine, root: Path) -> Plan | None:
    """What `diff` plans when it may narrow; None when it plans in full instead."""
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    try:
        mark, light = settled_look(database, str(root), ADOPT)
        if mark is None or light is None or light.key == mark.tree:
            return None
        return narrowed_plan(database, str(root), ADOPT, mark, light)
    finally:
        database.dispose()


def _reported(plan: Plan) -> object:
    return (plan_of(plan), plan.warnings, plan.notes, plan.overrides_kept, plan.ended_overrides)


def _check_narrowed(cached: Engine, full: Engine, root: Path, where: str) -> bool:
    """The narrowed plan, if there is one, is the full plan; True when there was one."""
    quick = _narrowed(cached, root)
    if quick is not None:
        reference = make_plan(read_tree(root), load(full), ADOPT)
        assert _reported(quick) == _reported(reference), where
        assert [p.problems for p in quick.invalid] == [p.problems for p in reference.invalid]
    return quick is not None


def _check_shortcut(cached: Engine, full: Engine, root: Path, where: str) -> bool:
    """The shortcut's answer, if it gives one, is the full plan; True when it answered."""
    quick = _shortcut(cached, root)
    if quick is not None:
        reference = make_plan(read_tree(root), load(full), ADOPT)
        assert _reported(quick) == _reported(reference), where
    return quick is not None


_FIELD_EDITS = {"trigger_field", "sensor_field"}


def _plainly_edited(step: Step, before: dict[str, str], after: dict[str, str]) -> bool:
    """A field edit in a pack without runtimes: what the narrowed plan always covers (no
    delete, no hold, nothing every pack resolves against)."""
    changed = {path.split("/", 1)[0] for path in before.keys() | after.keys()}
    changed = {
        folder
        for folder in changed
        if any(
            before.get(p) != after.get(p)
            for p in before.keys() | after.keys()
            if p.startswith(f"{folder}/")
        )
    }
    runtimes = {p.split("/", 1)[0] for p in before.keys() | after.keys() if "/runtimes/" in p}
    return step.edit in _FIELD_EDITS and bool(changed) and not changed & runtimes


def _new_files(before: dict[str, str], after: dict[str, str]) -> int:
    """Files a seeded read must parse: no stored document has their path and bytes."""
    return sum(1 for relpath, text in after.items() if before.get(relpath) != text)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_fresh_processes_with_the_read_cache_plan_as_full_reads_do(
    engines: tuple[Engine, Engine],  # noqa: F811  (the fixture imported above)
    scenario: tuple[Tree, list[Step]],
) -> None:
    cached, full = engines
    start, steps = scenario
    reset(cached)
    reset(full)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "packs"
        files = render(start, frozenset())
        publish(root, {}, files)
        first = _fresh(cached, root)
        assert first.run().in_sync
        assert first.cache.parsed == len(files)
        assert _full(full, root).run().in_sync
        stored = files
        settled = True
        for number, step in enumerate(steps, 1):
            where = f"step {number}: {step.edit}, foreign {step.foreign}"
            if step.foreign is not None:
                write_foreign(cached, step.foreign)
                write_foreign(full, step.foreign)
            new_files = render(step.tree, step.broken)
            publish(root, files, new_files)
            before, files = files, new_files

            _check_shortcut(cached, full, root, where)
            narrowed = _check_narrowed(cached, full, root, where)
            if settled and step.foreign is None and _plainly_edited(step, before, files):
                assert narrowed, where
            diff, parsed = _diff(cached, root)
            assert diff == plan_of(make_plan(read_tree(root), load(full), ADOPT)), where
            assert parsed == _new_files(stored, files), where

            ours = _fresh(cached, root)
            outcome = ours.run()
            theirs = _full(full, root).run()
            assert ours.cache.parsed == _new_files(stored, files), where
            stored = files
            assert plan_of(outcome.plan) == plan_of(theirs.plan), where
            assert [p.problems for p in outcome.plan.invalid] == [
                p.problems for p in theirs.plan.invalid
            ], where
            assert outcome.plan.warnings == theirs.plan.warnings, where
            mine = load(cached)
            assert content(mine) == content(load(full)), where
            assert seen(mine) == expected(step), where
            settled = not (outcome.plan.invalid or outcome.plan.held_back)
            assert _check_shortcut(cached, full, root, where) == settled, where
            again = apply(cached, str(root), ADOPT)
            assert again.plan.changes == [], where
            assert _reported(again.plan) == _reported(_full(full, root).run().plan), where
