"""--db-schema and --history-limit: parsed like every option, and carried to the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.cli import main, parse
from attune_sync.daemon import Daemon
from attune_sync.db.engine import HISTORY_LIMIT_OPTION, SCHEMA_OPTION


def test_database_settings_reach_the_daemon(pg_url: str, tmp_path: Path) -> None:
    _, _, defaults = parse(["watch", str(tmp_path)], environ={})
    assert (defaults.db_schema, defaults.history_limit) == (None, 1000)
    environ = {"ATTUNE_SYNC_DB_SCHEMA": "sync", "ATTUNE_SYNC_HISTORY_LIMIT": "5"}
    argv = ["watch", str(tmp_path), "--database", pg_url, "--listen", "off"]
    _, _, settings = parse(argv, environ=environ)
    assert (settings.db_schema, settings.history_limit) == ("sync", 5)
    daemon = Daemon(settings)
    try:
        options = daemon.engine.get_execution_options()
        assert (options[SCHEMA_OPTION], options[HISTORY_LIMIT_OPTION]) == ("sync", 5)
        with daemon.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW search_path").scalar() == "sync"
    finally:
        daemon.engine.dispose()


@pytest.mark.parametrize("value", ["-1", "many", "1.5"])
def test_a_bad_history_limit_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTUNE_SYNC_HISTORY_LIMIT", value)
    with pytest.raises(SystemExit) as caught:
        main(["apply", "packs"])
    assert caught.value.code == 64
    assert "ATTUNE_SYNC_HISTORY_LIMIT" in capsys.readouterr().err
    monkeypatch.delenv("ATTUNE_SYNC_HISTORY_LIMIT")
    with pytest.raises(SystemExit) as caught:
        main(["watch", "packs", "--history-limit", value])
    assert caught.value.code == 64
    assert "--history-limit" in capsys.readouterr().err


def test_history_limit_is_only_for_commands_that_record_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["diff", "packs", "--history-limit", "5"])
    assert caught.value.code == 64
