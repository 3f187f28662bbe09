"""Engines for SQLite (the default) and PostgreSQL (production), set up for atomic applies."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from attune_sync.db.settings import DEFAULT_HISTORY_LIMIT, check_schema_name

DEFAULT_DATABASE_URL = "sqlite:///attune-sync.db"
"""A database file in the current directory."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10

SQLITE_BEGIN_OPTION = "sqlite_begin"
"""Execution option naming the SQLite BEGIN flavour of a connection's transactions.

Default "IMMEDIATE": the write lock is taken up front, so a read-then-write transaction never
fails half-way with SQLITE_BUSY (lock upgrades ignore busy_timeout in WAL mode). Pass
``conn.execution_options(sqlite_begin="DEFERRED")`` before the first statement for a pure
reader that must not wait for a running apply.
"""

_SQLITE_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

HISTORY_LIMIT_OPTION = "attune_sync_history_limit"
"""Execution option: how many `sync_run` rows to keep (see `db.runs`); 0 keeps them all."""
SCHEMA_OPTION = "attune_sync_schema"
"""Execution option naming the PostgreSQL schema given to `make_engine` (None: default)."""


_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def dumps_json(value: Any) -> str:
    """JSON for both backends, refusing what PostgreSQL's jsonb would refuse.

    NaN/Infinity and NUL characters are accepted by SQLite but rejected by jsonb; failing on
    both keeps a tree that works against a development SQLite from failing in production.
    """
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise ValueError("JSON strings may not contain NUL (\\u0000) characters")
    return text


class DatabaseError(Exception):
    """The database URL is unusable or the server cannot be reached.

    The message names the URL with its password masked, so it is safe to log.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class DatabaseTooNew(DatabaseError):
    """The database was migrated by a newer attune-sync: this version must not touch it."""


def mask_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        # Not parseable, so we cannot tell where a password would be; show only the scheme.
        text = str(url)
        return text.split("://", 1)[0] + "://***" if "://" in text else "***"
    return parsed.render_as_string(hide_password=True)


def normalise_url(url: str) -> URL:
    """Parse `url`, pinning PostgreSQL to psycopg 3 and rejecting unsupported backends."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {mask_url(url)!r}: {exc}", url=url) from exc
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if backend in ("postgresql", "postgres") and driver in (None, "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in (None, "pysqlite"):
        return parsed.set(drivername="sqlite+pysqlite")
    raise DatabaseError(
        f"unsupported database URL {mask_url(url)!r}: "
        "use sqlite:///path/to.db or postgresql://user@host/dbname",
        url=url,
    )


def make_engine(
    url: str,
    *,
    check: bool = True,
    echo: bool = False,
    read_only: bool = False,
    schema: str | None = None,
    history_limit: int = DEFAULT_HISTORY_LIMIT,
) -> Engine:
    """An engine for `url`; with `check`, connect once so a bad URL fails here, readably.

    `read_only`: every transaction is read-only and nothing is ever created (SQLite opens
    the file with ``mode=ro``, so a missing file is an error rather than a new database).
    `schema`: PostgreSQL only, the schema that holds attune-sync's tables (its search_path).
    `history_limit` travels as an execution option to `db.runs.record_run`.
    """
    parsed = normalise_url(url)
    options: dict[str, Any] = {HISTORY_LIMIT_OPTION: history_limit, SCHEMA_OPTION: schema}
    try:
        if parsed.get_backend_name() == "sqlite":
            if schema is not None:
                raise DatabaseError(
                    f"--db-schema {schema!r} needs PostgreSQL; {mask_url(url)!r} is SQLite "
                    "(use another database file instead)",
                    url=url,
                )
            engine = _sqlite_engine(parsed, echo=echo, read_only=read_only, options=options)
        else:
            engine = _postgresql_engine(
                parsed, echo=echo, read_only=read_only, schema=schema, options=options
            )
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseError(f"invalid database URL {mask_url(url)!r}: {exc}", url=url) from exc
    if check:
        try:
            with engine.connect():
                pass
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).strip()
            raise DatabaseError(
                f"cannot connect to database {mask_url(url)!r}: {reason}", url=url
            ) from exc
    return engine


def _postgresql_engine(
    url: URL, *, echo: bool, read_only: bool, schema: str | None, options: dict[str, Any]
) -> Engine:
    connect_args: dict[str, Any] = {"application_name": "attune-sync"}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    settings = []
    if schema is not None:
        # Only that schema: every unqualified name (tables, alembic_version) lands there.
        settings.append(f"-c search_path={check_schema_name(schema)}")
    if read_only:
        settings.append("-c default_transaction_read_only=on")
    if settings:
        if "options" in url.query:
            raise DatabaseError(
                f"{mask_url(url)!r} sets libpq options itself; drop them to use --db-schema "
                "or a read-only command",
                url=url.render_as_string(hide_password=True),
            )
        connect_args["options"] = " ".join(settings)
    # pre_ping: a long-running daemon outlives server restarts and idle-connection reapers.
    return create_engine(
        url,
        # Bound parameters hold pack config, secrets included: keep them out of error text.
        hide_parameters=True,
        pool_pre_ping=True,
        connect_args=connect_args,
        json_serializer=dumps_json,
        echo=echo,
        execution_options=options,
    )


def _use_wal(cursor: Any) -> None:
    """Switch a database file to WAL, waiting out other processes doing the same.

    The switch needs a lock SQLite may refuse at once, without its busy handler, while
    another process opens the same new file (two daemons starting together).
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_engine(url: URL, *, echo: bool, read_only: bool, options: dict[str, Any]) -> Engine:
    in_memory = sqlite_in_memory(url)
    extra: dict[str, Any] = {}
    if read_only and not in_memory:
        # mode=ro: SQLite never creates or writes the file (a missing one fails to open).
        uri = Path(str(url.database)).absolute().as_uri() + "?mode=ro"
        extra["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    # Bound parameters hold pack config, secrets included: keep them out of error text.
    engine = create_engine(
        url,
        json_serializer=dumps_json,
        echo=echo,
        hide_parameters=True,
        execution_options=options,
        **extra,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN late (only before DML) and commit
        # around DDL; turn it off and let the "begin" hook below issue the BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if read_only:
                cursor.execute("PRAGMA query_only = ON")
            elif not in_memory:
                # WAL lets readers (status, dry runs) proceed while an apply writes.
                _use_wal(cursor)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_SQLITE_BEGIN_MODES)}")
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else f"BEGIN {mode}")

    return engine


def for_reading(conn: Connection) -> Connection:
    """`conn` set up for a transaction that only reads.

    On SQLite it then takes no write lock, so it neither waits behind a running apply nor
    blocks one; elsewhere nothing changes.
    """
    if conn.dialect.name == "sqlite":
        return conn.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    return conn
