"""Database settings checked without loading SQLAlchemy (the CLI parses them for --help too)."""

from __future__ import annotations

import re

DEFAULT_HISTORY_LIMIT = 1000
"""Rows of run history kept (`db.runs`); 0 keeps them all."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_schema_name(name: str) -> str:
    """`name` if it can be attune-sync's PostgreSQL schema, else ValueError saying why.

    Lower-case and plain, so it needs no quoting anywhere (search_path, CREATE SCHEMA) and
    PostgreSQL does not fold it into another name.
    """
    if not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(
            f"database schema name {name!r}: use 1-63 lower-case letters, digits and _, "
            "not starting with a digit (e.g. attune_sync)"
        )
    return name


def parse_history_limit(text: str) -> int:
    """A whole number of runs, 0 (keep all) or more."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number of runs, 0 (keep all) or more") from None
    if value < 0:
        raise ValueError("expected a whole number of runs, 0 (keep all) or more")
    return value
