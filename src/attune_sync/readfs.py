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


Signature = tuple[int, int, int, int]
"""A file's stat signature: mtime, ctime, size and inode (ctime: any write moves it, and
unlike mtime it cannot be set back)."""


def signature(relpath: str, entry: os.DirEntry[str]) -> Signature:
    """`entry`'s stat signature; TreeChanged when it vanished since it was listed."""
    try:
        stat = entry.stat()
    except FileNotFoundError:
        raise TreeChanged(f"{relpath} vanished while being read") from None
    return (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)


class LocalFileSystem:
    def scandir(self, path: str) -> list[os.DirEntry[str]]:
        """The entries of a folder; FileNotFoundError and other OSErrors escape."""
        with os.scandir(path) as entries:
            return list(entries)

    def read(self, path: str) -> bytes:
        """At most one byte more than a pack file may hold.

        Sized by fstat, not by the limit: asking a buffered file for the limit allocates
        that much for every small file, which was half the cost of hashing a tree.
        """
        limit = MAX_FILE_BYTES + 1
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            expected = os.fstat(fd).st_size + 1  # one more: see the end, or that it grew
            data = b""
            while len(data) < limit:
                wanted = min(limit, max(expected, len(data) + 65536)) - len(data)
                chunk = os.read(fd, wanted)
                data += chunk
                if len(chunk) < wanted:  # a regular file reads short only at its end
                    break
            return data
        finally:
            os.close(fd)

    def realpath(self, path: str) -> str:
        """The resolved path; OSError when it does not exist or a link loops."""
        return os.path.realpath(path, strict=True)


LOCAL = LocalFileSystem()
