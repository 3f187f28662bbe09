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
from core.trees import write_tree

PACK_NAMES = ["pa", "pb", "pc", "pd", "pe"]
TRIGGER_NAMES = ["t1", "t2", "t3"]
SENSOR_NAMES = ["s1", "s2"]
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


@dataclass
class Pack:
    ref: str
    folder: str
    label: str
    triggers: dict[str, Trig] = field(default_factory=dict)
    sensors: dict[str, Sens] = field(default_factory=dict)


Tree = dict[str, Pack]
trigs = st.builds(Trig, texts, st.none() | texts, st.booleans())


def all_triggers(tree: Tree) -> list[str]:
    return sorted(f"{p.ref}.{name}" for p in tree.values() for name in p.triggers)


def drop_dangling(tree: Tree) -> None:
    known = set(all_triggers(tree))
    for pack in tree.values():
        pack.sensors = {n: s for n, s in pack.sensors.items() if s.trigger_ref in known}


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    names = draw(st.lists(st.sampled_from(PACK_NAMES), min_size=3, max_size=5, unique=True))
    tree: Tree = {}
    for name in names:
        chosen = draw(st.lists(st.sampled_from(TRIGGER_NAMES), max_size=3, unique=True))
        tree[name] = Pack(name, name, draw(texts), {t_: draw(trigs) for t_ in chosen})
    refs = all_triggers(tree)
    if refs:
        for pack in tree.values():
            for sname in draw(st.lists(st.sampled_from(SENSOR_NAMES), max_size=2, unique=True)):
                pack.sensors[sname] = Sens(
                    draw(texts), draw(texts), draw(st.booleans()), draw(st.sampled_from(refs))
                )
    return tree


def copy(tree: Tree) -> Tree:
    return {
        k: replace(p, triggers=dict(p.triggers), sensors=dict(p.sensors)) for k, p in tree.items()
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
    drop_dangling(new)
    return new, kind


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
                f"entrypoint: /sensors/{name}.py\nruntime_ref: shell\n"
                f"trigger_ref: {sens.trigger_ref}\nenabled: {str(sens.enabled).lower()}\n"
            )
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


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (t.sensor, t.trigger, t.sync_managed_pack, t.pack, t.sync_run):
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
