"""The API's transactions: every write through `write_transaction`, reads through `reading`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from attune_sync.db.engine import for_reading
from attune_sync.db.locks import take_write_lock

WRITE_LOCK_WAIT_S = 30.0
"""How long an API write waits for a running sync (or another write) before a 503."""


def take_writer_lock(conn: Connection) -> None:
    """The write lock apply, watch and the API share (db/locks.py), before anything is read.

    A write therefore never checks a ref or a reference against rows a running sync is
    about to change, and concurrent creates of one ref queue up: one 201, then one 409.
    WriteLockBusy (another writer held it too long) is answered 503 by the app.
    """
    take_write_lock(conn, WRITE_LOCK_WAIT_S)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction per API write: committed when the block ends, rolled back on error."""
    with engine.begin() as conn:
        take_writer_lock(conn)
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that never waits for a running sync (nor blocks one).

    On PostgreSQL it is REPEATABLE READ, so every statement of a request (the change
    counter, a count, the rows) sees one snapshot; SQLite's transactions always do.
    """
    with engine.connect() as raw:
        conn = for_reading(raw)
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
