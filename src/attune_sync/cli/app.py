"""The `attune-sync` program: registers each command's module and runs the one asked for.

To add a command: write a module with a `COMMAND` (see command.py) and list it in COMMANDS;
a command with subcommands of its own is a `CommandGroup` of them.
To add an option: declare an `Option` (options.py) and add it to the command's `options`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from ..api.commands import OVERRIDE, SERVE
from . import apply, diff, schema, status, validate, watch, workflow
from .command import USAGE, Command, CommandGroup
from .options import READ_WORKERS, UsageError, Values, add_option, resolve

COMMANDS: tuple[Command | CommandGroup, ...] = (
    validate.COMMAND,
    diff.COMMAND,
    apply.COMMAND,
    watch.COMMAND,
    status.COMMAND,
    schema.COMMAND,
    SERVE,
    OVERRIDE,
    workflow.COMPLETION,
)

EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what the shell reports for a program whose reader went away (`| head`)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="attune-sync",
        description="Keep the Attune database equal to a folder of pack files.",
        epilog="Every command's --help lists its options, their environment variables and "
        "its exit codes. A bad flag or environment variable exits 64.",
    )
    from ..version import version  # workflow: --version

    parser.add_argument("--version", action="version", version=f"attune-sync {version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for entry in COMMANDS:
        register(commands, entry)
    return parser


def register(
    commands: argparse._SubParsersAction[_Parser],
    entry: Command | CommandGroup,
) -> None:
    """Add one command, or a group and its subcommands, to `commands`."""
    if isinstance(entry, CommandGroup):
        group = commands.add_parser(entry.name, help=entry.summary, description=entry.summary)
        nested = group.add_subparsers(
            dest=f"{entry.name}_command", required=True, parser_class=_Parser
        )
        for child in entry.commands:
            register(nested, child)
        return
    sub = commands.add_parser(
        entry.name,
        help=entry.summary,
        description=entry.summary,
        epilog=entry.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option in entry.options:
        add_option(sub, option)
    sub.set_defaults(_command=entry, _parser=sub)


def parse(
    argv: Sequence[str] | None, environ: Mapping[str, str] | None = None
) -> tuple[Command, Values, Any]:
    """The command asked for, its option values, and its typed settings.

    A bad flag, argument or environment variable exits 64 (SystemExit), naming it.
    """
    args = build_parser().parse_args(argv)
    command: Command = args._command
    try:
        values = resolve(args, command.options, os.environ if environ is None else environ)
        settings = command.settings(values)
    except UsageError as error:
        args._parser.error(str(error))
    return command, values, settings


def main(argv: Sequence[str] | None = None) -> int:
    command, values, settings = parse(argv)
    from ..logs import configure_logging

    configure_logging(values["log_format"], values["log_level"])
    if READ_WORKERS in command.options:  # process-wide, like the logging
        from ..parse_ahead import configure_workers

        configure_workers(values["read_workers"])
    try:
        code = command.run(settings)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (say `| head`) has gone: stop quietly. Point stdout at /dev/null so the
        # interpreter's own flush at exit does not raise a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:
        return _crashed(command, values, error)
    return int(code)


def _crashed(command: Command, values: Values, error: Exception) -> int:
    """An unexpected error: the traceback goes to the log, one line to the user, and the
    command's own trouble code (a crashed `diff` must not read as "changes pending")."""
    import structlog

    from .common import fail

    structlog.get_logger("attune_sync").exception("unexpected error", command=command.name)
    message = f"{command.name} failed unexpectedly: {type(error).__name__}: {error}"
    return fail(str(values["output"]), message, command.crashed)
