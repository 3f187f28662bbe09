"""GitHub annotations, JUnit XML and the Markdown plan comment (pure renderers)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from attune_sync.model import Change, FieldChange, HeldBack, InvalidPack, Plan, Problem
from attune_sync.render_ci import github_annotation, render_github, render_junit
from attune_sync.render_markdown import MARKER, render_markdown, summary_table

BROKEN = Problem(
    "sys/triggers/cpu.yaml", "expected true or false, got 'yes'", 7, 13, "enabled", "write true"
)


def test_github_annotation_points_at_the_file_in_the_repository() -> None:
    line = github_annotation(BROKEN, "packs")
    assert line == (
        "::error file=packs/sys/triggers/cpu.yaml,line=7,col=13,title=attune-sync%3A enabled"
        "::expected true or false, got 'yes' (hint: write true)"
    )


def test_github_annotation_escapes_what_would_end_the_command() -> None:
    problem = Problem("a,b/x:y.yaml", "two\nlines 100%", severity="warning")
    line = github_annotation(problem)
    assert line == "::warning file=a%2Cb/x%3Ay.yaml,title=attune-sync::two%0Alines 100%25"
    assert "\n" not in line


def test_render_github_without_problems_is_empty() -> None:
    assert render_github([]) == ""


def test_junit_has_a_case_per_pack_and_a_failure_per_invalid_pack() -> None:
    warning = Problem("p/x.yaml", "not read", severity="warning")
    xml = render_junit({"core": "core"}, [InvalidPack("sys", "system", (BROKEN,))], [warning])
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"core (core/)", "system (sys/)"}
    assert cases["core (core/)"].find("failure") is None
    failure = cases["system (sys/)"].find("failure")
    assert failure is not None
    assert failure.text is not None
    assert "sys/triggers/cpu.yaml:7:13" in failure.text
    out = suite.find("system-out")
    assert out is not None
    assert out.text is not None
    assert "p/x.yaml" in out.text


def _plan() -> Plan:
    return Plan(
        changes=[
            Change("create", "pack", "n", "n", (FieldChange("label", None, "New"),)),
            Change(
                "update",
                "pack",
                "s",
                "s",
                (FieldChange("config", {"token": "********"}, {"token": "********"}),),
                values={"config": {"token": "raw-secret-value"}},
            ),
            Change("update", "trigger", "a.t", "a", (FieldChange("enabled", True, False),)),
            Change("create", "rule", "a.r", "a", (FieldChange("label", None, "```x```"),)),
            Change(
                "delete", "pack", "old", "old", cascade={"triggers": 2, "sensors": 1, "rules": 0}
            ),
        ],
        held_back=[HeldBack("delete", "trigger", "b.t", "still used by sensor c.s")],
        invalid=[InvalidPack("sys", "system", (BROKEN,))],
    )


def test_summary_table_counts_every_kind_the_plan_holds() -> None:
    table = summary_table(_plan())
    assert table[0] == "| kind | add | change | destroy | held back | invalid |"
    assert "| pack | 1 | 1 | 1 | 0 | 1 |" in table
    assert "| trigger | 0 | 1 | 0 | 1 | 0 |" in table
    # A kind the core does not know yet is still counted, after the known ones.
    assert table[-1] == "| rule | 1 | 0 | 0 | 0 | 0 |"


def test_markdown_comment_groups_changes_per_pack_and_masks_secrets() -> None:
    comment = render_markdown(_plan())
    assert comment.startswith(MARKER + "\n### attune-sync plan\n")
    assert "raw-secret-value" not in comment
    assert '-     config: {"token": "********"}' in comment
    assert "<details><summary><code>a</code>: 1 to add, 1 to change</summary>" in comment
    assert "<details><summary><code>old</code>: 1 to destroy</summary>" in comment
    assert "- pack old  (with 2 triggers, 1 sensor)" in comment
    assert "! delete trigger b.t: still used by sensor c.s" in comment
    assert "sys/triggers/cpu.yaml:7:13: error: enabled:" in comment
    # A value holding a code fence cannot close the block early.
    assert "````diff" in comment


def test_markdown_comment_is_capped_with_a_note() -> None:
    changes = [
        Change("create", "pack", f"p{n:03}", f"p{n:03}", (FieldChange("label", None, "x" * 200),))
        for n in range(200)
    ]
    comment = render_markdown(Plan(changes=changes), max_chars=5000)
    assert len(comment) <= 5000
    assert "**Cut:**" in comment
    assert "more sections not shown" in comment
    assert "<code>p000</code>" in comment
    assert "<code>p199</code>" not in comment


def test_markdown_comment_for_an_empty_plan() -> None:
    comment = render_markdown(Plan())
    assert "No changes: the database matches the packs folder." in comment
    assert "| kind |" not in comment


def test_one_huge_pack_shows_its_first_lines_and_says_how_many_were_cut() -> None:
    changes = [
        Change("create", "trigger", f"big.t{n:04}", "big", (FieldChange("label", None, "T"),))
        for n in range(2000)
    ]
    comment = render_markdown(Plan(changes=changes), max_chars=5000)
    assert len(comment) <= 5000
    assert "+ trigger big.t0000" in comment
    assert "big.t1999" not in comment
    shown = comment.count("+ trigger big.t")
    assert f"… {4000 - 2 * shown} more line(s) cut" in comment
    assert "more section" not in comment  # nothing else was left out
    assert comment.rstrip().endswith("Run `attune-sync diff` for the whole plan.")
