"""Text and JSON rendering of plans and problems."""

from __future__ import annotations

import json

from attune_sync.model import Change, FieldChange, HeldBack, InvalidPack, Plan, Problem
from attune_sync.render import plan_json, problems_json, render_plan, render_problem, summary


def sample_plan() -> Plan:
    return Plan(
        changes=[
            Change("create", "pack", "n", "n", (FieldChange("label", None, "New"),)),
            Change("update", "trigger", "a.t", "a", (FieldChange("enabled", True, False),)),
            Change(
                "delete",
                "pack",
                "old",
                "old",
                cascade={"triggers": 2, "sensors": 1, "actions": 0, "rules": 0},
            ),
        ],
        held_back=[HeldBack("delete", "trigger", "b.t", "still used by sensor 'c.s', which stays")],
        invalid=[
            InvalidPack(
                "broken", "broken", (Problem("broken/pack.yaml", "bad", 3, 5, "label", "fix"),)
            )
        ],
        warnings=[Problem("p/x.yaml", "this YAML file is not read", severity="warning")],
    )


def test_render_plan_text() -> None:
    text = render_plan(sample_plan())
    lines = text.splitlines()
    assert lines[0] == "+ pack n"
    assert lines[1] == '    label: "New"'
    assert lines[2] == "~ trigger a.t"
    assert lines[3] == "    enabled: true → false"
    assert lines[4] == "- pack old  (with 2 triggers, 1 sensor)"
    assert "  ! delete trigger b.t: still used by sensor 'c.s', which stays" in lines
    assert "✗ pack 'broken' in broken/ is invalid and stays as it is:" in lines
    assert "    broken/pack.yaml:3:5: error: label: bad (hint: fix)" in lines
    assert "p/x.yaml: warning: this YAML file is not read" in lines
    assert lines[-1] == "Plan: 1 to add, 1 to change, 1 to destroy; 1 held back, 1 invalid pack."
    assert "\x1b[" not in text
    assert "\x1b[32m+ pack n\x1b[0m" in render_plan(sample_plan(), colour=True)


def test_empty_plan_text() -> None:
    assert render_plan(Plan()) == (
        "No changes: the database matches the packs folder.\n"
        "Plan: 0 to add, 0 to change, 0 to destroy."
    )
    assert summary(Plan()) == "Plan: 0 to add, 0 to change, 0 to destroy."


def test_adopted_change_is_marked() -> None:
    plan = Plan(changes=[Change("update", "pack", "x", "x", adopt=True)])
    assert render_plan(plan).splitlines()[0].startswith("~ pack x  (adopted:")


def test_without_values_one_line_per_change_with_the_changed_field_names() -> None:
    plan = sample_plan()
    plan.changes[1] = Change(
        "update",
        "trigger",
        "a.t",
        "a",
        (FieldChange("label", "A", "B"), FieldChange("enabled", True, False)),
    )
    plan.changes.append(
        Change("update", "pack", "x", "x", (FieldChange("label", "A", "B"),), adopt=True)
    )
    full = render_plan(plan).splitlines()
    lines = render_plan(plan, values=False).splitlines()
    assert lines[:4] == [
        "+ pack n",
        "~ trigger a.t (label, enabled)",
        "- pack old  (with 2 triggers, 1 sensor)",
        "~ pack x (label)  (adopted: exists in the database, managed by attune-sync from now on)",
    ]
    # Everything after the changes (holds, invalid packs, warnings, summary) is unchanged.
    assert lines[4:] == full[len(full) - len(lines) + 4 :]
    assert '"B"' not in "\n".join(lines)
    assert '"New"' not in "\n".join(lines)
    assert "\x1b[33m~ trigger a.t (label, enabled)\x1b[0m" in render_plan(
        plan, colour=True, values=False
    )


def test_plan_json() -> None:
    document = plan_json(sample_plan(), applied=True)
    json.dumps(document)
    assert document["changes"][0] == {
        "action": "create",
        "kind": "pack",
        "ref": "n",
        "pack_ref": "n",
        "fields": {"label": "New"},
    }
    assert document["changes"][1]["fields"] == [{"field": "enabled", "old": True, "new": False}]
    assert document["changes"][2]["cascade"]["triggers"] == 2
    assert document["held_back"][0]["ref"] == "b.t"
    assert document["errors"][0]["line"] == 3
    assert document["errors"][0]["path"] == "broken/pack.yaml"
    assert document["invalid_packs"] == [{"folder": "broken", "ref": "broken", "errors": 1}]
    assert document["summary"] == {
        "create": 1,
        "update": 1,
        "delete": 1,
        "held_back": 1,
        "invalid_packs": 1,
    }
    assert document["applied"] is True


def test_problems_json_and_problem_render() -> None:
    problems = [
        Problem("a/pack.yaml", "bad", 1, 2),
        Problem("a/x.yaml", "stray", severity="warning"),
    ]
    document = problems_json(problems)
    assert document["valid"] is False
    assert [e["message"] for e in document["errors"]] == ["bad"]
    assert [w["path"] for w in document["warnings"]] == ["a/x.yaml"]
    assert problems_json(problems[1:])["valid"] is True
    assert render_problem(problems[0]) == "a/pack.yaml:1:2: error: bad"
    assert Problem("a", "m", line=4).location() == "a:4"


def test_a_reason_shared_by_many_holds_is_printed_once() -> None:
    reason = "would delete 3 of 4 managed packs (75%, over the 50% limit); check"
    other = "still used by sensor 'c.s', which stays"
    plan = Plan(
        held_back=[
            HeldBack("delete", "pack", "a", reason, "mass_delete"),
            HeldBack("delete", "pack", "b", reason, "mass_delete"),
            HeldBack("delete", "pack", "d", reason, "mass_delete"),
            HeldBack("delete", "trigger", "x.t", other, "still_used"),
        ]
    )
    text = render_plan(plan)
    assert text.count(reason) == 1
    assert "  ! 3 changes: " + reason in text
    assert "      delete pack b" in text
    assert f"  ! delete trigger x.t: {other}" in text


def test_held_back_lines_give_a_shared_reason_once() -> None:
    from attune_sync.render import held_back_lines

    reason = "would delete 2 of 2 managed packs (100%, over the 50% limit); check"
    lines = held_back_lines(
        [
            HeldBack("delete", "pack", "a", reason, "mass_delete"),
            HeldBack("delete", "pack", "b", reason, "mass_delete"),
            HeldBack("delete", "trigger", "c.t", "still used by rule 'r', which stays"),
        ]
    )
    assert lines == [
        f"held back delete pack a, delete pack b: {reason}",
        "held back delete trigger c.t: still used by rule 'r', which stays",
    ]
