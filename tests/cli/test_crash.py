"""An unexpected error exits with the command's trouble code, never one that means success."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.cli import main
from attune_sync.db import migrate, reading
from cli.helpers import copy_bundled, run_json


def _crash(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom 9999")


@pytest.mark.parametrize(("command", "code"), [("diff", 2), ("validate", 2), ("apply", 1)])
def test_a_crash_is_trouble_not_changes_pending(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    code: int,
) -> None:
    # A bug where the database is opened. (This used a database of a newer version, which is
    # now refused on purpose with its own message: tests/cli/test_read_only.py.)
    monkeypatch.setattr(reading, "open_for_reading", _crash)
    monkeypatch.setattr(migrate, "upgrade", _crash)
    packs = copy_bundled(tmp_path / "packs")
    url = f"sqlite:///{tmp_path / 'any.db'}"
    argv = (command, str(packs), "--database", url, "--log-format", "json")
    capsys.readouterr()
    assert main(list(argv)) == code
    err = capsys.readouterr().err
    assert f"error: {command} failed unexpectedly: RuntimeError" in err
    returned, document = run_json(capsys, *argv)
    assert returned == code
    assert "9999" in document["error"]
