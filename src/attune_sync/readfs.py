"""The filesystem as the reader sees it: one small seam, and the two ways a read can fail.

`LocalFileSystem` is the real thing. Tests hand `read_tree` a subclass that misbehaves on
purpose (a file vanishing after the listing, a folder that cannot be searched) instead of
patching private helpers.
"""

from __future__ import annotations

import os

from .yamlload import MAX_FILE_BYTES


class TreeUnreadable(Exception):
    """The packs root is missing or cannot be listed: nothing may change."""


class TreeChanged(Exception):
    """Files vanished while the tree was read; the run must be retried, never applied."""


class LocalFileSystem:
    def scandir(self, path: str) -> list[os.DirEntry[str]]:
        """The entries of a folder; FileNotFoundError and other OSErrors escape."""
        with os.scandir(path) as entries:
            return list(entries)

    def read(self, path: str) -> bytes:
        """At most one byte more than a pack file may hold."""
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)

    def realpath(self, path: str) -> str:
        """The resolved path; OSError when it does not exist or a link loops."""
        return os.path.realpath(path, strict=True)


LOCAL = LocalFileSystem()
