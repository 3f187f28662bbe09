"""Every setting, declared once: its flag, environment variable, parser, default and help.

This is the one environment layer. argparse only collects what was typed (every default is
None); `resolve` then takes, for each option, the flag, else its environment variable, else
the default, parsing both texts with the same parser. A bad value is a UsageError naming
where it came from, so `ATTUNE_SYNC_ALLOW_MASS_DELETE=ture` fails like `--max-delete-share
nan` does instead of silently meaning "off".

To add an option: declare an `Option` here (or in the command's module) and list it in the
command's `options`; its value is then `values[dest]` in the command's settings builder.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..db.settings import check_schema_name
from ..setting_values import choice, parse_log_level, parse_share, parse_switch, parse_workers

DEFAULT_DATABASE_URL = "sqlite:///attune-sync.db"
"""Equal to db.engine.DEFAULT_DATABASE_URL (a test holds them equal); kept here so --help
does not import SQLAlchemy."""
DEFAULT_MAX_DELETE_SHARE = 0.5
"""Equal to planner.DEFAULT_MAX_DELETE_SHARE (a test holds them equal)."""
OUTPUT_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class Option:
    dest: str
    flag: str | None
    """`--name`; None for the positional PACKS_DIR."""
    env: str | None
    parse: Callable[[str], Any]
    default: Any
    help: str
    metavar: str | None = None
    switch: bool = False
    """A flag without a value: present means on."""
    required: bool = False
    """Must be typed (a positional like REF, or a flag); neither environment nor default."""

    @property
    def label(self) -> str:
        """How messages name the option."""
        return self.flag or self.metavar or self.dest


class Values:
    """The resolved value of each option of one command, and where it came from."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        self._values = values
        self._sources = sources

    def __getitem__(self, dest: str) -> Any:
        return self._values[dest]

    def source(self, dest: str) -> str:
        """'PACKS_DIR', '--database', 'ATTUNE_SYNC_DATABASE_URL' or 'default'."""
        return self._sources[dest]

    def given(self, dest: str) -> bool:
        """Set by a flag or an environment variable, not left at its default."""
        return self._sources[dest] != "default"


class UsageError(ValueError):
    """A bad setting: exit 64, naming the flag or environment variable it came from."""


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def checked(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {error}") from None

    checked.__name__ = getattr(parse, "__name__", "value")
    checked.choices = getattr(parse, "choices", None)  # type: ignore[attr-defined]
    return checked


def _help(option: Option) -> str:
    notes = []
    if option.env:
        notes.append(f"env {option.env}")
    if option.switch:
        notes.append("default off")
    elif option.default is not None:
        notes.append(f"default {option.default}")
    text = option.help + (f" ({'; '.join(notes)})" if notes else "")
    return text.replace("%", "%%")


def add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    """Register `option` with argparse, collecting only what is typed."""
    if option.switch:
        assert option.flag is not None
        parser.add_argument(
            option.flag, dest=option.dest, action="store_const", const=True, help=_help(option)
        )
    elif option.flag is None:
        parser.add_argument(
            option.dest,
            nargs=None if option.required else "?",
            metavar=option.metavar,
            type=_argparse_type(option.parse),
            help=_help(option),
        )
    else:
        parser.add_argument(
            option.flag,
            dest=option.dest,
            required=option.required,
            metavar=option.metavar,
            type=_argparse_type(option.parse),
            help=_help(option),
        )


def resolve(
    args: argparse.Namespace, options: Iterable[Option], environ: Mapping[str, str]
) -> Values:
    """Each option's value: the flag, else its environment variable, else its default."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in options:
        typed = getattr(args, option.dest, None)
        text = environ.get(option.env, "") if option.env else ""
        if typed is not None:
            values[option.dest], sources[option.dest] = typed, option.label
        elif text.strip():
            try:
                values[option.dest] = option.parse(text)
            except ValueError as error:
                raise UsageError(
                    f"argument {option.label}: invalid value {text!r} in environment "
                    f"variable {option.env}: {error}"
                ) from None
            sources[option.dest] = str(option.env)
        else:
            values[option.dest], sources[option.dest] = option.default, "default"
    return Values(values, sources)


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text


PACKS_DIR = Option(
    "packs_dir",
    None,
    "ATTUNE_SYNC_PACKS_DIR",
    _text,
    "packs",
    "folder of pack folders",
    metavar="PACKS_DIR",
)
DATABASE = Option(
    "database",
    "--database",
    "ATTUNE_SYNC_DATABASE_URL",
    _text,
    DEFAULT_DATABASE_URL,
    "SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db",
    metavar="URL",
)
DB_SCHEMA = Option(
    "db_schema",
    "--db-schema",
    "ATTUNE_SYNC_DB_SCHEMA",
    check_schema_name,
    None,
    "PostgreSQL only: the schema for attune-sync's tables, created by apply/watch if "
    "missing (default: the connection's own)",
    metavar="NAME",
)
OUTPUT = Option(
    "output",
    "--output",
    None,
    choice(*OUTPUT_FORMATS),
    "text",
    f"output for people or machines: {', '.join(OUTPUT_FORMATS)}",
    metavar="FORMAT",
)
LOG_FORMAT = Option(
    "log_format",
    "--log-format",
    "ATTUNE_SYNC_LOG_FORMAT",
    choice("auto", "json", "console"),
    "auto",
    "log lines: auto, json or console (auto: colour on a terminal, JSON otherwise)",
    metavar="FORMAT",
)
LOG_LEVEL = Option(
    "log_level",
    "--log-level",
    "ATTUNE_SYNC_LOG_LEVEL",
    parse_log_level,
    "info",
    "debug, info, warning, error or critical",
    metavar="LEVEL",
)
ALLOW_MASS_DELETE = Option(
    "allow_mass_delete",
    "--allow-mass-delete",
    "ATTUNE_SYNC_ALLOW_MASS_DELETE",
    parse_switch,
    False,
    "allow deleting every managed pack, more than --max-delete-share of the managed packs or "
    "objects, or every trigger and sensor of a pack that had several",
    switch=True,
)
MAX_DELETE_SHARE = Option(
    "max_delete_share",
    "--max-delete-share",
    "ATTUNE_SYNC_MAX_DELETE_SHARE",
    parse_share,
    DEFAULT_MAX_DELETE_SHARE,
    "largest share (0-1) of managed packs, and of managed objects, one run may delete",
    metavar="SHARE",
)

ADOPT = Option(
    "adopt",
    "--adopt",
    "ATTUNE_SYNC_ADOPT",
    parse_switch,
    False,
    "take over a pack made outside attune-sync (through the API) when a folder's pack.yaml "
    "declares its ref; without it that folder is a clash and the pack is left alone",
    switch=True,
)

FULL_COMPARE = Option(
    "full_compare",
    "--full-compare",
    "ATTUNE_SYNC_FULL_COMPARE",
    parse_switch,
    False,
    "parse every file and compare the whole database, ignoring what earlier applies stored "
    "(the read cache and the settled mark): for doubt, or to measure",
    switch=True,
)

READ_WORKERS = Option(
    "read_workers",
    "--read-workers",
    "ATTUNE_SYNC_READ_WORKERS",
    parse_workers,
    None,
    "worker processes that parse pack files when a read has many to parse (a cold sync); "
    "0 or 1 parses in this process (default: one per usable CPU)",
    metavar="N",
)
"""Process-wide, like the log settings: `app.main` hands it to `parse_ahead.configure_workers`."""

APPLY_VALUES_UP_TO = 50
"""`apply` prints each change with its values (as `diff` does) for a plan of up to this many
changes; past it, one line per change (heading and, for an update, the changed fields' names)
unless --verbose. A change prints about 7 lines with its values (a cold apply of the standard
tree: 290,002 lines for 41,000 changes), so 50 keeps the full form to a few hundred lines,
while the plans people read value by value (a few edited files, one new pack: the standard
tree's packs are 41 objects each) stay whole; `diff` always shows everything."""
VERBOSE = Option(
    "verbose",
    "--verbose",
    "ATTUNE_SYNC_VERBOSE",
    parse_switch,
    False,
    f"print every change's values however many changes there are (past {APPLY_VALUES_UP_TO} "
    "changes apply prints one line per change: kind, ref and changed field names)",
    switch=True,
)

COMMON = (PACKS_DIR, DATABASE, DB_SCHEMA, OUTPUT, LOG_FORMAT, LOG_LEVEL)
"""Every command's options."""
GUARDS = (ALLOW_MASS_DELETE, MAX_DELETE_SHARE, ADOPT)
"""The deletion guard's options, for every command that plans."""
OFFLINE_DATABASE = replace(
    DATABASE,
    default=None,
    help="SQLAlchemy URL to resolve refs against; without it only the tree is checked",
)
