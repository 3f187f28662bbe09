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
