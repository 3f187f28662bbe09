"""An unexpected error exits with the command's trouble code, never one that means success."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from attune_sync.cli import main
from cli.helpers import copy_bundled, run_json


def database_from_a_newer_version(path: Path) -> str:
    """A SQLite database stamped with a migration this version does not know."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    return f"sqlite:///{path}"


@pytest.mark.parametrize(("command", "code"), [("diff", 2), ("validate", 2), ("apply", 1)])
def test_a_crash_is_trouble_not_changes_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, code: int
) -> None:
    packs = copy_bundled(tmp_path / "packs")
    url = database_from_a_newer_version(tmp_path / "newer.db")
    argv = (command, str(packs), "--database", url, "--log-format", "json")
    capsys.readouterr()
    assert main(list(argv)) == code
    err = capsys.readouterr().err
    assert f"error: {command} failed unexpectedly: CommandError" in err
    returned, document = run_json(capsys, *argv)
    assert returned == code
    assert "9999" in document["error"]
