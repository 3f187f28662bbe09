"""The read cache's rows (`sync_read_cache`): load them for a run, write them in an apply.

The pure side (what is stored, when it may be reused) is `attune_sync.readcache`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Connection, delete, insert, select

from attune_sync import readcache
from attune_sync.db import schema as t
from attune_sync.documents import Document

_CHUNK = 500
"""Folders per statement: keeps an `IN (...)` list and a batch insert within every backend's
parameter limits."""


def load_documents(
    conn: Connection, fingerprint: str, folders: Collection[str] | None = None
) -> tuple[list[Document], dict[str, str]]:
    """The stored documents this code may reuse, and folder -> key of every stored row (of
    `folders` only, when given).

    A row from other code, or one whose payload does not decode, is left out of both: the
    next apply writes it again.
    """
    c = t.sync_read_cache.c
    documents: list[Document] = []
    keys: dict[str, str] = {}
    query = select(c.folder, c.folder_key, c.payload).where(c.fingerprint == fingerprint)
    if folders is not None:
        query = query.where(c.folder.in_(sorted(folders)))
    for folder, key, payload in conn.execute(query):
        decoded = readcache.decode(payload)
        if decoded is not None:
            documents.extend(decoded)
            keys[folder] = key
    return documents, keys


def stored_keys(conn: Connection, fingerprint: str) -> dict[str, str]:
    """Folder -> key of the rows this code wrote (without reading their payloads)."""
    c = t.sync_read_cache.c
    query = select(c.folder, c.folder_key).where(c.fingerprint == fingerprint)
    return {row.folder: row.folder_key for row in conn.execute(query)}


def write_documents(conn: Connection, change: readcache.Rewrite, fingerprint: str) -> None:
    """Write what `readcache.rewrite` decided, in the caller's transaction."""
    table = t.sync_read_cache
    gone = [*change.forget, *change.write]
    for chunk in _chunks(gone):
        conn.execute(delete(table).where(table.c.folder.in_(chunk)))
    folders = list(change.write)
    for chunk in _chunks(folders):
        # Encoded a chunk at a time: a cold apply's payloads never sit in memory at once.
        rows = [
            {
                "folder": folder,
                "fingerprint": fingerprint,
                "folder_key": change.write[folder][0],
                "payload": readcache.encode(change.write[folder][1]),
            }
            for folder in chunk
        ]
        conn.execute(insert(table), rows)


def forget_other_code(conn: Connection, fingerprint: str) -> None:
    """Drop rows other code wrote: they can never be reused by this one."""
    table = t.sync_read_cache
    conn.execute(delete(table).where(table.c.fingerprint != fingerprint))


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
