"""The digests files are known by: one for a file's bytes, one for a set of files.

Its own small module: the settled shortcut hashes a tree without loading the parser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def file_digest(raw: bytes) -> str:
    """A file's content digest: what documents are cached, stored and compared by."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def content_hash(digests: Iterable[tuple[str, str]]) -> str:
    """One digest of (relative path, file digest) pairs, whatever their order."""
    hasher = hashlib.blake2b(digest_size=16)
    for relpath, digest in sorted(digests):
        hasher.update(f"{relpath}\0{digest}\n".encode())
    return hasher.hexdigest()
