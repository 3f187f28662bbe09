"""Issue 10 items in the reader and the validation phase: nothing odd reads as a deletion."""

from __future__ import annotations

from pathlib import Path

from attune_sync.model import ActualState
from attune_sync.reader import check_file, read_tree
from attune_sync.settle import settle
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree

RUNTIMES = {"shell": 1, "python3": 2, "nodejs": 3, "native": 4}


def test_pack_folder_link_to_nowhere_is_invalid_not_absent(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    (root / "gone").symlink_to(tmp_path / "nowhere")
    state = read_tree(root)
    [invalid] = state.invalid
    assert (invalid.folder, invalid.ref) == ("gone", None)
    assert "target is missing" in invalid.problems[0].message


def test_pack_folder_link_loop_is_invalid(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    (root / "loop").symlink_to(root / "loop")
    [invalid] = read_tree(root).invalid
    assert invalid.folder == "loop"
    assert "loops" in invalid.problems[0].message


def test_pack_folder_link_leaving_the_root_is_invalid_and_not_read(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "elsewhere", {"x/pack.yaml": pack_doc("x")})
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    (root / "x").symlink_to(outside / "x")
    state = read_tree(root)
    assert set(state.packs) == {"p"}
    [invalid] = state.invalid
    assert "leads out of the packs folder" in invalid.problems[0].message


def test_pack_folder_link_inside_the_root_is_read(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "packs", {"real/pack.yaml": pack_doc("p")})
    (root / "alias").symlink_to(root / "real")
    state = read_tree(root)
    assert state.packs == {}  # two folders, one ref: both refused, naming each other
    assert {pack.folder for pack in state.invalid} == {"alias", "real"}


def test_component_link_leaving_the_root_is_an_error_naming_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("label: from outside\n")
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    (root / "p" / "triggers").mkdir()
    (root / "p" / "triggers" / "t.yaml").symlink_to(secret)
    (root / "p" / "sensors").symlink_to(tmp_path)
    [invalid] = read_tree(root).invalid
    paths = sorted(problem.path for problem in invalid.problems)
    assert paths == ["p/sensors", "p/triggers/t.yaml"]
    assert all("leads out of the packs folder" in p.message for p in invalid.problems)
    assert all("from outside" not in p.message for p in invalid.problems)


def test_a_thousand_nested_folders_do_not_overflow(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p")})
    levels = [root / "p" / "docs"]
    for _ in range(1000):  # not os.makedirs: it recurses too
        levels.append(levels[-1] / "d")
    try:
        for level in levels:
            level.mkdir()
        (levels[-1] / "x.yaml").write_text("a: 1\n")
        state = read_tree(root)
        assert set(state.packs) == {"p"}
        [warning] = state.warnings
        assert warning.path.endswith("/d/x.yaml")
    finally:
        # Bottom up, without recursion: pytest's own clean-up (shutil.rmtree) would overflow.
        (levels[-1] / "x.yaml").unlink(missing_ok=True)
        for level in reversed(levels):
            if level.exists():
                level.rmdir()


def test_a_file_that_is_not_a_mapping_is_quoted_only_in_part() -> None:
    text = ("x" * 5000).encode()
    [problem] = check_file("p/triggers/t.yaml", text, "trigger").problems
    assert len(problem.message) < 200
    assert "5000 characters" in problem.message


def test_a_field_error_does_not_hide_reference_errors(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/bad.yaml": "label: 5\n",
            "p/sensors/s.yaml": sensor_doc("p.nope"),
            "p/rules/r.yaml": "description: d\ntrigger_ref: p.missing\naction_ref: p.act\n",
        },
    )
    settled = settle(read_tree(root), ActualState(runtimes=dict(RUNTIMES)), database=False)
    [invalid] = settled.invalid
    found = [(p.path, p.line, p.field, p.message) for p in invalid.problems]
    assert found == [
        (
            "p/rules/r.yaml",
            2,
            "trigger_ref",
            "trigger 'p.missing' does not exist in the packs folder",
        ),
        ("p/rules/r.yaml", 3, "action_ref", "action 'p.act' does not exist in the packs folder"),
        (
            "p/sensors/s.yaml",
            5,
            "trigger_types[0]",
            "trigger 'p.nope' does not exist in the packs folder",
        ),
        ("p/triggers/bad.yaml", 1, "label", "expected a string, got the number 5"),
    ]


def test_reference_error_through_an_alias_is_located_with_a_did_you_mean(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/alert.yaml": trigger_doc(),
            "p/sensors/s.yaml": sensor_doc("p.alrt"),
        },
    )
    actual = ActualState(runtimes=dict(RUNTIMES))
    [invalid] = settle(read_tree(root), actual).invalid
    [problem] = invalid.problems
    assert (problem.line, problem.column, problem.field) == (5, 14, "trigger_types[0]")
    assert problem.hint == "did you mean `p.alert`?"
    assert problem.message.endswith("in the packs folder or the database")


def test_a_removed_workflow_file_is_noticed_by_an_incremental_read(tmp_path: Path) -> None:
    files = {
        "p/pack.yaml": pack_doc("p"),
        "p/actions/flow.yaml": "workflow_file: workflows/flow.yaml\n",
        "p/actions/workflows/flow.yaml": "version: '1'\ntasks: []\n",
    }
    root = write_tree(tmp_path / "packs", files)
    first = read_tree(root)
    assert first.packs["p"].actions["p.flow"].entrypoint == "actions/workflows/flow.yaml"
    (root / "p" / "actions" / "workflows" / "flow.yaml").unlink()
    again = read_tree(root, previous=first, only={"p"})
    [invalid] = again.invalid
    assert invalid.problems[0].field == "workflow_file"
    assert "does not exist" in invalid.problems[0].message


def test_a_workflow_file_outside_the_pack_is_refused(tmp_path: Path) -> None:
    files = {
        "p/pack.yaml": pack_doc("p"),
        "p/actions/flow.yaml": "workflow_file: ../../q/pack.yaml\n",
        "q/pack.yaml": pack_doc("q"),
    }
    state = read_tree(write_tree(tmp_path / "packs", files))
    [invalid] = state.invalid
    assert "points outside the pack folder" in invalid.problems[0].message


def test_rule_params_against_a_schema_with_a_remote_ref_never_fetch_it(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": "label: T\n",
            "p/actions/a.yaml": (
                "parameters:\n  type: object\n  properties:\n"
                "    x: {$ref: 'http://127.0.0.1:9/x.json'}\n"
            ),
            "p/rules/r.yaml": "trigger_ref: t\naction_ref: a\naction_params: {x: 1}\n",
        },
    )
    settled = settle(read_tree(root), ActualState(runtimes=dict(RUNTIMES)))
    assert set(settled.valid) == {"p"}


def test_a_broken_pack_is_not_told_its_own_components_are_missing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": trigger_doc(),
            "p/triggers/bad.yaml": "label: [\n",
            "p/sensors/s.yaml": sensor_doc("p.t"),
            "p/actions/a.yaml": "runner_type: shell\n",
            "p/rules/r.yaml": "trigger_ref: t\naction_ref: a\n",
        },
    )
    [invalid] = settle(read_tree(root), ActualState(runtimes=dict(RUNTIMES))).invalid
    assert [problem.path for problem in invalid.problems] == ["p/triggers/bad.yaml"]
