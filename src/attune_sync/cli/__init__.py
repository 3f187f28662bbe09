"""The `attune-sync` command line: one module per command, registered by app.py.

`attune_sync.cli:main` is the console script's entry point. Importing this package loads only
argparse and the option tables, so `attune-sync --help` stays fast; each command imports the
core, the database edge or the daemon when it runs.
"""

from __future__ import annotations

from .app import COMMANDS, build_parser, main, parse
from .command import leaf_commands

__all__ = ["COMMANDS", "build_parser", "leaf_commands", "main", "parse"]
