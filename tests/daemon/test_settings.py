"""Options, environment variables and configuration errors of `watch`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from attune_sync.cli import add_common_options as _common
from attune_sync.cli import add_guard_options as _guards
from attune_sync.cli import main
from attune_sync.daemon.commands import add_watch_parser, settings_from_args


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_watch_parser(parser.add_subparsers(dest="command"), _common, _guards)
    return parser.parse_args(["watch", *argv])


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings_from_args(_parse([]))
    assert (defaults.quiet_period, defaults.full_sync_interval, defaults.drift) == (
        0.3,
        60.0,
        "revert",
    )
    assert defaults.listen == "0.0.0.0:8080"
    monkeypatch.setenv("ATTUNE_SYNC_QUIET_PERIOD", "750")
    monkeypatch.setenv("ATTUNE_SYNC_DRIFT", "report")
    monkeypatch.setenv("ATTUNE_SYNC_LISTEN", "off")
    monkeypatch.setenv("ATTUNE_SYNC_FORCE_POLLING", "true")
    monkeypatch.setenv("ATTUNE_SYNC_RUN_TIMEOUT", "7")
    configured = settings_from_args(_parse([]))
    assert configured.quiet_period == 0.75
    assert configured.drift == "report"
    assert configured.listen is None
    assert configured.force_polling is True
    assert configured.run_timeout == 7
    assert settings_from_args(_parse(["--quiet-period", "50"])).quiet_period == 0.05


@pytest.mark.parametrize(
    "argv",
    [
        ["--database", "mysql://nope/db"],
        ["--listen", "no-port-here"],
        ["--quiet-period", "0"],
    ],
)
def test_unusable_configuration_exits_2(tmp_path: Path, argv: list[str]) -> None:
    assert main(["watch", str(tmp_path), "--log-format", "json", *argv]) == 2


@pytest.mark.parametrize(
    ("variable", "value", "option"),
    [
        ("ATTUNE_SYNC_QUIET_PERIOD", "abc", "--quiet-period"),
        ("ATTUNE_SYNC_DRIFT", "bogus", "--drift"),
        ("ATTUNE_SYNC_MAX_DELETE_SHARE", "half", "--max-delete-share"),
    ],
)
def test_a_bad_environment_value_is_a_usage_error_naming_its_option(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variable: str,
    value: str,
    option: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        main(["watch", str(tmp_path), "--listen", "off"])
    assert stopped.value.code == 64
    assert f"argument {option}" in capsys.readouterr().err


def test_switches_read_the_same_words_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from attune_sync.envvars import env_flag

    for word in ("1", "true", "YES", "On"):
        monkeypatch.setenv("ATTUNE_SYNC_X", word)
        assert env_flag("ATTUNE_SYNC_X")
    monkeypatch.setenv("ATTUNE_SYNC_X", "0")
    assert not env_flag("ATTUNE_SYNC_X")


def test_database_settings_reach_the_daemon(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, tmp_path: Path
) -> None:
    defaults = settings_from_args(_parse([]))
    assert (defaults.db_schema, defaults.history_limit) == (None, 1000)
    monkeypatch.setenv("ATTUNE_SYNC_DB_SCHEMA", "sync")
    monkeypatch.setenv("ATTUNE_SYNC_HISTORY_LIMIT", "5")
    settings = settings_from_args(_parse(["--database", pg_url, "--listen", "off"]))
    assert (settings.db_schema, settings.history_limit) == ("sync", 5)
    from attune_sync.daemon import Daemon
    from attune_sync.db.engine import HISTORY_LIMIT_OPTION, SCHEMA_OPTION

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
