"""The database settings every command shares: --db-schema and --history-limit.

Registered by cli.py (and, through it, `watch` and `status`); the values go straight to
`db.engine.make_engine` / `db.reading.open_for_reading` via `engine_options`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .db.engine import DEFAULT_HISTORY_LIMIT, check_schema_name
from .envvars import env_default

SCHEMA_ENV = "ATTUNE_SYNC_DB_SCHEMA"
HISTORY_LIMIT_ENV = "ATTUNE_SYNC_HISTORY_LIMIT"


def _schema(text: str) -> str:
    try:
        return check_schema_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error} (from --db-schema or {SCHEMA_ENV})") from None


def _history_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of runs, 0 or more (from --history-limit or "
            f"{HISTORY_LIMIT_ENV})"
        )
    return value


def add_database_options(sub: argparse.ArgumentParser) -> None:
    """--db-schema, for every command that opens a database."""
    sub.add_argument(
        "--db-schema",
        type=_schema,
        default=os.environ.get(SCHEMA_ENV) or None,
        metavar="NAME",
        help="PostgreSQL schema for attune-sync's tables, created if missing "
        f"(env {SCHEMA_ENV}; default: the connection's default schema)",
    )


def add_history_option(sub: argparse.ArgumentParser) -> None:
    """--history-limit, for the commands that record runs (apply, watch)."""
    sub.add_argument(
        "--history-limit",
        type=_history_limit,
        default=env_default(HISTORY_LIMIT_ENV, DEFAULT_HISTORY_LIMIT),
        metavar="N",
        help="keep the newest N rows of run history, 0 for all "
        f"(env {HISTORY_LIMIT_ENV}, default {DEFAULT_HISTORY_LIMIT})",
    )


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for make_engine from the parsed options."""
    options: dict[str, Any] = {"schema": getattr(args, "db_schema", None)}
    if getattr(args, "history_limit", None) is not None:
        options["history_limit"] = args.history_limit
    return options
