"""Attune's own pack format end to end, on SQLite and PostgreSQL (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from cli.helpers import rows, run, run_json
from core.attune_tree import RULE, attune_tree
from core.trees import write_tree


def links(db_url: str) -> dict[str, list[str]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            link = t.sensor_trigger
            query = select(link.c.sensor_ref, link.c.trigger_ref).order_by(
                link.c.sensor_ref, link.c.position
            )
            found: dict[str, list[str]] = {}
            for sensor, trigger in conn.execute(query):
                found.setdefault(sensor, []).append(trigger)
            return found
    finally:
        engine.dispose()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "packs", attune_tree())


def test_validate_reads_every_kind_with_one_warning(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, "validate", str(tree))
    assert code == 0, document
    assert document["errors"] == []
    [warning] = document["warnings"]
    assert (warning["path"], warning["field"]) == ("tools/actions/nothing.yaml", "runner_type")
    assert "stored without a runtime" in warning["message"]


def test_apply_creates_every_kind_then_diff_is_empty(
    tree: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "apply", str(tree), "--database", db_url)
    assert code == 0, out
    packs = rows(db_url, "pack")
    assert packs["tools"]["conf_schema"]["base_url"] == {"type": "string", "required": True}
    assert packs["tools"]["tags"] == ["tools", "demo"]
    runtime_ids = {ref: row["id"] for ref, row in rows(db_url, "runtime").items()}
    assert packs["tools"]["runtime_deps"] == [runtime_ids["shell"], runtime_ids["python3"]]
    assert packs["tools"]["runtime_constraints"] == ["", ">=3.10"]
    ruby = rows(db_url, "runtime")["tools.ruby"]
    assert (ruby["name"], ruby["label"], ruby["pack_ref"]) == ("Ruby", "Ruby", "tools")
    assert ruby["aliases"] == ["rb", "rb2"]
    assert ruby["versions"] == [{"version": "3.3.0", "is_default": True}]

    triggers = rows(db_url, "trigger")
    assert triggers["tools.legacy"]["label"] == "Legacy"
    assert triggers["tools.tick"]["param_schema"]["unit"]["required"] is True
    sensor = rows(db_url, "sensor")["tools.clock"]
    assert (sensor["label"], sensor["runtime_ref"], sensor["trigger_ref"]) == (
        "Clock",
        "native",
        "tools.tick",
    )
    assert links(db_url) == {"tools.clock": ["tools.tick", "tools.legacy"]}

    actions = rows(db_url, "action")
    greet = actions["tools.greet"]
    assert greet["runtime"] == runtime_ids["tools.ruby"]
    assert (greet["parameter_delivery"], greet["parameter_format"], greet["output_format"]) == (
        "file",
        "yaml",
        "json",
    )
    assert greet["out_schema"] == {"type": "array", "items": {"type": "string"}}
    flow = actions["tools.flow"]
    assert (flow["entrypoint"], flow["runtime"]) == ("actions/workflows/flow.yaml", None)
    assert actions["tools.nothing"]["runtime"] is None
    assert (actions["tools.nothing"]["parameter_delivery"], actions["tools.nothing"]["label"]) == (
        "stdin",
        "Nothing",
    )

    rule = rows(db_url, "rule")["tools.on_tick"]
    assert (rule["trigger_ref"], rule["action_ref"], rule["enabled"]) == (
        "tools.tick",
        "tools.greet",
        True,
    )
    assert rule["action_params"] == {"name": "{{ trigger.payload.who }}", "count": 3}
    assert rule["conditions"][0]["operator"] == "equals"

    code, document = run_json(capsys, "diff", str(tree), "--database", db_url)
    assert (code, document["changes"]) == (0, [])


def test_changes_and_deletes_of_the_new_kinds(
    tree: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(tree), "--database", db_url)[0] == 0
    (tree / "tools/rules/on_tick.yaml").write_text(RULE.replace("count: 3", "count: 4"))
    (tree / "tools/sensors/clock.yaml").write_text(
        (tree / "tools/sensors/clock.yaml").read_text().replace("  - tools.legacy\n", "")
    )
    code, document = run_json(capsys, "apply", str(tree), "--database", db_url)
    assert code == 0, document
    changed = {(c["action"], c["kind"], c["ref"]) for c in document["changes"]}
    assert changed == {("update", "rule", "tools.on_tick"), ("update", "sensor", "tools.clock")}
    assert links(db_url) == {"tools.clock": ["tools.tick"]}
    assert rows(db_url, "rule")["tools.on_tick"]["action_params"]["count"] == 4

    # The runtime goes while the action that ran on it stays, stored without a runtime.
    (tree / "tools/runtimes/ruby.yaml").unlink()
    (tree / "tools/rules/on_tick.yaml").unlink()
    (tree / "tools/actions/flow.yaml").unlink()
    code, document = run_json(capsys, "apply", str(tree), "--database", db_url)
    assert code == 0, document
    kinds = {(c["action"], c["kind"], c["ref"]) for c in document["changes"]}
    assert kinds == {
        ("delete", "rule", "tools.on_tick"),
        ("delete", "action", "tools.flow"),
        ("update", "action", "tools.greet"),
        ("delete", "runtime", "tools.ruby"),
    }
    assert rows(db_url, "action")["tools.greet"]["runtime"] is None
    assert "tools.ruby" not in rows(db_url, "runtime")
    assert run_json(capsys, "diff", str(tree), "--database", db_url)[1]["changes"] == []


def test_rule_params_are_checked_against_the_schemas(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "tools/rules/on_tick.yaml").write_text(
        RULE.replace("count: 3", "count: many").replace("unit: seconds\n", "unit: hours\n")
    )
    code, document = run_json(capsys, "validate", str(tree))
    assert code == 1
    fields = sorted(error["field"] for error in document["errors"])
    assert fields == ["action_params.count", "trigger_params.unit"]


def test_rule_with_unknown_refs_names_both(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "tools/rules/on_tick.yaml").write_text(
        RULE.replace("trigger_ref: tick", "trigger_ref: tock").replace(
            "action_ref: greet", "action_ref: gret"
        )
    )
    code, document = run_json(capsys, "validate", str(tree))
    assert code == 1
    by_field = {error["field"]: error for error in document["errors"]}
    assert set(by_field) == {"trigger_ref", "action_ref"}
    assert by_field["trigger_ref"]["hint"] == "did you mean `tools.tick`?"
    assert by_field["action_ref"]["hint"] == "did you mean `tools.greet`?"


def test_deleting_a_trigger_another_packs_sensor_lists_second_is_held_back(
    tree: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        tree,
        {
            "other/pack.yaml": "ref: other\nlabel: Other\ndescription: d\n",
            "other/sensors/watch.yaml": (
                "description: d\nentry_point: w\ntrigger_types: [tools.tick, tools.legacy]\n"
            ),
        },
    )
    assert run(capsys, "apply", str(tree), "--database", db_url)[0] == 0
    assert links(db_url)["other.watch"] == ["tools.tick", "tools.legacy"]
    (tree / "tools/triggers/legacy.yml").unlink()
    (tree / "tools/sensors/clock.yaml").write_text(
        (tree / "tools/sensors/clock.yaml").read_text().replace("  - tools.legacy\n", "")
    )
    code, document = run_json(capsys, "apply", str(tree), "--database", db_url)
    held = [(h["kind"], h["ref"]) for h in document["held_back"]]
    assert held == [("trigger", "tools.legacy")]
    assert "tools.legacy" in rows(db_url, "trigger")
    assert code != 0 or document["held_back"]


ALIASED = {
    "p/pack.yaml": (
        "ref: p\nname: P\ndescription: d\nconfig_schema:\n  k: {type: string}\nconfig: {k: v}\n"
        "metadata: {a: 1}\nkeywords: [x]\nsystem: true\n"
    ),
    "p/triggers/t.yaml": "param_schema:\n  n: {type: integer}\nout_schema:\n  o: {type: string}\n",
    "p/sensors/s.yaml": (
        "description: d\nentrypoint: run\nruntime_ref: python3\ntrigger_ref: t\n"
        "param_schema:\n  n: {type: integer}\n"
    ),
    "p/actions/a.yaml": "entry_point: a.sh\nparam_schema:\n  n: {type: integer}\nout_schema: {}\n",
    "p/rules/r.yaml": "trigger_ref: t\naction_ref: a\npermission_set_ref: p.x\n",
}
CANONICAL = {
    "p/pack.yaml": (
        "ref: p\nlabel: P\ndescription: d\nconf_schema:\n  k: {type: string}\nconfig: {k: v}\n"
        "meta: {a: 1}\ntags: [x]\nis_standard: true\n"
    ),
    "p/triggers/t.yaml": "parameters:\n  n: {type: integer}\noutput:\n  o: {type: string}\n",
    "p/sensors/s.yaml": (
        "description: d\nentry_point: run\nrunner_type: python3\ntrigger_types: [p.t]\n"
        "parameters:\n  n: {type: integer}\n"
    ),
    "p/actions/a.yaml": "entry_point: a.sh\nparameters:\n  n: {type: integer}\noutput: {}\n",
    "p/rules/r.yaml": "trigger_ref: p.t\naction_ref: p.a\npermission_set_refs: [p.x]\n",
}


def test_aliases_store_exactly_what_canonical_names_store(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aliased = write_tree(tmp_path / "aliased", ALIASED)
    canonical = write_tree(tmp_path / "canonical", CANONICAL)
    code, out = run(capsys, "apply", str(aliased), "--database", db_url)
    assert code == 0, out
    code, document = run_json(capsys, "diff", str(canonical), "--database", db_url)
    assert (code, document["changes"]) == (0, [])
    pack = rows(db_url, "pack")["p"]
    assert (pack["label"], pack["meta"], pack["tags"], pack["is_standard"]) == (
        "P",
        {"a": 1},
        ["x"],
        True,
    )
    action = rows(db_url, "action")["p.a"]
    assert (action["label"], action["parameter_delivery"], action["out_schema"]) == (
        "A",
        "stdin",
        {},
    )
    assert rows(db_url, "rule")["p.r"]["conditions"] == {}


def test_deleting_a_runtime_a_staying_sensor_runs_on_is_held_back(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "a/pack.yaml": "ref: a\nlabel: A\ndescription: d\n",
            "a/runtimes/rt.yaml": "ref: a.rt\nname: Custom\n",
            "b/pack.yaml": "ref: b\nlabel: B\ndescription: d\n",
            "b/triggers/t.yaml": "label: T\n",
            "b/sensors/s.yaml": (
                "description: d\nentry_point: s\nrunner_type: custom\ntrigger_types: [t]\n"
            ),
        },
    )
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    assert rows(db_url, "sensor")["b.s"]["runtime_ref"] == "a.rt"  # resolved by name
    (root / "a" / "runtimes" / "rt.yaml").unlink()
    code, document = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code != 0
    # b's sensor no longer resolves its runtime: b is invalid and stays, so a.rt stays too.
    assert [pack["folder"] for pack in document["invalid_packs"]] == ["b"]
    assert [(h["kind"], h["ref"]) for h in document["held_back"]] == [("runtime", "a.rt")]
    assert "a.rt" in rows(db_url, "runtime")
