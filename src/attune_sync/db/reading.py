"""Open a database to read it without changing anything: `diff`, `validate`, `status`.

Nothing is created or migrated: SQLite opens the file read-only (a missing file is an empty
database, not a new file), PostgreSQL runs every transaction read-only. A database without
attune-sync's tables reads as empty, with a note saying so; one holding foreign tables of
attune-sync's names, or migrated by a newer attune-sync, is refused (`migrate.checked_revision`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from attune_sync.db.engine import (
    DatabaseError,
    for_reading,
    make_engine,
    mask_url,
    normalise_url,
    sqlite_in_memory,
)
from attune_sync.db.migrate import checked_revision, head_revision, upgrade
from attune_sync.db.state import load_actual
from attune_sync.fingerprint import fingerprint
from attune_sync.model import ActualState

if TYPE_CHECKING:
    from attune_sync.documents import Document


_T = TypeVar("_T")


@dataclass(slots=True)
class ReadOnlyDatabase:
    """A database opened for reading; `engine` is None when there is nothing to read."""

    url: str
    """Masked: safe to print."""
    engine: Engine | None
    revision: str | None
    note: str | None
    """Why the database reads as empty, or other things worth telling (an older schema)."""

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection (the caller checks `engine` first)."""
        if self.engine is None:
            raise DatabaseError(f"{self.url}: {self.note}", url=self.url)
        with self.engine.connect() as conn:
            yield for_reading(conn)

    def load_actual(self) -> ActualState:
        """What the database holds; an empty database has only the built-in runtimes."""
        if self.engine is None:
            return fresh_state()
        try:
            with self.connect() as conn:
                return load_actual(conn)
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip()
            older = ""
            if self.revision != head_revision():
                older = (
                    f" (its schema is at revision {self.revision!r}, older than this "
                    f"attune-sync's {head_revision()!r}: `attune-sync apply` upgrades it)"
                )
            raise DatabaseError(
                f"cannot read the database {self.url!r}{older}: {reason}", url=self.url
            ) from error

    def stored_documents(self) -> list[Document]:
        """What earlier applies stored of the files (`readcache`); none when it cannot say,
        which only means that every file is parsed."""
        from attune_sync.db.readcache import load_documents  # only when the tree is read

        return self.optional_read(lambda conn: load_documents(conn, fingerprint())[0]) or []

    def optional_read(self, check: Callable[[Connection], _T]) -> _T | None:
        """`check` run on a read-only connection, for what only saves work (the read cache,
        the settled mark): None on an older schema or any error, and the caller does the
        work after all."""
        if self.engine is None or self.revision != head_revision():
            return None
        try:
            with self.connect() as conn:
                return check(conn)
        except SQLAlchemyError:
            return None

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def open_for_reading(url: str, *, schema: str | None = None) -> ReadOnlyDatabase:
    """Open `url` read-only. Raises DatabaseError (unreachable, foreign tables, bad URL) and
    DatabaseTooNew; never creates a file, a schema or a table."""
    parsed = normalise_url(url)
    masked = mask_url(url)
    if parsed.get_backend_name() == "sqlite" and schema is None:
        if sqlite_in_memory(parsed):
            return _empty(masked, "an in-memory SQLite database starts empty")
        if not os.path.exists(str(parsed.database)):
            return _empty(masked, f"the database file {parsed.database} does not exist yet")
    engine = make_engine(url, read_only=True, schema=schema)
    try:
        with engine.connect() as conn:
            if schema is not None and not _schema_exists(conn, schema):
                engine.dispose()
                return _empty(masked, f"the database has no schema {schema!r} yet")
            revision = checked_revision(conn)
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(getattr(error, "orig", None) or error).strip()
        raise DatabaseError(f"cannot read the database {masked!r}: {reason}", url=masked) from error
    except BaseException:
        engine.dispose()
        raise
    if revision is None:
        engine.dispose()
        return _empty(masked, "the database holds no attune-sync tables yet")
    note = None
    if revision != head_revision():
        note = (
            f"the database schema is at revision {revision!r}; `attune-sync apply` will "
            f"upgrade it to {head_revision()!r}"
        )
    return ReadOnlyDatabase(masked, engine, revision, note)


def _empty(url: str, why: str) -> ReadOnlyDatabase:
    note = f"{why}; compared against an empty database (`attune-sync apply` creates the tables)"
    return ReadOnlyDatabase(url, None, None, note)


def _schema_exists(conn: Connection, schema: str) -> bool:
    query = text("SELECT 1 FROM pg_namespace WHERE nspname = :name")
    return conn.execute(query, {"name": schema}).first() is not None


def fresh_state() -> ActualState:
    """What a database at the newest schema holds before its first sync (the seeded rows).

    Read from a scratch SQLite file migrated the same way, so an empty database plans (and a
    saved plan fingerprints) exactly as the freshly migrated one it becomes on `apply`.
    """
    with tempfile.TemporaryDirectory(prefix="attune-sync-fresh-") as folder:
        engine = make_engine(f"sqlite:///{os.path.join(folder, 'fresh.db')}")
        try:
            upgrade(engine)
            with engine.connect() as conn:
                return load_actual(conn)
        finally:
            engine.dispose()
