"""--history-limit, for the commands that record runs (apply, watch); --db-schema, which every
command takes, is in options.COMMON. Parsed without loading SQLAlchemy (for --help)."""

from __future__ import annotations

from ..db.settings import DEFAULT_HISTORY_LIMIT, parse_history_limit
from .options import Option

HISTORY_LIMIT = Option(
    "history_limit",
    "--history-limit",
    "ATTUNE_SYNC_HISTORY_LIMIT",
    parse_history_limit,
    DEFAULT_HISTORY_LIMIT,
    "rows of run history to keep, 0 for all (idle repeats share a row)",
    metavar="N",
)
