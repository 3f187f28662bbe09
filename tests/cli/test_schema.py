"""`attune-sync schema KIND`: the editor schemas from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attune_sync.cli.schema import KINDS
from attune_sync.editor_schemas import KINDS as TABLE_KINDS
from attune_sync.editor_schemas import render
from cli.helpers import run

REPO = Path(__file__).resolve().parents[2]


def test_the_command_knows_every_kind_of_the_tables() -> None:
    assert set(KINDS) == set(TABLE_KINDS)


def test_prints_one_kind(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "schema", "sensor")
    assert code == 0
    assert out == render("sensor")
    assert "trigger_types" in json.loads(out)["properties"]


def test_writes_every_kind_as_shipped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _ = run(capsys, "schema", "all", "--out", str(tmp_path / "schemas"))
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == sorted(f"{kind}.schema.json" for kind in KINDS)
    for name in written:
        assert (tmp_path / "schemas" / name).read_text() == (REPO / "schemas" / name).read_text()


def test_all_without_a_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(capsys, "schema", "all")
    assert code == 64


def test_an_unknown_kind_is_a_usage_error() -> None:
    from attune_sync.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["schema", "triggers"])
    assert stopped.value.code == 64


def test_a_folder_that_cannot_be_written_is_trouble(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _ = run(capsys, "schema", "all", "--out", str(blocker / "sub"))
    assert code == 2
