"""--version, completion scripts and the CI outputs through the real command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from attune_sync.version import version
from cli.helpers import BUNDLED, run
from core.trees import pack_doc, trigger_doc, write_tree


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attune_sync.cli", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_version() -> None:
    done = _cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"attune-sync {version()}\n"
    assert version()[0].isdigit()


def _bash_complete(words: list[str]) -> list[str]:
    script = _cli("completion", "bash").stdout
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; _attune_sync; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_completes_commands_options_and_choices() -> None:
    assert {"validate", "diff", "apply", "watch", "status", "completion"} <= set(
        _bash_complete(["attune-sync", ""])
    )
    assert _bash_complete(["attune-sync", "di"]) == ["diff"]
    assert "--out" in _bash_complete(["attune-sync", "diff", "--o"])
    assert _bash_complete(["attune-sync", "validate", "--output", ""]) == [
        "text",
        "json",
        "github",
        "junit",
    ]
    assert _bash_complete(["attune-sync", "completion", ""]) == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command(shell: str) -> None:
    done = _cli("completion", shell)
    assert done.returncode == 0
    for command in ("validate", "diff", "apply", "watch", "status", "completion"):
        assert command in done.stdout
    assert "markdown" in done.stdout
    if shutil.which(shell):  # when the shell is installed, it must parse the script
        check = subprocess.run([shell, "-n"], input=done.stdout, text=True, check=False)
        assert check.returncode == 0


def test_completion_rejects_an_unknown_shell() -> None:
    assert _cli("completion", "tcsh").returncode == 64


def _broken_tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "repo" / "packs",
        {
            "ok/pack.yaml": pack_doc("ok"),
            "sys/pack.yaml": pack_doc("sys"),
            "sys/triggers/cpu.yaml": trigger_doc(extra="enabled: yes\n"),
        },
    )


def test_validate_github_annotates_the_file_relative_to_the_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _broken_tree(tmp_path)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "repo"))
    code, out = run(capsys, "validate", str(root), "--output", "github")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("::error file=packs/sys/triggers/cpu.yaml,line=")
    assert "title=attune-sync%3A enabled::" in first
    assert out.splitlines()[-1] == "1 valid, 1 invalid, 1 errors."


def test_validate_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "validate", str(_broken_tree(tmp_path)), "--output", "junit")
    assert code == 1
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")


def test_diff_markdown_against_a_database(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "diff", str(BUNDLED), "--database", sqlite_url, "--output", "markdown")
    assert code == 1
    assert "| pack | 8 | 0 | 0 | 0 | 0 |" in out
    assert "<details><summary><code>core</code>: 5 to add</summary>" in out


def test_fish_completion_completes_choices(tmp_path: Path) -> None:
    if not shutil.which("fish"):
        # CI installs fish (.ci/run) and must run this test; elsewhere it needs installing.
        message = "fish is not installed (apt-get install fish)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    script = tmp_path / "attune-sync.fish"
    script.write_text(_cli("completion", "fish").stdout)
    done = subprocess.run(
        ["fish", "-c", f"source {script}; complete -C 'attune-sync validate --output '"],
        capture_output=True,
        text=True,
        check=True,
    )
    values = sorted(line.split("\t", 1)[0] for line in done.stdout.splitlines())
    assert values == ["github", "json", "junit", "text"]
