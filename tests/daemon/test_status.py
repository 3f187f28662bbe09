"""`attune-sync status`: what the database says, for a person."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from attune_sync.cli import main
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.sync import sync

from .helpers import write, write_pack


def _synced(packs: Path, url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sync(engine, str(packs))
    engine.dispose()


def test_in_sync(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    _synced(packs, db_url)
    assert main(["status", "--database", db_url]) == 0
    out = capsys.readouterr().out
    assert "applied   +2 ~0 -0" in out
    assert "alpha: in sync (folder alpha)" in out


def test_invalid_and_held_back(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    write_pack(packs / "beta", "beta", {"one": "One"})
    _synced(packs, sqlite_url)
    write(packs / "beta/triggers/one.yaml", "ref: beta.one\nlable: misspelt\n")
    shutil.rmtree(packs / "alpha")  # 1 of 2 managed packs: within the 50 % limit, deleted
    _synced(packs, sqlite_url)
    assert main(["status", "--database", sqlite_url]) == 1
    out = capsys.readouterr().out
    assert "beta: INVALID" in out
    assert "label" in out.split("beta: INVALID", 1)[1]
    assert main(["status", "--database", sqlite_url, "--output", "json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["packs"]["beta"]["state"] == "invalid"
    assert status["runs"][0]["result"] in ("invalid", "held_back")


def test_held_back_mass_delete(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    _synced(packs, sqlite_url)
    shutil.rmtree(packs / "alpha")
    _synced(packs, sqlite_url)
    assert main(["status", "--database", sqlite_url]) == 1
    out = capsys.readouterr().out
    assert "alpha: HELD BACK" in out
    assert "--allow-mass-delete" in out


def test_never_synced_database(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--database", sqlite_url]) == 2
    assert "no sync has run" in capsys.readouterr().err


def test_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nothing"
    assert main(["status", "--database", url]) == 2
    assert "cannot connect" in capsys.readouterr().err


def test_repeated_idle_runs_show_as_one_line(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    for _ in range(4):
        _synced(packs, db_url)
    assert main(["status", "--database", db_url, "--output", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(run["result"], run["run_count"]) for run in runs] == [("noop", 3), ("applied", 1)]
    assert main(["status", "--database", db_url]) == 0
    assert "noop      +0 ~0 -0 (x3, until " in capsys.readouterr().out


def test_status_creates_no_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "never.db"
    assert main(["status", "--database", f"sqlite:///{database}"]) == 2
    assert "no sync has run" in capsys.readouterr().err
    assert not database.exists()
