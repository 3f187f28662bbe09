"""The pre-commit hook: its manifest, and its entry command on a real git repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest

from attune_sync.precommit import main, touched_packs
from cli.helpers import copy_bundled

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_is_valid_for_pre_commit() -> None:
    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "attune-sync-validate"
    assert hook["language"] == "python"
    # The entry is a console script this package installs.
    assert (
        f'{hook["entry"]} = "attune_sync.precommit:main"' in (ROOT / "pyproject.toml").read_text()
    )
    pattern = re.compile(hook["files"])
    assert pattern.search("packs/system/triggers/cpu_alert.yaml")
    assert pattern.search("packs/core/pack.yml")
    assert not pattern.search("README.md")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A packs repository with the bundled packs committed; the cwd, as pre-commit runs."""
    copy_bundled(tmp_path / "packs")
    (tmp_path / "README.md").write_text("packs\n")
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _staged(repo: Path) -> list[str]:
    """The file names pre-commit passes: staged, added or modified, matching `files`."""
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    done = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return [name for name in done.stdout.split() if re.search(r"\.(ya?ml)$", name)]


def test_hook_fails_on_a_broken_trigger(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trigger = repo / "packs/system/triggers/cpu_alert.yaml"
    trigger.write_text(
        trigger.read_text().replace("label: CPU Alert", "label: CPU Alert\nenabled: yes")
    )
    assert main(["packs/system/triggers/cpu_alert.yaml"]) == 1
    out = capsys.readouterr().out
    assert (
        "packs/system/triggers/cpu_alert.yaml:3:10: error: enabled: expected true or false" in out
    )
    assert out.splitlines()[-1] == "packs: 1 touched pack(s) checked, 1 invalid."


def test_hook_passes_a_good_commit_and_ignores_untouched_packs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _staged(repo)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "packs"],
        cwd=repo,
        check=True,
    )
    # Another pack is broken, but this commit does not touch it.
    (repo / "packs/logs/pack.yaml").write_text("ref: logs\nlable: typo\n")
    core = repo / "packs/core/triggers/timer.yaml"
    core.write_text(core.read_text().replace("label: Timer", "label: Cron timer"))
    assert main(["packs/core/triggers/timer.yaml", "README.md"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == "packs: 1 touched pack(s) checked, 0 invalid."
    )
    assert main(_staged(repo)) == 1  # once it is staged, the broken pack fails the commit


def test_files_outside_any_pack_check_nothing(repo: Path) -> None:
    assert touched_packs(["README.md", "packs/README.md"]) == {}
    assert main(["README.md"]) == 0


def test_touched_packs_groups_by_root(repo: Path) -> None:
    assert touched_packs(
        ["packs/core/triggers/timer.yaml", "packs/core/pack.yaml", "packs/logs/pack.yaml"]
    ) == {repo / "packs": {"core", "logs"}}
