"""Options, environment variables and configuration errors of `watch`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from attune_sync.cli import main, parse
from attune_sync.daemon import Settings


def _parse(argv: list[str]) -> list[str]:
    return ["watch", *argv]


def settings_from_args(argv: list[str]) -> Any:
    """The daemon's Settings that `attune-sync watch ARGV` builds in this environment."""
    settings = parse(argv, os.environ)[2]
    assert isinstance(settings, Settings)
    return settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings_from_args(_parse([]))
    assert (defaults.quiet_period, defaults.full_sync_interval, defaults.drift) == (
        0.3,
        60.0,
        "revert",
    )
    assert defaults.listen == "127.0.0.1:8080"  # issue 10 §3: loopback by default
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


def test_unusable_database_exits_2(tmp_path: Path) -> None:
    argv = ["--database", "mysql://nope/db"]
    assert main(["watch", str(tmp_path), "--log-format", "json", *argv]) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--listen", "no-port-here"],
        ["--quiet-period", "0"],
    ],
)
def test_unusable_settings_are_usage_errors(tmp_path: Path, argv: list[str]) -> None:
    # Issue 10 section 6: every bad setting is a usage error (64); these exited 2 before.
    with pytest.raises(SystemExit) as stopped:
        main(["watch", str(tmp_path), "--log-format", "json", *argv])
    assert stopped.value.code == 64


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
    for word in ("1", "true", "YES", "On"):
        monkeypatch.setenv("ATTUNE_SYNC_FORCE_POLLING", word)
        assert settings_from_args(_parse([])).force_polling
    monkeypatch.setenv("ATTUNE_SYNC_FORCE_POLLING", "0")
    assert not settings_from_args(_parse([])).force_polling
