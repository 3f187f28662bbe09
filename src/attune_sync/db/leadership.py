"""Which daemon applies: one leader per database, the others stand by.

* PostgreSQL: a session advisory lock on a dedicated psycopg connection, outside
  SQLAlchemy's pool (a session lock on a pooled connection would survive being "returned"
  and leak to whoever checks it out next). When the leader dies its connection closes and
  PostgreSQL frees the lock, so a standby's next try takes over. The leader checks its
  connection is alive on every loop step, with a client-side timeout: a stuck network path
  ends the leadership instead of leaving the daemon idle and "ready".
* SQLite: an exclusive `flock` on a file beside the database (`<db file>.leader`). The
  kernel frees it when the holder exits, however it exits. In-memory databases have
  nobody to compete with.

Leadership only decides who runs; correctness between writers comes from the write lock
(`db.locks`), which every apply takes whether or not it leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
from typing import IO, Protocol

import psycopg
import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)

LEADER_LOCK_KEY = 0x41_54_54_53_59_4C_44  # "ATTSYLD"
CHECK_TIMEOUT_S = 5.0
"""How long the leader waits for its connection to answer before giving leadership up."""


class LeadershipLost(Exception):
    """The leader's connection did not answer in time; the lock may be gone."""


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """True when this daemon is (still) the leader."""

    def release(self) -> None: ...

    def describe(self) -> str:
        """What the lock is, for the log line of a daemon that stands by."""


class AlwaysLeader:
    """An in-memory SQLite database: there is nobody to compete with."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def describe(self) -> str:
        return "no lock (in-memory database)"


class FileLeadership:
    """SQLite: an exclusive, non-blocking flock on `<database file>.leader`."""

    def __init__(self, database_path: str) -> None:
        self.path = os.path.abspath(database_path) + ".leader"
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = open(self.path, "ab")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except BaseException:
            handle.close()
            raise
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def describe(self) -> str:
        return f"file lock {self.path}"


class PostgresLeadership:
    def __init__(
        self, url: str, key: int = LEADER_LOCK_KEY, check_timeout: float = CHECK_TIMEOUT_S
    ) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self._conninfo = parsed.render_as_string(hide_password=False)
        self._key = key
        self._check_timeout = check_timeout
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def describe(self) -> str:
        return "PostgreSQL advisory lock"

    def try_acquire(self) -> bool:
        """Take the lock if free; if held, check the connection holding it is alive."""
        try:
            if self._conn is not None:
                # Still ours only if the session that holds it still answers.
                self._ping(self._conn)
                return True
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(1, int(self._check_timeout)),
                application_name="attune-sync-leader",
                # Notice a dead server (and so a lost lock) within about half a minute.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row is not None and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        except (psycopg.Error, LeadershipLost) as error:
            if self._conn is not None:
                log.warning("leader connection lost; leadership given up", error=str(error))
            self._drop()
            raise

    def _ping(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """SELECT 1 with a client-side deadline, through libpq's asynchronous calls.

        A blocking execute would wait forever on a path that swallows packets (keepalives
        only notice after about half a minute, and not at all while the kernel acks).
        """
        pgconn = conn.pgconn
        pgconn.send_query(b"SELECT 1")
        pgconn.flush()
        while True:
            ready, _, _ = select.select([pgconn.socket], [], [], self._check_timeout)
            if not ready:
                raise LeadershipLost(
                    f"the leader connection did not answer within {self._check_timeout:g} s"
                )
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
        failed = False
        while (result := pgconn.get_result()) is not None:
            failed = failed or result.status != psycopg.pq.ExecStatus.TUPLES_OK
        if failed:
            raise LeadershipLost("the leader connection's check query failed")

    def release(self) -> None:
        # Closing the session frees the lock; an explicit unlock first is just politeness.
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


def leadership_for(url: str, dialect: str) -> Leadership:
    """The leadership that fits the database `url` points at."""
    if dialect == "postgresql":
        return PostgresLeadership(url)
    database = make_url(url).database
    if not database or database == ":memory:" or "mode=memory" in url:
        return AlwaysLeader()
    return FileLeadership(database)
