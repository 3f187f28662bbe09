"""What each file produced, kept between processes: a fresh run parses only changed files.

A `Document` is a pure function of a file's path, its bytes and the code that checks it. An
apply stores, per pack folder, every file's digest and the document it produced, tagged with
the code's `fingerprint` (this code and the libraries that parse and check); a later process
seeds its `DocumentCache` with them, so the reader finds an unchanged file by its digest,
hashes it and never parses it. Stat signatures do not survive a fresh checkout; content digests do.

Nothing here can make a plan differ from a full read. What cannot be trusted is not seeded,
and its files are parsed: rows written by other code (another fingerprint), a payload that
does not decode, a file whose bytes hash differently. Rows are written only inside an apply's
transaction, so a failed run leaves none behind. The database edge is `db/readcache.py`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .digests import content_hash
from .documents import Document, DocumentCache
from .problem import Problem
from .readfs import Signature

UNKNOWN_SIGNATURE = (-1, -1, -1, -1)
"""The stat signature of a seeded document: never equal to a real one, so the file is always
read and hashed before its document is reused."""


def folder_key(documents: Iterable[Document]) -> str:
    """What a folder's stored row stands for: its files' paths and digests."""
    return content_hash((document.relpath, document.digest) for document in documents)


def storable(document: Document) -> bool:
    """A document made from bytes that were read (an unreadable file has no digest)."""
    return bool(document.digest)


def encode(documents: Iterable[Document]) -> bytes:
    """One folder's documents as a compact payload (JSON: YAML keys are always strings)."""
    rows = [[d.relpath, d.digest, d.data, [p.as_row() for p in d.problems]] for d in documents]
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def decode(payload: bytes) -> list[Document] | None:
    """The documents of `encode`, or None when the payload cannot be trusted."""
    try:
        rows = json.loads(zlib.decompress(payload).decode("utf-8", "surrogatepass"))
        return [
            Document(relpath, digest, data, tuple(Problem(*row) for row in problems))
            for relpath, digest, data, problems in rows
        ]
    except (zlib.error, UnicodeDecodeError, ValueError, TypeError):
        return None


def seed(
    cache: DocumentCache,
    documents: Iterable[Document],
    seen: Mapping[str, tuple[Signature, str]] | None = None,
) -> int:
    """Put stored documents in `cache` where it knows nothing better; how many went in.

    `seen`: path -> (stat signature, digest) of files just hashed (`settled.LightRead`). A
    document whose digest they match is filed under that signature, so the reader takes it
    without reading and hashing the file again while the file's stat stays the same.
    """
    seen = seen or {}
    added = 0
    for document in documents:
        if document.relpath not in cache.entries:
            stat, digest = seen.get(document.relpath, (UNKNOWN_SIGNATURE, ""))
            cache.put(stat if digest == document.digest else UNKNOWN_SIGNATURE, document)
            added += 1
    return added


def by_folder(cache: DocumentCache, folders: Iterable[str]) -> dict[str, list[Document]]:
    """The storable documents the cache holds for each of `folders`."""
    wanted: dict[str, list[Document]] = {folder: [] for folder in folders}
    for relpath, (_signature, document) in cache.entries.items():
        bucket = wanted.get(relpath.split("/", 1)[0])
        if bucket is not None and storable(document):
            bucket.append(document)
    return wanted


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What an apply writes to the store: folders to (re)write, folders to forget."""

    write: dict[str, tuple[str, list[Document]]]
    """Folder -> (key, documents)."""
    forget: list[str]
    stored: dict[str, str]
    """Folder -> key, as the store holds it once this is written."""


def rewrite(
    stored: Mapping[str, str],
    current: Mapping[str, list[Document]],
    present: Iterable[str],
) -> Rewrite:
    """Compare the store (folder -> key) with the documents just read.

    `current` holds the folders read again this run (others are unchanged); `present` is
    every folder in the tree. A folder whose documents are all gone has nothing to store.
    """
    present = set(present)
    write: dict[str, tuple[str, list[Document]]] = {}
    after = {folder: key for folder, key in stored.items() if folder in present}
    for folder, documents in current.items():
        if not documents:
            after.pop(folder, None)
            continue
        key = folder_key(documents)
        if stored.get(folder) != key:
            write[folder] = (key, documents)
        after[folder] = key
    forget = sorted(folder for folder in stored if folder not in after)
    return Rewrite(write, forget, after)
