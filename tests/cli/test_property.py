"""Property: after apply the database equals the tree, diff is empty, and apply is idempotent."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from attune_sync.cli import main
from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.db.state import load_actual
from attune_sync.model import ActualState
from core.trees import write_tree

PACK_NAMES = ["pa", "pb", "pc", "pd", "pe"]
TRIGGER_NAMES = ["t1", "t2", "t3"]
SENSOR_NAMES = ["s1", "s2"]
ACTION_NAMES = ["a1", "a2"]
RULE_NAMES = ["r1", "r2"]
RUNNERS = ["shell", "python", "standalone", "pa.rt", "pb.rt", "cobol"]
"""Built-in runners, the packs' own runtime `rt`, and one that never resolves."""
texts = st.text(alphabet="abcXYZ 019-_:#'\"é", min_size=1, max_size=12)


@dataclass(frozen=True)
class Trig:
    label: str
    description: str | None
    enabled: bool


@dataclass(frozen=True)
class Sens:
    label: str
    description: str
    enabled: bool
    trigger_ref: str
    extra_trigger: str | None = None
    """A second entry of `trigger_types`."""

    @property
    def trigger_refs(self) -> list[str]:
        extra = [self.extra_trigger] if self.extra_trigger not in (None, self.trigger_ref) else []
        return [self.trigger_ref, *extra]  # type: ignore[list-item]


@dataclass(frozen=True)
class Act:
    label: str
    runner: str


@dataclass(frozen=True)
class Rul:
    trigger_ref: str
    action_ref: str
    enabled: bool


@dataclass
class Pack:
    ref: str
    folder: str
    label: str
    triggers: dict[str, Trig] = field(default_factory=dict)
    sensors: dict[str, Sens] = field(default_factory=dict)
    actions: dict[str, Act] = field(default_factory=dict)
    rules: dict[str, Rul] = field(default_factory=dict)
    runtime: bool = False
    """Whether the pack defines the runtime `<ref>.rt`."""


Tree = dict[str, Pack]
trigs = st.builds(Trig, texts, st.none() | texts, st.booleans())


def all_triggers(tree: Tree) -> list[str]:
    return sorted(f"{p.ref}.{name}" for p in tree.values() for name in p.triggers)


def all_actions(tree: Tree) -> list[str]:
    return sorted(f"{p.ref}.{name}" for p in tree.values() for name in p.actions)


def drop_dangling(tree: Tree) -> None:
    known = set(all_triggers(tree))
    actions = set(all_actions(tree))
    for pack in tree.values():
        pack.sensors = {
            n: s
            if s.extra_trigger in known or s.extra_trigger is None
            else replace(s, extra_trigger=None)
            for n, s in pack.sensors.items()
            if s.trigger_ref in known
        }
        pack.rules = {
            n: r
            for n, r in pack.rules.items()
            if r.trigger_ref in known and r.action_ref in actions
        }


def runtime_of(tree: Tree, runner: str) -> str | None:
    """The runtime ref an action's runner resolves to, as docs/pack-format.md orders it."""
    builtin = {"shell": "shell", "python": "python3", "standalone": "native"}
    if runner in builtin:
        return builtin[runner]
    pack = tree.get(runner.split(".")[0])
    return runner if pack is not None and pack.runtime and runner.endswith(".rt") else None


acts = st.builds(Act, texts, st.sampled_from(RUNNERS))


def _components(draw: st.DrawFn, tree: Tree) -> None:
    """Sensors, actions, rules and runtimes, once every pack's triggers are known."""
    refs = all_triggers(tree)
    for pack in tree.values():
        pack.runtime = draw(st.booleans())
        for name in draw(st.lists(st.sampled_from(ACTION_NAMES), max_size=2, unique=True)):
            pack.actions[name] = draw(acts)
        if refs:
            for sname in draw(st.lists(st.sampled_from(SENSOR_NAMES), max_size=2, unique=True)):
                pack.sensors[sname] = Sens(
                    draw(texts),
                    draw(texts),
                    draw(st.booleans()),
                    draw(st.sampled_from(refs)),
                    draw(st.none() | st.sampled_from(refs)),
                )
    actions = all_actions(tree)
    if refs and actions:
        for pack in tree.values():
            for rname in draw(st.lists(st.sampled_from(RULE_NAMES), max_size=2, unique=True)):
                pack.rules[rname] = Rul(
                    draw(st.sampled_from(refs)), draw(st.sampled_from(actions)), draw(st.booleans())
                )


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    names = draw(st.lists(st.sampled_from(PACK_NAMES), min_size=3, max_size=5, unique=True))
    tree: Tree = {}
    for name in names:
        chosen = draw(st.lists(st.sampled_from(TRIGGER_NAMES), max_size=3, unique=True))
        tree[name] = Pack(name, name, draw(texts), {t_: draw(trigs) for t_ in chosen})
    _components(draw, tree)
    return tree


def copy(tree: Tree) -> Tree:
    return {
        k: replace(
            p,
            triggers=dict(p.triggers),
            sensors=dict(p.sensors),
            actions=dict(p.actions),
            rules=dict(p.rules),
        )
        for k, p in tree.items()
    }


@st.composite
def edits(draw: st.DrawFn, tree: Tree) -> tuple[Tree, str]:
    new = copy(tree)
    kind = draw(
        st.sampled_from(
            [
                "label",
                "add_trigger",
                "remove_trigger",
                "add_sensor",
                "remove_sensor",
                "remove_pack",
                "rename_folder",
                "pack_label",
                "add_action",
                "remove_action",
                "change_runner",
                "add_rule",
                "remove_rule",
                "toggle_runtime",
                "retarget_sensor",
            ]
        )
    )
    pack = new[draw(st.sampled_from(sorted(new)))]
    if kind == "label" and pack.triggers:
        name = draw(st.sampled_from(sorted(pack.triggers)))
        pack.triggers[name] = replace(pack.triggers[name], label=draw(texts))
    elif kind == "add_trigger":
        pack.triggers[draw(st.sampled_from(TRIGGER_NAMES))] = draw(trigs)
    elif kind == "remove_trigger" and pack.triggers:
        del pack.triggers[draw(st.sampled_from(sorted(pack.triggers)))]
    elif kind == "add_sensor" and all_triggers(new):
        pack.sensors[draw(st.sampled_from(SENSOR_NAMES))] = Sens(
            draw(texts), draw(texts), draw(st.booleans()), draw(st.sampled_from(all_triggers(new)))
        )
    elif kind == "remove_sensor" and pack.sensors:
        del pack.sensors[draw(st.sampled_from(sorted(pack.sensors)))]
    elif kind == "remove_pack":
        del new[pack.ref]
    elif kind == "rename_folder":
        pack.folder = pack.folder + "-moved"
    elif kind == "pack_label":
        pack.label = draw(texts)
    else:
        _edit_new_kinds(draw, new, pack, kind)
    drop_dangling(new)
    return new, kind


def _edit_new_kinds(draw: st.DrawFn, new: Tree, pack: Pack, kind: str) -> None:
    if kind == "add_action":
        pack.actions[draw(st.sampled_from(ACTION_NAMES))] = draw(acts)
    elif kind == "remove_action" and pack.actions:
        del pack.actions[draw(st.sampled_from(sorted(pack.actions)))]
    elif kind == "change_runner" and pack.actions:
        name = draw(st.sampled_from(sorted(pack.actions)))
        pack.actions[name] = replace(pack.actions[name], runner=draw(st.sampled_from(RUNNERS)))
    elif kind == "add_rule" and all_triggers(new) and all_actions(new):
        pack.rules[draw(st.sampled_from(RULE_NAMES))] = Rul(
            draw(st.sampled_from(all_triggers(new))),
            draw(st.sampled_from(all_actions(new))),
            draw(st.booleans()),
        )
    elif kind == "remove_rule" and pack.rules:
        del pack.rules[draw(st.sampled_from(sorted(pack.rules)))]
    elif kind == "toggle_runtime":
        pack.runtime = not pack.runtime
    elif kind == "retarget_sensor" and pack.sensors and all_triggers(new):
        name = draw(st.sampled_from(sorted(pack.sensors)))
        extra = draw(st.none() | st.sampled_from(all_triggers(new)))
        pack.sensors[name] = replace(pack.sensors[name], extra_trigger=extra)


def q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


BROKEN_PACK_YAML = "ref: {broken\n"


def render(tree: Tree, broken: frozenset[str] = frozenset()) -> dict[str, str]:
    """The files of `tree`; packs named in `broken` get an unparsable pack.yaml."""
    files: dict[str, str] = {}
    for pack in tree.values():
        files[f"{pack.folder}/pack.yaml"] = (
            BROKEN_PACK_YAML
            if pack.ref in broken
            else f"ref: {pack.ref}\nlabel: {q(pack.label)}\ndescription: pack {pack.ref}\n"
        )
        for name, trig in pack.triggers.items():
            desc = "null" if trig.description is None else q(trig.description)
            files[f"{pack.folder}/triggers/{name}.yaml"] = (
                f"label: {q(trig.label)}\ndescription: {desc}\n"
                f"enabled: {str(trig.enabled).lower()}\n"
            )
        for name, sens in pack.sensors.items():
            files[f"{pack.folder}/sensors/{name}.yaml"] = (
                f"label: {q(sens.label)}\ndescription: {q(sens.description)}\n"
                f"entry_point: /sensors/{name}.py\nrunner_type: shell\n"
                f"trigger_types: {json.dumps(sens.trigger_refs)}\n"
                f"enabled: {str(sens.enabled).lower()}\n"
            )
        for name, act in pack.actions.items():
            files[f"{pack.folder}/actions/{name}.yaml"] = (
                f"label: {q(act.label)}\nrunner_type: {act.runner}\nentry_point: {name}.sh\n"
            )
        for name, rule in pack.rules.items():
            files[f"{pack.folder}/rules/{name}.yaml"] = (
                f"ref: {name}\ntrigger_ref: {rule.trigger_ref}\naction_ref: {rule.action_ref}\n"
                f"enabled: {str(rule.enabled).lower()}\n"
            )
        if pack.runtime:
            files[f"{pack.folder}/runtimes/rt.yaml"] = f"ref: {pack.ref}.rt\naliases: [RT]\n"
    return files


def write(tree: Tree, root: Path) -> None:
    write_tree(root, render(tree))


def cli(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--output", "json", "--log-level", "warning"])
    return code, json.loads(out.getvalue())


def assert_db_equals(engine: Engine, tree: Tree) -> None:
    with engine.connect() as conn:
        actual = load_actual(conn)
    assert set(actual.packs) == set(tree)
    assert {ref: p.values["label"] for ref, p in actual.packs.items()} == {
        ref: p.label for ref, p in tree.items()
    }
    assert {ref: info.folder for ref, info in actual.managed.items()} == {
        ref: p.folder for ref, p in tree.items()
    }
    want_triggers = {
        f"{p.ref}.{n}": (p.ref, tr.label, tr.description, tr.enabled)
        for p in tree.values()
        for n, tr in p.triggers.items()
    }
    got_triggers = {
        ref: (o.values["pack_ref"], o.values["label"], o.values["description"], o.values["enabled"])
        for ref, o in actual.triggers.items()
    }
    assert got_triggers == want_triggers
    want_sensors = {
        f"{p.ref}.{n}": (p.ref, s.label, s.description, s.enabled, s.trigger_ref, "shell")
        for p in tree.values()
        for n, s in p.sensors.items()
    }
    got_sensors = {
        ref: (
            o.values["pack_ref"],
            o.values["label"],
            o.values["description"],
            o.values["enabled"],
            o.values["trigger_refs"][0],
            o.values["runtime_ref"],
        )
        for ref, o in actual.sensors.items()
    }
    assert got_sensors == want_sensors
    assert {ref: o.values["trigger_refs"] for ref, o in actual.sensors.items()} == {
        f"{p.ref}.{n}": s.trigger_refs for p in tree.values() for n, s in p.sensors.items()
    }
    assert_new_kinds_equal(actual, tree)


def assert_new_kinds_equal(actual: ActualState, tree: Tree) -> None:
    assert {
        ref: (o.values["pack_ref"], o.values["label"], o.values["runtime_ref"])
        for ref, o in actual.actions.items()
    } == {
        f"{p.ref}.{n}": (p.ref, a.label, runtime_of(tree, a.runner))
        for p in tree.values()
        for n, a in p.actions.items()
    }
    assert {
        ref: (
            o.values["pack_ref"],
            o.values["trigger_ref"],
            o.values["action_ref"],
            o.values["enabled"],
        )
        for ref, o in actual.rules.items()
    } == {
        f"{p.ref}.{n}": (p.ref, r.trigger_ref, r.action_ref, r.enabled)
        for p in tree.values()
        for n, r in p.rules.items()
    }
    assert {
        ref: (o.values["pack_ref"], o.values["aliases"])
        for ref, o in actual.runtime_rows.items()
        if o.values["pack_ref"] is not None
    } == {f"{p.ref}.rt": (p.ref, ["rt"]) for p in tree.values() if p.runtime}


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (t.rule, t.sensor, t.action, t.trigger, t.sync_managed_pack, t.pack):
            conn.execute(table.delete())
        conn.execute(t.runtime.delete().where(t.runtime.c.pack.is_not(None)))
        for table in (t.sync_run,):
            conn.execute(table.delete())


def apply_and_check(engine: Engine, db_url: str, tree: Tree, root: Path) -> None:
    code, document = cli("apply", str(root), "--database", db_url, "--allow-mass-delete")
    assert code == 0, document
    assert document["invalid_packs"] == []
    assert document["held_back"] == []
    assert_db_equals(engine, tree)
    code, document = cli("diff", str(root), "--database", db_url)
    assert (code, document["changes"]) == (0, [])
    code, document = cli("apply", str(root), "--database", db_url)
    assert (code, document["changes"], document["result"]) == (0, [], "noop")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Tree, Tree, str]:
    tree = draw(trees())
    edited, kind = draw(edits(tree))
    return tree, edited, kind


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_database_follows_the_tree(db_url: str, scenario: tuple[Tree, Tree, str]) -> None:
    tree, edited, _kind = scenario
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        reset(engine)
        with tempfile.TemporaryDirectory() as tmp:
            first = Path(tmp) / "one"
            write(tree, first)
            apply_and_check(engine, db_url, tree, first)
            second = Path(tmp) / "two"
            write(edited, second)
            apply_and_check(engine, db_url, edited, second)
    finally:
        engine.dispose()
