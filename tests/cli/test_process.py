"""The CLI as a user runs it: a separate process, its pipes, its terminal, what it loads."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from cli.helpers import copy_bundled

HEAVY = ("watchfiles", "prometheus_client", "psycopg", "attune_sync.daemon")
"""What --help, validate and diff must not load (issue 11: they import only what they use)."""

LOADED = """
import sys
from attune_sync.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print("LOADED", *sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


LOG_A_LINE = """
import structlog
from attune_sync.logs import configure_logging
configure_logging("auto", "info")
structlog.get_logger("attune_sync").warning("disk almost full", free="1%")
"""


def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "attune_sync.cli", *argv]


@pytest.mark.parametrize("command", ["help", "validate", "diff"])
def test_one_shot_commands_load_only_what_they_use(tmp_path: Path, command: str) -> None:
    packs = copy_bundled(tmp_path / "packs")
    argv = {
        "help": ["--help"],
        "validate": ["validate", str(packs)],
        "diff": ["diff", str(packs), "--database", f"sqlite:///{tmp_path / 'x.db'}"],
    }[command]
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded == ["LOADED"], result.stderr


SETTLED_SKIPS = ("attune_sync.planner", "attune_sync.reader", "jsonschema", "alembic")
"""What a `diff` or `apply` the settled mark answers never loads (docs/performance.md)."""


@pytest.mark.parametrize("command", ["diff", "apply"])
def test_a_command_the_settled_mark_answers_loads_no_planner(tmp_path: Path, command: str) -> None:
    packs = copy_bundled(tmp_path / "packs")
    database = f"sqlite:///{tmp_path / 'x.db'}"
    first = subprocess.run(cli("apply", str(packs), "--database", database), check=False)
    assert first.returncode == 0
    argv = [command, str(packs), "--database", database]
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(heavy=SETTLED_SKIPS), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 to add, 0 to change, 0 to destroy" in result.stdout
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded == ["LOADED"], result.stderr


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`attune-sync validate | head -0`: the reader is gone before the first line."""
    packs = copy_bundled(tmp_path / "packs")
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        result = subprocess.run(
            cli("validate", str(packs)), stdout=write_end, stderr=subprocess.PIPE, check=False
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert b"Traceback" not in result.stderr
    assert b"BrokenPipeError" not in result.stderr


def run_on_terminal(argv: list[str], env: dict[str, str]) -> bytes:
    """Run argv with stdout and stderr on a pseudo-terminal; everything it wrote."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdout=terminal, stderr=terminal, env=env)
    finally:
        os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal's last writer
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    process.wait()
    return b"".join(chunks)


@pytest.mark.parametrize("no_color", [None, "1"])
def test_no_color_is_respected(tmp_path: Path, no_color: str | None) -> None:
    packs = copy_bundled(tmp_path / "packs")
    (packs / "core" / "pack.yaml").write_text("ref: core\nlabel: [\n")  # an error to print
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm"
    if no_color is not None:
        env["NO_COLOR"] = no_color
    database = f"sqlite:///{tmp_path / 'x.db'}"
    # diff prints the plan on stdout and, with console logs, log lines on stderr.
    written = run_on_terminal(
        cli("diff", str(packs), "--database", database, "--log-level", "debug"), env
    )
    assert b"error" in written
    assert (b"\x1b[" in written) is (no_color is None), written[:2000]
    # Log lines on a terminal: the console renderer's colours follow the same rule.
    logged = run_on_terminal([sys.executable, "-c", LOG_A_LINE], env)
    assert b"disk almost full" in logged
    assert (b"\x1b[" in logged) is (no_color is None), logged
