"""The API's transactions: every write through `write_transaction`, reads through `reading`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from attune_sync.db.engine import for_reading


def take_writer_lock(conn: Connection) -> None:
    """The hook for the writer lock that apply, watch and the API share.

    Today the transaction itself serialises what must be: SQLite's BEGIN IMMEDIATE takes the
    write lock up front, and on PostgreSQL the unique indexes decide concurrent creates (one
    commits, the other gets a 409). A shared lock against a running sync goes here, taken
    first thing in every API write.
    """


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
