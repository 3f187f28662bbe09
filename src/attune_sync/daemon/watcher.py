"""Turn file-system activity into "look again" hints, surviving git-sync's symlink swaps.

Events carry the changed paths as a hint of where to look; they are never taken as the
change itself. Two watches per generation: the resolved packs root (recursive) and,
non-recursively, each directory that contains a symlink on the PACKS_DIR path (where
git-sync renames its link).
The controller re-resolves PACKS_DIR on every event and every `recheck` seconds; when the
resolved folder (path or inode) changes, it hints and re-creates the watches, because a
watch on a deleted worktree ends silently.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
import watchfiles

log = structlog.get_logger(__name__)

Key = tuple[str, int, int] | None


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

    def _watch(self, path: str, recursive: bool, stop: threading.Event) -> None:
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
                force_polling=self._force_polling or None,
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
