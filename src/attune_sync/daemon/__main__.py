"""`python -m attune_sync.daemon watch|status`: the daemon commands before cli.py wires them.

Uses the same option helpers as cli.py would pass in, reproduced here (see `_common`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..logs import configure_logging
from ..planner import DEFAULT_MAX_DELETE_SHARE
from .commands import add_status_parser, add_watch_parser, cmd_status, cmd_watch


def _common(sub: argparse.ArgumentParser, database_default: str | None) -> None:
    sub.add_argument(
        "packs_dir",
        nargs="?",
        default=os.environ.get("ATTUNE_SYNC_PACKS_DIR", "packs"),
        metavar="PACKS_DIR",
    )
    sub.add_argument(
        "--database",
        default=os.environ.get("ATTUNE_SYNC_DATABASE_URL", database_default),
        metavar="URL",
    )
    sub.add_argument("--output", choices=("text", "json"), default="text")
    sub.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default=os.environ.get("ATTUNE_SYNC_LOG_FORMAT", "auto"),
    )
    sub.add_argument("--log-level", default=os.environ.get("ATTUNE_SYNC_LOG_LEVEL", "info"))


def _guards(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--allow-mass-delete",
        action="store_true",
        default=os.environ.get("ATTUNE_SYNC_ALLOW_MASS_DELETE", "") in ("1", "true", "yes"),
    )
    sub.add_argument(
        "--max-delete-share",
        type=float,
        default=float(os.environ.get("ATTUNE_SYNC_MAX_DELETE_SHARE") or DEFAULT_MAX_DELETE_SHARE),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attune-sync")
    commands = parser.add_subparsers(dest="command", required=True)
    add_watch_parser(commands, _common, _guards)
    add_status_parser(commands, _common)
    args = parser.parse_args(argv)
    configure_logging(args.log_format, args.log_level)
    return cmd_watch(args) if args.command == "watch" else cmd_status(args)


if __name__ == "__main__":
    sys.exit(main())
