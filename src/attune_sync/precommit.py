"""`attune-sync-pre-commit FILE...`: validate the packs a commit touches (pre-commit's hook).

pre-commit passes the staged files. Each file belongs to the pack folder holding the nearest
`pack.yaml` (or `pack.yml`) above it, and that folder's parent is a packs root. The whole
root is read, because references cross packs (a sensor's trigger may live in another pack),
but only the touched packs' problems are reported and only they can fail the commit: a
broken pack nobody touched is not this commit's business. Exit 0 when every touched pack is
valid, 1 when one is not, 2 when a packs root cannot be read.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .db.schema import BUILTIN_RUNTIMES
from .model import Problem
from .parse_ahead import parsed_ahead
from .reader import TreeChanged, TreeUnreadable, read_tree
from .render import render_problem
from .settle import settle_references
from .sync import offline_state

_PACK_FILES = ("pack.yaml", "pack.yml")


def pack_folder(path: Path) -> Path | None:
    """The pack folder `path` belongs to, or None when it is in none."""
    for folder in (path if path.is_dir() else path.parent, *path.parents):
        if any((folder / name).is_file() for name in _PACK_FILES):
            return folder
    return None


def touched_packs(files: Sequence[str]) -> dict[Path, set[str]]:
    """Packs root to the names of the pack folders the files touch."""
    roots: dict[Path, set[str]] = defaultdict(set)
    for name in files:
        folder = pack_folder(Path(name).absolute())
        if folder is not None:
            roots[folder.parent].add(folder.name)
    return roots


def check_root(root: Path, folders: set[str]) -> tuple[int, list[str]]:
    """(invalid touched packs, lines to print) for one packs root."""
    desired = read_tree(str(root), parsed_ahead(str(root)))
    valid, invalid = settle_references(desired, offline_state(BUILTIN_RUNTIMES))
    where = os.path.relpath(root)

    def show(problem: Problem) -> str:
        # Paths as the committer sees them (from the repository), not from the packs root.
        return render_problem(replace(problem, path=os.path.join(where, problem.path)))

    lines: list[str] = []
    broken = 0
    for pack in invalid:
        if pack.folder in folders:
            broken += 1
            lines.extend(show(problem) for problem in pack.problems)
    lines.extend(
        show(problem) for problem in desired.warnings if problem.path.split("/", 1)[0] in folders
    )
    checked = sum(1 for bundle in valid.values() if bundle.folder in folders) + broken
    lines.append(f"{where}: {checked} touched pack(s) checked, {broken} invalid.")
    return broken, lines


def main(argv: Sequence[str] | None = None) -> int:
    files = list(sys.argv[1:] if argv is None else argv)
    broken = 0
    for root, folders in sorted(touched_packs(files).items()):
        try:
            count, lines = check_root(root, folders)
        except (TreeUnreadable, TreeChanged) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        broken += count
        print("\n".join(lines))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
