"""Folders attune-sync does not sync give one note per pack in JSON output, never a warning."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from attune_sync.reader import read_tree
from cli.helpers import run, run_json
from core.trees import pack_doc, trigger_doc

MakeTree = Callable[[dict[str, str]], Path]


def noted_tree(make_tree: MakeTree) -> Path:
    return make_tree(
        {
            "tools/pack.yaml": pack_doc("tools"),
            "tools/triggers/t.yaml": trigger_doc(),
            "tools/workflows/deploy.yaml": "ref: tools.deploy\ntasks: []\n",
            "tools/permission_sets/runner.yaml": "ref: tools.runner\ngrants: []\n",
            "plain/pack.yaml": pack_doc("plain"),
            "plain/triggers/t.yaml": trigger_doc(),
        }
    )


EXPECTED = {
    "folder": "tools",
    "skipped": ["permission_sets", "workflows"],
    "message": "not synced by attune-sync: permission_sets/, workflows/",
}


def pack_notes(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The pack notes (a diff may also note the database it compared against)."""
    return [note for note in document["notes"] if "folder" in note]


def test_validate_json_has_one_note_per_pack(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, "validate", str(noted_tree(make_tree)))
    assert code == 0
    assert document["valid"] is True
    assert document["warnings"] == []
    assert document["notes"] == [EXPECTED]


def test_validate_text_stays_quiet(make_tree: MakeTree, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "validate", str(noted_tree(make_tree)))
    assert code == 0
    assert out.strip() == "2 valid packs, 0 invalid, 0 errors, 0 warnings."


def test_diff_and_apply_json_carry_the_note(
    make_tree: MakeTree, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(noted_tree(make_tree))
    code, document = run_json(capsys, "diff", root, "--database", db_url)
    assert code == 1
    assert document["warnings"] == []
    assert pack_notes(document) == [EXPECTED]
    code, out = run(capsys, "diff", root, "--database", db_url)
    assert "not synced" not in out
    code, document = run_json(capsys, "apply", root, "--database", db_url)
    assert code == 0
    assert pack_notes(document) == [EXPECTED]


def test_pack_without_skipped_folders_has_no_note(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree({"plain/pack.yaml": pack_doc("plain"), "plain/triggers/t.yaml": trigger_doc()})
    code, document = run_json(capsys, "validate", str(root))
    assert code == 0
    assert document["notes"] == []


def test_incremental_read_keeps_and_updates_notes(make_tree: MakeTree) -> None:
    root = noted_tree(make_tree)
    first = read_tree(root)
    again = read_tree(root, previous=first, only=set())
    assert [note.as_json() for note in again.notes] == [EXPECTED]
    (root / "plain" / "queues").mkdir()
    later = read_tree(root, previous=again, only={"plain"})
    assert [(note.folder, note.skipped) for note in later.notes] == [
        ("plain", ("queues",)),
        ("tools", ("permission_sets", "workflows")),
    ]
