"""Settings: one environment layer, every bad value a usage error naming where it came from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attune_sync.cli import COMMANDS, leaf_commands, main, parse
from attune_sync.cli.app import _Parser, register
from attune_sync.cli.command import Command, CommandGroup, ExitCode
from attune_sync.cli.options import Option, Values, resolve
from cli.helpers import copy_bundled


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run argv, expecting exit 64; the error text."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 64
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("apply", "ATTUNE_SYNC_ALLOW_MASS_DELETE", "ture"),
        ("watch", "ATTUNE_SYNC_FORCE_POLLING", "maybe"),
        ("diff", "ATTUNE_SYNC_LOG_FORMAT", "xml"),
        ("diff", "ATTUNE_SYNC_LOG_LEVEL", "verbose"),
        ("apply", "ATTUNE_SYNC_MAX_DELETE_SHARE", "nan"),
        ("watch", "ATTUNE_SYNC_LISTEN", "127.0.0.1:99999"),
        ("watch", "ATTUNE_SYNC_FULL_SYNC_INTERVAL", "inf"),
        ("watch", "ATTUNE_SYNC_RUN_TIMEOUT", "nan"),
        ("watch", "ATTUNE_SYNC_BACKOFF_MAX", "0"),
        ("watch", "ATTUNE_SYNC_SHUTDOWN_TIMEOUT", "-1"),
        ("watch", "ATTUNE_SYNC_DRIFT", "ignore"),
        ("apply", "ATTUNE_SYNC_READ_WORKERS", "all"),
    ],
)
def test_a_bad_environment_variable_is_a_usage_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    err = usage_error(capsys, [command, str(tmp_path)])
    assert variable in err
    assert repr(value) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        ("diff", "--log-level", "verbose"),
        ("watch", "--listen", "host:99999"),
        ("watch", "--listen", "[::1:8080"),
        ("apply", "--max-delete-share", "nan"),
        ("apply", "--max-delete-share", "1.5"),
        ("diff", "--max-delete-share", "-0.1"),
        ("watch", "--full-sync-interval", "nan"),
        ("watch", "--run-timeout", "inf"),
        ("watch", "--run-timeout", "0"),
        ("watch", "--backoff-max", "-3"),
        ("watch", "--shutdown-timeout", "nan"),
        ("watch", "--quiet-period", "1.5"),
        ("status", "--runs", "0"),
        ("validate", "--output", "xml"),
        ("validate", "--read-workers", "-1"),
        ("diff", "--read-workers", "1.5"),
    ],
)
def test_a_bad_flag_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, flag: str, value: str
) -> None:
    err = usage_error(capsys, [command, str(tmp_path), flag, value])
    assert f"argument {flag}: invalid value {value!r}" in err
    assert "Traceback" not in err


def test_the_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTUNE_SYNC_MAX_DELETE_SHARE", "0.9")
    assert parse(["diff"])[2].options.max_delete_share == 0.9
    assert parse(["diff", "--max-delete-share", "0.2"])[2].options.max_delete_share == 0.2
    # A flag given on the command line is not re-checked against a bad variable.
    monkeypatch.setenv("ATTUNE_SYNC_MAX_DELETE_SHARE", "nan")
    assert parse(["diff", "--max-delete-share", "0"])[2].options.max_delete_share == 0


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF", ""])
def test_switch_words_that_mean_off(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    monkeypatch.setenv("ATTUNE_SYNC_ALLOW_MASS_DELETE", word)
    assert parse(["apply"])[2].options.allow_mass_delete is False


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_packs_dir_that_is_a_pack_folder_suggests_its_parent(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    source: str,
) -> None:
    root = copy_bundled(tmp_path / "packs")
    pack = root / "core"
    assert (pack / "pack.yaml").is_file()
    if source == "environment":
        monkeypatch.setenv("ATTUNE_SYNC_PACKS_DIR", str(pack))
        err = usage_error(capsys, ["validate"])
        assert "ATTUNE_SYNC_PACKS_DIR" in err
    else:
        err = usage_error(capsys, ["validate", str(pack)])
        assert "PACKS_DIR" in err
    assert "is itself a pack folder" in err
    assert repr(str(root.resolve())) in " ".join(err.split())


def test_help_lists_every_variable_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    for words, command in leaf_commands(COMMANDS):
        capsys.readouterr()
        with pytest.raises(SystemExit) as stopped:
            main([*words, "--help"])
        assert stopped.value.code == 0
        out = capsys.readouterr().out
        flat = " ".join(out.split())
        for option in command.options:
            if option.env:
                assert option.env in flat, (command.name, option.env)
            assert option.label in flat, (command.name, option.label)
        codes = re.findall(r"^\s+(\d+)  (.+)$", out.split("exit codes:", 1)[1], re.MULTILINE)
        assert [(int(code), text) for code, text in codes] == [
            (int(code), code.meaning) for code in command.exits
        ]
        assert {0, 64} <= {int(code) for code in command.exits}
        assert "When several apply:" in out


def test_defaults_shown_are_the_defaults_used() -> None:
    from attune_sync.cli import options, watch
    from attune_sync.daemon import settings as daemon
    from attune_sync.db.engine import DEFAULT_DATABASE_URL
    from attune_sync.planner import DEFAULT_MAX_DELETE_SHARE

    assert options.DEFAULT_DATABASE_URL == DEFAULT_DATABASE_URL
    assert options.DEFAULT_MAX_DELETE_SHARE == DEFAULT_MAX_DELETE_SHARE
    assert (
        watch.DEFAULT_QUIET_PERIOD_MS,
        watch.DEFAULT_FULL_SYNC_INTERVAL_S,
        watch.DEFAULT_LISTEN,
        watch.DEFAULT_RUN_TIMEOUT_S,
        watch.DEFAULT_SHUTDOWN_TIMEOUT_S,
        watch.DEFAULT_BACKOFF_MAX_S,
    ) == (
        daemon.DEFAULT_QUIET_PERIOD_MS,
        daemon.DEFAULT_FULL_SYNC_INTERVAL_S,
        daemon.DEFAULT_LISTEN,
        daemon.DEFAULT_RUN_TIMEOUT_S,
        daemon.DEFAULT_SHUTDOWN_TIMEOUT_S,
        daemon.DEFAULT_BACKOFF_MAX_S,
    )


def test_the_readme_settings_table_has_every_option() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    for _, command in leaf_commands(COMMANDS):
        for option in command.options:
            if option.env:
                assert f"| `{option.env}` |" in table, option.env
            if option.flag:
                assert f"| `{option.flag}" in table, option.flag


class ClearExit(ExitCode):
    CLEARED = 0, "cleared"
    USAGE_ERROR = 64, "usage"


def _ref(values: Values) -> str:
    return str(values["ref"])


def test_a_group_registers_subcommands_with_required_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = Option("ref", None, None, str, None, "the ref", metavar="REF", required=True)
    clear = Command(
        name="clear",
        summary="end one override",
        options=(ref,),
        exits=ClearExit,
        settings=_ref,
        run=lambda _ref: 0,
        crashed=2,
    )
    group = CommandGroup("override", "list or clear overrides", (clear,))
    parser = _Parser(prog="attune-sync")
    register(parser.add_subparsers(dest="command", required=True, parser_class=_Parser), group)

    args = parser.parse_args(["override", "clear", "core.webhook"])
    assert args._command is clear
    assert clear.settings(resolve(args, clear.options, {})) == "core.webhook"
    assert list(leaf_commands((group,))) == [(("override", "clear"), clear)]
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["override", "clear"])
    assert stopped.value.code == 64
    assert "REF" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["diff", "apply", "watch", "status"])
def test_adopt_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    assert parse([command])[2].options.adopt is False
    assert parse([command, "--adopt"])[2].options.adopt is True
    monkeypatch.setenv("ATTUNE_SYNC_ADOPT", "yes")
    assert parse([command])[2].options.adopt is True


def test_a_bad_adopt_variable_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATTUNE_SYNC_ADOPT", "ture")
    assert "ATTUNE_SYNC_ADOPT" in usage_error(capsys, ["apply"])
