"""`attune-sync status` as a CLI command: pending changes of a packs folder, read-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.db.engine import mask_url
from cli.helpers import copy_bundled, run, run_json


def test_status_given_a_packs_folder_says_whether_changes_are_pending(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(packs), "--database", db_url)[0] == 0

    code, out = run(capsys, "status", str(packs), "--database", db_url)
    assert code == 0, out
    assert f"Database: {mask_url(db_url)}" in out
    assert f"Packs folder {packs}: in sync with the database" in out

    trigger = packs / "core" / "triggers" / "webhook.yaml"
    trigger.write_text(trigger.read_text().replace("label: ", "label: Edited ", 1))
    code, out = run(capsys, "status", str(packs), "--database", db_url)
    assert code == 1
    assert f"Packs folder {packs}: changes pending (0 to add, 1 to change, 0 to destroy)" in out

    code, document = run_json(capsys, "status", str(packs), "--database", db_url)
    assert code == 1
    assert document["database"] == mask_url(db_url)
    assert document["pending"]["changes"] == document["pending"]["update"] == 1


def test_status_without_a_packs_folder_reports_the_database_only(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(packs), "--database", sqlite_url)[0] == 0
    (packs / "core" / "triggers" / "webhook.yaml").unlink()  # not looked at
    code, document = run_json(capsys, "status", "--database", sqlite_url)
    assert code == 0
    assert "pending" not in document
    assert document["database"] == mask_url(sqlite_url)


def test_status_never_creates_a_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "typo.db"
    code, document = run_json(capsys, "status", "--database", f"sqlite:///{database}")
    assert code == 2
    assert str(database) in document["error"]
    assert "no sync has run" in document["error"]
    assert not database.exists()
    assert list(tmp_path.iterdir()) == []


def test_status_ignores_a_default_packs_folder_it_does_not_read(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    packs = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(packs), "--database", sqlite_url)[0] == 0
    monkeypatch.chdir(tmp_path)  # ./packs is the default PACKS_DIR...
    (packs / "pack.yaml").write_text("ref: oops\n")  # ...and it is a pack folder
    assert run(capsys, "status", "--database", sqlite_url)[0] == 0
    with pytest.raises(SystemExit) as stopped:
        run(capsys, "status", "packs", "--database", sqlite_url)
    assert stopped.value.code == 64
