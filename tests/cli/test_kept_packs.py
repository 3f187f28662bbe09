"""A synced pack whose folder turns odd stays exactly as it is (issue 10), on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.helpers import rows, run, run_json
from core.trees import pack_doc, trigger_doc, write_tree


@pytest.fixture
def synced(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    root = write_tree(
        tmp_path / "packs",
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": trigger_doc(),
            "q/pack.yaml": pack_doc("q"),
            "r/pack.yaml": pack_doc("r"),
        },
    )
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    return root


def _after(root: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, document = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code != 0
    assert [change for change in document["changes"] if change["action"] == "delete"] == []
    assert set(rows(db_url, "pack")) == {"p", "q", "r"}
    assert set(rows(db_url, "trigger")) == {"p.t"}
    return document


def test_pack_yaml_removed_while_triggers_remain(
    synced: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (synced / "p" / "pack.yaml").rename(synced / "p" / "pack.yaml.bak")
    document = _after(synced, db_url, capsys)
    assert [pack["folder"] for pack in document["invalid_packs"]] == ["p"]


def test_misspelt_component_folder(
    synced: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (synced / "p" / "triggers").rename(synced / "p" / "Trigger")
    document = _after(synced, db_url, capsys)
    [error] = document["errors"]
    assert error["path"] == "p/Trigger"
    assert "did you mean `triggers/`?" in error["hint"]


def test_pack_folder_becomes_a_broken_link(
    synced: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.move(synced / "p", synced.parent / "moved-away")
    (synced / "p").symlink_to(synced.parent / "nowhere")
    _after(synced, db_url, capsys)
