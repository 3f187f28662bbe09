"""`attune-sync validate`: no database needed, exit 0 for valid and 1 for invalid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.helpers import copy_bundled, run, run_json, run_with_workers
from core.trees import many_files_tree, pack_doc, sensor_doc, trigger_doc

MakeTree = Callable[[dict[str, str]], Path]


def test_bundled_packs_are_valid(bundled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "validate", str(bundled))
    assert code == 0
    assert out.strip() == "8 valid packs, 0 invalid, 0 errors, 0 warnings."


def test_bundled_packs_json(bundled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "validate", str(bundled))
    assert code == 0
    assert document["valid"] is True
    assert document["errors"] == []
    assert len(document["packs"]) == 8
    assert "aws.ec2" in document["packs"]


def broken_tree(make_tree: MakeTree) -> Path:
    return make_tree(
        {
            "good/pack.yaml": pack_doc("good"),
            "good/triggers/t.yaml": trigger_doc(),
            "bad/pack.yaml": pack_doc("bad", extra="version: 1.10\n"),
            "bad/sensors/s.yaml": sensor_doc("bad.missing"),
            "bad/triggers/sub/x.yaml": trigger_doc(),
        }
    )


def test_broken_tree_exits_1_with_located_errors(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "validate", str(broken_tree(make_tree)))
    assert code == 1
    assert "bad/pack.yaml:4:10: error: version: expected a string, got the number 1.1" in out
    assert '`version: "1.10"`' in out
    assert "bad/triggers/sub/x.yaml: warning: this YAML file is not read" in out
    assert out.splitlines()[-1] == "1 valid pack, 1 invalid, 1 error, 1 warning."


def test_broken_tree_json_has_path_line_message(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, "validate", str(broken_tree(make_tree)))
    assert code == 1
    assert document["valid"] is False
    assert document["packs"] == ["good"]
    [error] = document["errors"]
    assert error["path"] == "bad/pack.yaml"
    assert error["line"] == 4
    assert error["column"] == 10
    assert error["field"] == "version"
    assert error["message"] == "expected a string, got the number 1.1"
    assert document["warnings"][0]["path"] == "bad/triggers/sub/x.yaml"


def test_sensor_with_unknown_trigger_is_invalid(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "p/sensors/s.yaml": sensor_doc("p.nope")})
    code, document = run_json(capsys, "validate", str(root))
    assert code == 1
    [error] = document["errors"]
    assert (error["path"], error["field"]) == ("p/sensors/s.yaml", "trigger_types[0]")
    assert "trigger 'p.nope' does not exist" in error["message"]


def test_missing_root_is_trouble(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "validate", str(tmp_path / "nope"))
    assert code == 2
    assert "does not exist" in document["error"]


def test_usage_error_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(capsys, "validate", "--output", "xml")
    assert caught.value.code == 64


def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "attune-sync"
    assert script.exists()
    db = tmp_path / "x.db"
    packs = copy_bundled(tmp_path / "packs")  # the README's tour edits packs/ itself
    result = subprocess.run(
        [str(script), "diff", str(packs), "--database", f"sqlite:///{db}", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["summary"]["create"] == 8 + 13 + 6 + 3 + 2
    valid = subprocess.run(
        [str(script), "validate", str(packs)], capture_output=True, text=True, check=False
    )
    assert valid.returncode == 0
    assert "8 valid packs" in valid.stdout


def test_validate_parsed_on_every_core_finds_what_one_process_finds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = many_files_tree(tmp_path / "packs")
    alone = run_with_workers(capsys, "0", "validate", str(packs), "--output", "json")
    assert alone[0] == 1
    assert len(json.loads(alone[1])["errors"]) == 4
    assert run_with_workers(capsys, "2", "validate", str(packs), "--output", "json") == (
        *alone[:2],
        [320],
    )
