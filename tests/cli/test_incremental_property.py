"""Property: a `Reconciler` kept across edits ends exactly where a full run ends.

A random tree goes through 2-4 steps. Each step edits files (fields, components, whole
packs, folder renames, a broken pack.yaml and its fix, cross-pack sensor references) and
may write to the database behind the sync's back. After each step the same tree is synced
twice: incrementally by one Reconciler kept for the whole example (with the exact edited
paths as hints, or without hints), and by a full read (no read cache) into a second database that
got the same foreign writes. Both must make the same plan and leave the same rows, equal to
the tree; and the Reconciler's in-memory snapshot must equal its database.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import make_url

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.db.state import load_actual
from attune_sync.model import ActualState, Plan
from attune_sync.outcome import RunOutcome
from attune_sync.planner import PlanOptions, json_equal, make_plan
from attune_sync.reader import read_tree
from attune_sync.reconciler import Reconciler
from cli.test_property import (
    PACK_NAMES,
    SENSOR_NAMES,
    TRIGGER_NAMES,
    Pack,
    Sens,
    Tree,
    all_triggers,
    copy,
    drop_dangling,
    render,
    runtime_of,
    texts,
    trees,
    trigs,
)

UNMANAGED = ["ua", "ub"]
"""Refs of packs someone else inserts; a later step may add a folder for one (adoption)."""
EDITS = [
    "break",
    "trigger_field",
    "sensor_field",
    "add_trigger",
    "remove_trigger",
    "add_sensor",
    "remove_sensor",
    "retarget_sensor",
    "add_pack",
    "remove_pack",
    "rename_folder",
    "none",
]
NEEDS_TRIGGERS = {"trigger_field", "remove_trigger"}
NEEDS_SENSORS = {"sensor_field", "remove_sensor", "retarget_sensor"}


@dataclass(frozen=True)
class Foreign:
    """A write straight to the database, by someone other than attune-sync."""

    kind: str  # "trigger_label" | "delete_sensor" | "insert_pack"
    ref: str
    label: str = ""


@dataclass(frozen=True)
class Step:
    tree: Tree
    broken: frozenset[str]
    """Packs whose pack.yaml is unparsable: the database keeps them as they were."""
    unmanaged: frozenset[str]
    """Inserted by someone else and not (yet) adopted."""
    edit: str
    foreign: Foreign | None
    hinted: bool
    drift: dict[str, str | None]
    """Foreign writes to broken packs, which stay until the pack is fixed: trigger ref to its
    label, or sensor ref to None (deleted)."""


# --------------------------------------------------------------------------- scenarios


def broken_uses(tree: Tree, broken: frozenset[str]) -> set[str]:
    """What broken packs use (their sensors' triggers, their rules' triggers and actions,
    their actions' runtimes): it must stay, so no edit removes it (nothing is held back)."""
    used = set()
    for ref in broken:
        pack = tree[ref]
        used |= {trigger for s in pack.sensors.values() for trigger in s.trigger_refs}
        used |= {r.trigger_ref for r in pack.rules.values()}
        used |= {r.action_ref for r in pack.rules.values()}
        used |= {runtime_of(tree, a.runner) or "" for a in pack.actions.values()}
    return used


@st.composite
def edited(
    draw: st.DrawFn, tree: Tree, broken: frozenset[str], unmanaged: frozenset[str]
) -> tuple[str, Tree, frozenset[str], frozenset[str]]:
    """One file edit; broken packs are left alone (their rows stay as they were)."""
    new = copy(tree)
    # Fixing is likely while something is broken: the interesting runs come after a fix.
    kind = draw(st.sampled_from(["fix", *EDITS] if broken else EDITS))
    healthy = sorted(ref for ref in new if ref not in broken)
    if kind in NEEDS_TRIGGERS:
        healthy = [ref for ref in healthy if new[ref].triggers]
    elif kind in NEEDS_SENSORS:
        healthy = [ref for ref in healthy if new[ref].sensors]
    pinned = broken_uses(new, broken)
    pack = new[draw(st.sampled_from(healthy))] if healthy else None
    done = True
    if pack is None:
        done = False
    elif kind == "trigger_field" and pack.triggers:
        name = draw(st.sampled_from(sorted(pack.triggers)))
        which = draw(st.sampled_from(["label", "description", "enabled"]))
        old = pack.triggers[name]
        value: Any = {
            "label": texts,
            "description": st.none() | texts,
            "enabled": st.just(not old.enabled),
        }[which]
        pack.triggers[name] = replace(old, **{which: draw(value)})
    elif kind == "sensor_field" and pack.sensors:
        name = draw(st.sampled_from(sorted(pack.sensors)))
        which = draw(st.sampled_from(["label", "description", "enabled"]))
        old_sensor = pack.sensors[name]
        value = st.just(not old_sensor.enabled) if which == "enabled" else texts
        pack.sensors[name] = replace(old_sensor, **{which: draw(value)})
    elif kind == "add_trigger":
        pack.triggers[draw(st.sampled_from(TRIGGER_NAMES))] = draw(trigs)
    elif kind == "remove_trigger" and pack.triggers:
        name = draw(st.sampled_from(sorted(pack.triggers)))
        done = f"{pack.ref}.{name}" not in pinned
        if done:
            del pack.triggers[name]
    elif kind == "add_sensor" and all_triggers(new):
        pack.sensors[draw(st.sampled_from(SENSOR_NAMES))] = Sens(
            draw(texts), draw(texts), draw(st.booleans()), draw(st.sampled_from(all_triggers(new)))
        )
    elif kind == "remove_sensor" and pack.sensors:
        del pack.sensors[draw(st.sampled_from(sorted(pack.sensors)))]
    elif kind == "retarget_sensor" and pack.sensors:
        elsewhere = [ref for ref in all_triggers(new) if not ref.startswith(f"{pack.ref}.")]
        done = bool(elsewhere)
        if done:
            name = draw(st.sampled_from(sorted(pack.sensors)))
            target = draw(st.sampled_from(elsewhere))
            pack.sensors[name] = replace(pack.sensors[name], trigger_ref=target)
    elif kind == "add_pack":
        folders = {p.folder for p in new.values()}
        free = [ref for ref in PACK_NAMES + UNMANAGED if ref not in new and ref not in folders]
        done = bool(free)
        if done:
            ref = draw(st.sampled_from(free))
            chosen = draw(st.lists(st.sampled_from(TRIGGER_NAMES), max_size=2, unique=True))
            new[ref] = Pack(ref, ref, draw(texts), {n: draw(trigs) for n in chosen})
            unmanaged = unmanaged - {ref}
    elif kind == "remove_pack":
        # Keep at least three packs: one delete stays under the mass-delete limit.
        mine = {f"{pack.ref}.{name}" for name in [*pack.triggers, *pack.actions]}
        mine |= {f"{pack.ref}.rt"} if pack.runtime else set()
        done = len(new) >= 4 and not (mine & pinned)
        if done:
            del new[pack.ref]
    elif kind == "rename_folder":
        pack.folder += "-m"
    elif kind == "break":
        broken = broken | {pack.ref}
    elif kind == "fix" and broken:
        broken = broken - {draw(st.sampled_from(sorted(broken)))}
    else:
        done = False
    drop_dangling(new)
    return (kind if done else "none"), new, broken, unmanaged


@st.composite
def foreign_writes(
    draw: st.DrawFn,
    before: Tree,
    after: Tree,
    broken: frozenset[str],
    unmanaged: frozenset[str],
    drift: dict[str, str | None],
    edit: str,
) -> Foreign | None:
    """A write to rows that exist now, often to a broken pack's (nothing restores those yet).

    Biased to the telling order: drift while a pack is broken, then a fix with no write
    that would make the run load everything anyway.
    """
    kinds = ["trigger_label", "none", "delete_sensor", "insert_pack"]
    kind = draw(st.sampled_from(["none", *kinds] if edit == "fix" else kinds))
    targets = sorted(before)
    if broken & before.keys() and draw(st.integers(0, 2)):
        targets = sorted(broken & before.keys())
    triggers = [f"{ref}.{n}" for ref in targets for n in sorted(before[ref].triggers)]
    sensors = [
        f"{ref}.{n}"
        for ref in targets
        for n in sorted(before[ref].sensors)
        if drift.get(f"{ref}.{n}", "") is not None
    ]
    if kind == "trigger_label" and triggers:
        return Foreign(kind, draw(st.sampled_from(triggers)), draw(texts))
    if kind == "delete_sensor" and sensors:
        return Foreign(kind, draw(st.sampled_from(sensors)))
    free = [ref for ref in UNMANAGED if ref not in unmanaged and ref not in before | after]
    if kind == "insert_pack" and free:
        return Foreign(kind, draw(st.sampled_from(free)))
    return None


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Tree, list[Step]]:
    start = draw(trees())
    tree, broken, unmanaged = start, frozenset[str](), frozenset[str]()
    drift: dict[str, str | None] = {}
    steps: list[Step] = []
    for _ in range(draw(st.integers(min_value=2, max_value=4))):
        kind, new, new_broken, unmanaged = draw(edited(tree, broken, unmanaged))
        foreign = draw(foreign_writes(tree, new, broken | new_broken, unmanaged, drift, kind))
        if foreign is not None and foreign.kind == "insert_pack":
            unmanaged = unmanaged | {foreign.ref}
        # Drift on a pack that is valid after this step is reverted by this step's run.
        drift = {ref: v for ref, v in drift.items() if ref.split(".")[0] in new_broken}
        if foreign is not None and foreign.ref.split(".")[0] in new_broken:
            drift[foreign.ref] = foreign.label if foreign.kind == "trigger_label" else None
        hinted = draw(st.booleans())
        steps.append(Step(new, new_broken, unmanaged, kind, foreign, hinted, dict(drift)))
        tree, broken = new, new_broken
    return start, steps


# --------------------------------------------------------------------------- files


def publish(root: Path, old: dict[str, str], new: dict[str, str]) -> set[str]:
    """Make the folder hold `new` (it holds `old`); the absolute paths a watcher would report."""
    changed: set[str] = set()
    for relpath, text in new.items():
        if old.get(relpath) != text:
            path = root / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.add(str(path))
    for relpath in old.keys() - new.keys():
        path = root / relpath
        path.unlink()
        changed.add(str(path))
    for folder, dirs, names in sorted(os.walk(root), reverse=True):
        if folder != str(root) and not dirs and not names:
            os.rmdir(folder)
            changed.add(folder)
    return changed


# --------------------------------------------------------------------------- database


def write_foreign(engine: Engine, foreign: Foreign) -> None:
    with engine.begin() as conn:
        if foreign.kind == "trigger_label":
            stmt = update(t.trigger).where(t.trigger.c.ref == foreign.ref)
            conn.execute(stmt.values(label=foreign.label))
        elif foreign.kind == "delete_sensor":
            conn.execute(delete(t.sensor).where(t.sensor.c.ref == foreign.ref))
        else:
            conn.execute(
                insert(t.pack).values(ref=foreign.ref, label="Theirs", description="not ours")
            )
            pack_id = conn.execute(select(t.pack.c.id).where(t.pack.c.ref == foreign.ref))
            conn.execute(
                insert(t.trigger).values(
                    ref=f"{foreign.ref}.t1",
                    pack=pack_id.scalar_one(),
                    pack_ref=foreign.ref,
                    label="Their trigger",
                )
            )


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (t.sensor, t.rule, t.action, t.trigger, t.sync_managed_pack, t.pack):
            conn.execute(table.delete())
        conn.execute(t.runtime.delete().where(t.runtime.c.pack.is_not(None)))
        conn.execute(t.sync_run.delete())
        conn.execute(t.sync_read_cache.delete())


def load(engine: Engine) -> ActualState:
    with engine.connect() as conn:
        return load_actual(conn)


def content(state: ActualState) -> dict[str, Any]:
    """What a run leaves, without ids (they differ between two databases)."""
    return {
        "packs": {ref: row.values for ref, row in state.packs.items()},
        "triggers": {ref: row.values for ref, row in state.triggers.items()},
        "sensors": {ref: row.values for ref, row in state.sensors.items()},
        "actions": {ref: row.values for ref, row in state.actions.items()},
        "rules": {ref: row.values for ref, row in state.rules.items()},
        "runtimes": {ref: row.values for ref, row in state.runtime_rows.items()},
        "managed": {ref: (i.folder, i.content_hash) for ref, i in state.managed.items()},
    }


def assert_same_state(kept: ActualState, loaded: ActualState) -> None:
    """The snapshot equals the database in every field the planner looks at."""
    assert kept.runtimes == loaded.runtimes
    for kind in ("pack", "runtime", "trigger", "action", "sensor", "rule"):
        ours, theirs = kept.objects(kind), loaded.objects(kind)  # type: ignore[arg-type]
        assert ours.keys() == theirs.keys(), kind
        for ref, row in ours.items():
            assert json_equal(row.values, theirs[ref].values), (kind, ref)
        for component in ("runtime", "trigger", "action", "sensor", "rule"):
            for pack_ref in {row.values.get("pack_ref") for row in theirs.values()} | {None}:
                assert kept.components_of(component, pack_ref) == loaded.components_of(
                    component, pack_ref
                )
    assert content(kept)["managed"] == content(loaded)["managed"]
    assert kept.action_counts == loaded.action_counts
    assert kept.rule_counts == loaded.rule_counts
    assert kept.rule_trigger_refs == loaded.rule_trigger_refs


def plan_of(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [
            (c.action, c.kind, c.ref, c.values, c.folder, c.content_hash) for c in plan.changes
        ],
        "held_back": plan.held_back,
        "invalid": [(pack.folder, pack.ref) for pack in plan.invalid],
        "bookkeeping": plan.bookkeeping,
    }


def expected(step: Step) -> dict[str, Any]:
    """The rows the tree (and the foreign inserts nobody adopted) should leave."""
    packs = {ref: (p.label, f"pack {ref}") for ref, p in step.tree.items()}
    packs.update(dict.fromkeys(step.unmanaged, ("Theirs", "not ours")))
    triggers = {
        f"{p.ref}.{n}": (p.ref, tr.label, tr.description, tr.enabled)
        for p in step.tree.values()
        for n, tr in p.triggers.items()
    }
    triggers.update({f"{ref}.t1": (ref, "Their trigger", None, True) for ref in step.unmanaged})
    sensors = {
        f"{p.ref}.{n}": (p.ref, s.label, s.description, s.enabled, s.trigger_refs, "shell")
        for p in step.tree.values()
        for n, s in p.sensors.items()
    }
    for ref, label in step.drift.items():
        if label is None:
            del sensors[ref]
        else:
            triggers[ref] = (*triggers[ref][:1], label, *triggers[ref][2:])
    managed = {ref: p.folder for ref, p in step.tree.items()}
    return {"packs": packs, "triggers": triggers, "sensors": sensors, "managed": managed}


def seen(state: ActualState) -> dict[str, Any]:
    def pick(values: dict[str, Any], *names: str) -> tuple[Any, ...]:
        return tuple(values[name] for name in names)

    return {
        "packs": {r: pick(o.values, "label", "description") for r, o in state.packs.items()},
        "triggers": {
            r: pick(o.values, "pack_ref", "label", "description", "enabled")
            for r, o in state.triggers.items()
        },
        "sensors": {
            r: pick(
                o.values,
                "pack_ref",
                "label",
                "description",
                "enabled",
                "trigger_refs",
                "runtime_ref",
            )
            for r, o in state.sensors.items()
        },
        "managed": {ref: info.folder for ref, info in state.managed.items()},
    }


# --------------------------------------------------------------------------- the property


def full_run(engine: Engine, root: Path) -> RunOutcome:
    """A sync that reads every file in full: no documents kept, none stored (readcache)."""
    return Reconciler(engine, str(root), ADOPT, long_lived=False, read_cache=False).run()


# Steps may empty a pack of its components or add a folder for a pack someone else
# inserted: this property is about incremental runs, not the guards, so both are allowed.
ADOPT = PlanOptions(adopt=True, allow_mass_delete=True)


@pytest.fixture
def full_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database on the same backend, for the full runs."""
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'full.db'}"
        return
    url = make_url(db_url)
    name = f"{url.database}_full_{uuid.uuid4().hex[:6]}"
    admin = url.set(drivername="postgresql", database="postgres")
    libpq = admin.render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engines(db_url: str, full_url: str) -> Iterator[tuple[Engine, Engine]]:
    incremental, full = make_engine(db_url), make_engine(full_url)
    try:
        upgrade(incremental)
        upgrade(full)
        yield incremental, full
    finally:
        incremental.dispose()
        full.dispose()


@settings(
    max_examples=18,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_incremental_runs_end_where_full_runs_end(
    engines: tuple[Engine, Engine], scenario: tuple[Tree, list[Step]]
) -> None:
    incremental, full = engines
    start, steps = scenario
    reset(incremental)
    reset(full)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "packs"
        files = render(start, frozenset())
        publish(root, {}, files)
        reconciler = Reconciler(incremental, str(root), ADOPT)
        assert reconciler.run().in_sync
        assert full_run(full, root).in_sync
        for number, step in enumerate(steps, 1):
            where = f"step {number}: {step.edit}, foreign {step.foreign}, hinted {step.hinted}"
            if step.foreign is not None:
                write_foreign(incremental, step.foreign)
                write_foreign(full, step.foreign)
            new_files = render(step.tree, step.broken)
            changed = publish(root, files, new_files)
            files = new_files

            ours = reconciler.run(changed if step.hinted else None)
            theirs = full_run(full, root)

            assert plan_of(ours.plan) == plan_of(theirs.plan), where
            assert ours.plan.held_back == [], where
            broken_folders = sorted(step.tree[ref].folder for ref in step.broken)
            assert [pack.folder for pack in ours.plan.invalid] == broken_folders, where
            mine, reference = load(incremental), load(full)
            assert content(mine) == content(reference), where
            assert seen(mine) == expected(step), where
            after = make_plan(read_tree(root), mine, ADOPT)
            assert (after.changes, after.held_back, after.bookkeeping) == ([], [], {}), where
            if reconciler.actual is not None:
                assert_same_state(reconciler.actual, mine)
