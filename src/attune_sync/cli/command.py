"""What a command is: its options, its exit-code table, how it builds its settings and runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from .options import Option, Values


class ExitCode(IntEnum):
    """One command's exit codes, each with what it means (shown by --help and the README).

    Each command has its own table, so the same number may mean different things to
    different commands without two constants of one name disagreeing.
    """

    meaning: str

    def __new__(cls, code: int, meaning: str) -> Self:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member


USAGE_MEANING = "usage error: a bad flag, argument or environment variable (named in the message)"
USAGE = 64


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: registered by app.py from its module's COMMAND.

    `settings` turns the resolved option values into the command's typed settings (raising
    UsageError for a bad combination); `run` gets those settings and returns an exit code.
    Both import what they need inside, so `--help` loads no database driver or daemon.
    """

    name: str
    summary: str
    options: tuple[Option, ...]
    exits: type[ExitCode]
    settings: Callable[[Values], Any]
    run: Callable[[Any], int]
    crashed: int
    """The exit code when `run` raises something unexpected (never one that means success or
    "changes pending")."""
    precedence: str = ""
    """Which exit code wins when several apply."""

    def epilog(self) -> str:
        lines = ["exit codes:"]
        lines += [f"  {int(code):>3}  {code.meaning}" for code in self.exits]
        if self.precedence:
            lines.append(f"  When several apply: {self.precedence}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CommandGroup:
    """A command with subcommands of its own (`attune-sync override list|clear`)."""

    name: str
    summary: str
    commands: tuple[Command | CommandGroup, ...]


def leaf_commands(
    entries: tuple[Command | CommandGroup, ...], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every runnable command with the words that name it (`("override", "list")`)."""
    for entry in entries:
        words = (*prefix, entry.name)
        if isinstance(entry, CommandGroup):
            yield from leaf_commands(entry.commands, words)
        else:
            yield words, entry
