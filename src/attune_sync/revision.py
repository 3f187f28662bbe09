"""Which commit a packs folder holds: git-sync's worktree name, or the checkout's HEAD."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def detect_revision(resolved_root: str) -> str | None:
    """The revision of an already resolved packs folder, or None when it cannot be told.

    git-sync checks each commit out into a folder named by its hash and points a symlink at
    it; the caller resolved that link once for the whole run, so the hash is a folder name
    on the resolved path. Elsewhere, a git checkout's HEAD.
    """
    path = Path(resolved_root)
    for candidate in (path, *path.parents):
        if _COMMIT.match(candidate.name):
            return candidate.name
    return _git_head(path)


def _git_head(path: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and _COMMIT.match(head) else None
