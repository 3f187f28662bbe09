"""Property: a fresh process that reuses stored documents plans exactly as a full read does.

The same random scenarios as the incremental property (random trees; edits to fields,
components, whole packs, folder renames; a pack.yaml broken and fixed; runtimes appearing
and vanishing with their packs; foreign writes to the database). Each step is run the way CI
runs it, a new process per command: a `diff` (`plan_read_only`) and then an `apply`, each
with a fresh cache seeded from the database's read cache, against a second database synced
by full reads only (no read cache at all). Every plan and every row must be equal, and the
seeded commands must parse exactly the files whose bytes (or paths) are new.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from attune_sync.db.reading import open_for_reading
from attune_sync.planner import make_plan
from attune_sync.reader import DocumentCache, read_tree
from attune_sync.reconciler import Reconciler
from attune_sync.sync import plan_read_only
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
    """`attune-sync diff` in a new process: the plan, and how many files it parsed."""
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    cache = DocumentCache()
    try:
        plan = plan_read_only(database, str(root), ADOPT, cache=cache)
    finally:
        database.dispose()
    return plan_of(plan), cache.parsed


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
        for number, step in enumerate(steps, 1):
            where = f"step {number}: {step.edit}, foreign {step.foreign}"
            if step.foreign is not None:
                write_foreign(cached, step.foreign)
                write_foreign(full, step.foreign)
            new_files = render(step.tree, step.broken)
            publish(root, files, new_files)
            files = new_files

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
