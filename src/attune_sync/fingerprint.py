"""A digest of this code and the libraries it reads with: what the stored reads depend on.

The read cache (`readcache`) and the settled mark (`settled`) are only reused by the exact
code that wrote them. The whole package's source is hashed, not a hand-kept version number,
so forgetting to bump one can never reuse what an older checker produced.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import sys
from pathlib import Path

FORMAT = 1
"""Bumped when the layout of what is stored changes."""

_LIBRARIES = ("PyYAML", "jsonschema", "jsonschema-rs", "referencing")
"""The libraries whose behaviour a document depends on (parsing, schema checks)."""


@functools.cache
def fingerprint() -> str:
    """32 hex digits; computed once a process (a few milliseconds)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FORMAT}\0{sys.version}\0".encode())
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
