"""Read a packs folder into the desired state: files in, `DesiredState` out.

The only I/O is reading the files, through one filesystem seam (`readfs`). A run reads from
one resolved root, so a symlink swapped mid-run (git-sync publishing a commit) cannot mix two
commits, and a file that vanishes mid-run aborts the run with `TreeChanged` instead of
reading as a deletion. The work is split by concern: `listing` (what a folder holds),
`documents` (one file, and the parse cache), `packread` (one pack folder), `duplicates`
(refs across the tree).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path

from .documents import Document, DocumentCache, check_file
from .duplicates import settle_duplicates
from .listing import pack_candidates
from .model import DesiredState, FolderRead, InvalidPack, PackBundle, Problem
from .packread import read_pack_folder
from .readfs import LOCAL, LocalFileSystem, TreeChanged, TreeUnreadable

__all__ = [
    "Document",
    "DocumentCache",
    "LocalFileSystem",
    "TreeChanged",
    "TreeUnreadable",
    "check_file",
    "read_folders",
    "read_pack_folder",
    "read_tree",
]


def read_tree(
    root: str | os.PathLike[str],
    cache: DocumentCache | None = None,
    *,
    previous: DesiredState | None = None,
    only: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    fs: LocalFileSystem = LOCAL,
) -> DesiredState:
    """Read every pack folder under `root` into the desired state.

    With `previous` and `only` (folder names), only those folders, and folders that were not
    there before, are read again; the other folders' results are taken from `previous`. The
    root itself is always listed again, so a pack folder added or removed is never missed.
    A `previous` read from another resolved root (a git-sync swap) is ignored.
    `progress(done, total)` is called after each pack folder, for long reads. `fs` is the
    filesystem seam (tests pass one that fails on purpose).
    """
    resolved = _resolve_root(Path(root))
    state = DesiredState(root=str(resolved))
    reuse = previous.folders if previous is not None and previous.root == state.root else None
    seen: set[str] = set()
    folders = pack_candidates(resolved, fs)
    for done, entry in enumerate(folders, start=1):
        if progress is not None:
            progress(done, len(folders))
        folder = entry.name
        before = reuse.get(folder) if reuse is not None else None
        if before is not None and only is not None and folder not in only:
            state.folders[folder] = before
            continue
        state.folders[folder] = _read_entry(resolved, entry, cache, seen, before, fs)
    if cache is not None:
        if reuse is not None and only is not None:
            cache.forget_except(seen, within=set(only))
        else:
            cache.forget_except(seen)
    return _assembled(state)


def read_folders(
    root: str | os.PathLike[str],
    folders: Collection[str],
    cache: DocumentCache | None = None,
    fs: LocalFileSystem = LOCAL,
) -> DesiredState:
    """Only these pack folders, as `read_tree` reads them: a desired state that holds no
    other folder (a caller that knows the rest of the tree stands, `narrow`). A folder that
    is not there is left out."""
    resolved = _resolve_root(Path(root))
    state = DesiredState(root=str(resolved))
    seen: set[str] = set()
    for entry in pack_candidates(resolved, fs):
        if entry.name not in folders:
            continue
        state.folders[entry.name] = _read_entry(resolved, entry, cache, seen, None, fs)
    return _assembled(state)


def _read_entry(
    root: Path,
    entry: os.DirEntry[str],
    cache: DocumentCache | None,
    seen: set[str],
    before: FolderRead | None,
    fs: LocalFileSystem,
) -> FolderRead:
    """One pack folder of the root: read, or invalid when it is a link that cannot be read."""
    broken = _broken_link(root, entry, fs)
    return broken or read_pack_folder(root, entry.name, cache, seen, before, fs)


def _assembled(state: DesiredState) -> DesiredState:
    """`state` with its folders' packs, problems and notes gathered (in folder order)."""
    bundles: list[PackBundle] = []
    for read in state.folders.values():
        state.warnings.extend(read.warnings)
        state.notes.extend(read.notes)
        outcome = read.result
        if isinstance(outcome, PackBundle):
            bundles.append(outcome)
        elif outcome is not None:
            state.invalid.append(outcome)
    settle_duplicates(state, bundles)
    return state


def _resolve_root(root: Path) -> Path:
    try:
        resolved = Path(os.path.realpath(root, strict=True))
    except FileNotFoundError:
        raise TreeUnreadable(f"packs folder {str(root)!r} does not exist") from None
    except OSError as error:
        raise TreeUnreadable(f"packs folder {str(root)!r} cannot be read: {error}") from None
    if not resolved.is_dir():
        raise TreeUnreadable(f"packs folder {str(root)!r} is not a folder")
    return resolved


def _broken_link(root: Path, entry: os.DirEntry[str], fs: LocalFileSystem) -> FolderRead | None:
    """A pack folder that is a link it cannot follow: invalid, so its pack stays as it is.

    None when the entry is no link, or a link to a folder inside the packs root.
    """
    if not entry.is_symlink():
        return None
    try:
        target = fs.realpath(entry.path)
    except OSError as error:
        reason = "loops" if "loop" in str(error).lower() else "is missing or cannot be reached"
        message = f"this pack folder is a link whose target {reason}"
    else:
        if target.startswith(str(root) + os.sep):
            return None
        message = "this pack folder is a link that leads out of the packs folder"
    problem = Problem(
        entry.name,
        message + "; the pack stays as it is",
        hint="fix or remove the link (removing the folder deletes its pack)",
    )
    return FolderRead(InvalidPack(entry.name, None, (problem,)), (), ("link", message))
