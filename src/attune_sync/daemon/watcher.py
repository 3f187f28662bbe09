"""Turn file-system activity into "look again" hints, surviving git-sync's symlink swaps.

Events carry the changed paths as a hint of where to look; they are never taken as the
change itself. Two watches per generation: the resolved packs root (recursive) and,
non-recursively, each directory that contains a symlink on the PACKS_DIR path (where
git-sync renames its link).
The controller re-resolves PACKS_DIR on every event and every `recheck` seconds; when the
resolved folder (path or inode) changes, it hints and re-creates the watches, because a
watch on a deleted worktree ends silently.

Polling (`--force-polling`, or when inotify runs out of watches) is our own stat scan, not
watchfiles' poller: that one compares modification times to the second and file sizes, so
saves of the same size within one second were never reported (3 of 8 quick saves waited for
the next full sync). The scan compares what the reader's cache compares (mtime and ctime in
nanoseconds, size, inode), so every save that changes a file is seen within one interval.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog
import watchfiles

log = structlog.get_logger(__name__)

Key = tuple[str, int, int] | None
Signature = tuple[int, int, int, int]

POLL_INTERVAL_S = 0.3
"""Shortest wait between two polling scans."""
POLL_LOAD_FACTOR = 5
"""A scan that takes t seconds is repeated after at least 5 t: polling a huge tree on a
slow network filesystem costs at most about a sixth of a core."""


def _signature(info: os.stat_result) -> Signature:
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def scan(path: str, recursive: bool) -> dict[str, Signature]:
    """Every entry under `path` (or directly in it) by what a change to it would move.

    Symlinks are recorded as links (lstat): a swapped link is a change. Folders behind
    links are not entered (the reader decides what a link may reach); unreadable folders
    are skipped (the reader reports them).
    """
    found: dict[str, Signature] = {}
    pending = [path]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[entry.path] = _signature(info)
            if recursive and entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return found


def changed_paths(before: dict[str, Signature], after: dict[str, Signature]) -> set[str]:
    """Paths added, removed or changed between two scans."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def resolve_key(packs_dir: str) -> Key:
    """Identity of the folder PACKS_DIR points at now, or None while it does not exist."""
    try:
        real = os.path.realpath(packs_dir, strict=True)
        info = os.stat(real)
    except OSError:
        return None
    return (real, info.st_dev, info.st_ino)


def link_dirs(packs_dir: str) -> list[str]:
    """Existing folders that hold a symlink on the way to PACKS_DIR."""
    found: list[str] = []
    path = Path(os.path.abspath(packs_dir))
    for node in (path, *path.parents):
        if node.is_symlink() and node.parent.is_dir():
            found.append(str(node.parent))
    return found


class TreeWatcher:
    def __init__(
        self,
        packs_dir: str,
        on_change: Callable[[str, set[str] | None], None],
        *,
        recheck: float = 1.0,
        force_polling: bool = False,
    ) -> None:
        self._packs_dir = packs_dir
        self._on_change = on_change
        self._recheck = recheck
        self._force_polling = force_polling
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._control, name="tree-watcher", daemon=True)
        self._workers: list[threading.Thread] = []
        self._generation_stop = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._generation_stop.set()
        self._poke.set()
        self._thread.join(timeout)

    def _control(self) -> None:
        key: Key = None
        started = False
        while not self._stop.is_set():
            current = resolve_key(self._packs_dir)
            dead = started and not all(worker.is_alive() for worker in self._workers)
            if current != key or dead or not started:
                if started and current != key:
                    log.info("packs folder now resolves elsewhere", resolved=current and current[0])
                    self._on_change("resolved", None)
                self._end_generation()
                key = current
                self._start_generation(current)
                started = True
            self._poke.wait(self._recheck)
            self._poke.clear()
        self._end_generation()

    def _start_generation(self, key: Key) -> None:
        self._generation_stop = threading.Event()
        targets = [(d, False) for d in link_dirs(self._packs_dir)]
        if key is not None:
            targets.append((key[0], True))
        for path, recursive in targets:
            worker = threading.Thread(
                target=self._watch,
                args=(path, recursive, self._generation_stop),
                name=f"watch:{path}",
                daemon=True,
            )
            worker.start()
            self._workers.append(worker)

    def _end_generation(self) -> None:
        self._generation_stop.set()
        for worker in self._workers:
            worker.join(2.0)
        self._workers = []

    def _poll(self, path: str, recursive: bool, stop: threading.Event) -> None:
        """Scan, compare with the last scan, hint what changed; until `stop`."""
        previous = scan(path, recursive)
        while True:
            clock = time.monotonic()
            current = scan(path, recursive)
            paths = changed_paths(previous, current)
            previous = current
            if paths:
                self._on_change("files", paths if recursive else None)
                self._poke.set()
            spent = time.monotonic() - clock
            if stop.wait(max(POLL_INTERVAL_S, POLL_LOAD_FACTOR * spent)):
                return

    def _watch(self, path: str, recursive: bool, stop: threading.Event) -> None:
        if self._force_polling:
            self._poll(path, recursive, stop)
            return
        try:
            for changes in watchfiles.watch(
                path,
                recursive=recursive,
                stop_event=stop,
                debounce=500,
                step=50,
                rust_timeout=1000,
                yield_on_timeout=True,
                raise_interrupt=False,
                force_polling=False,
                ignore_permission_denied=True,
            ):
                if stop.is_set():
                    return
                if changes:
                    # Paths under the root say which pack folders to re-read; an event in a
                    # folder holding the link (a git-sync swap) means re-read everything.
                    paths = {path for _, path in changes} if recursive else None
                    self._on_change("files", paths)
                    self._poke.set()  # re-check the link now, not at the next tick
        except OSError as error:
            if not self._force_polling and "limit" in str(error).lower():
                # Out of inotify watches: polling costs CPU but keeps the sync correct.
                log.warning("inotify limit reached; falling back to polling", error=str(error))
                self._force_polling = True
            else:
                log.warning("watch ended", path=path, error=str(error))
        except Exception as error:  # a watcher failure must not kill the daemon
            log.warning("watch ended", path=path, error=str(error))
        self._poke.set()
