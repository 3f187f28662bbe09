"""What a pack folder holds: which files are read as what, and what is odd about the rest.

Symlinks are followed only when they stay inside the packs root; folders are walked without
recursion (a thousand nested folders are fine) and never through a link.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .documents import DocKind
from .readfs import LOCAL, LocalFileSystem, TreeChanged, TreeUnreadable

YAML_SUFFIXES = (".yaml", ".yml")
PACK_FILES = ("pack.yaml", "pack.yml")
COMPONENT_DIRS: dict[str, DocKind] = {
    "runtimes": "runtime",
    "triggers": "trigger",
    "actions": "action",
    "sensors": "sensor",
    "rules": "rule",
}
SKIPPED_DIRS = ("permission_sets", "queues", "workflows", "tests", "dashboards", "policies")
"""Folders Attune packs have that attune-sync does not sync: skipped without a warning."""


@dataclass(slots=True)
class Listing:
    pack_files: list[os.DirEntry[str]] = field(default_factory=list)
    components: list[tuple[DocKind, os.DirEntry[str]]] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    """YAML files in places nothing is read from (relative to the pack folder)."""
    misspelt: list[tuple[str, str]] = field(default_factory=list)
    """(folder, the component folder it is probably meant to be), for folders holding YAML."""
    unreadable: list[str] = field(default_factory=list)
    """Names that must be read but are not a regular file (or folder): a broken symlink,
    a socket. Never taken as absent: the pack is held as invalid instead."""
    outside: list[str] = field(default_factory=list)
    """Links that lead out of the packs root: never followed, and an error."""
    skipped: list[str] = field(default_factory=list)
    """Folders Attune has that attune-sync does not sync (SKIPPED_DIRS): noted, not warned."""
    workflows: list[os.DirEntry[str]] = field(default_factory=list)
    """Files in actions/workflows/: what `workflow_file` names, watched for changes."""

    def files(self, folder: str) -> list[tuple[str, os.DirEntry[str], DocKind]]:
        """The files read as documents: path relative to the packs root, entry and kind."""
        found: list[tuple[str, os.DirEntry[str], DocKind]] = [
            (f"{folder}/{entry.name}", entry, "pack") for entry in self.pack_files
        ]
        found += [
            (f"{folder}/{kind}s/{entry.name}", entry, kind) for kind, entry in self.components
        ]
        return found


class _Walk:
    def __init__(self, root: Path, fs: LocalFileSystem) -> None:
        self.root = str(root)
        self.fs = fs

    def scandir(self, folder: str) -> list[os.DirEntry[str]]:
        try:
            return [entry for entry in self.fs.scandir(folder) if not entry.name.startswith(".")]
        except FileNotFoundError:
            raise TreeChanged(f"{folder!r} vanished while being read") from None

    def leaves_root(self, entry: os.DirEntry[str]) -> bool:
        """Whether `entry` is a link whose target is outside the packs root."""
        if not entry.is_symlink():
            return False
        try:
            target = self.fs.realpath(entry.path)
        except OSError:
            return False  # a broken link: reported as unreadable where it matters
        return target != self.root and not target.startswith(self.root + os.sep)

    def yaml_below(self, folder: str, prefix: str) -> list[str]:
        """YAML files anywhere below `folder`, without recursion and never through a link."""
        found: list[str] = []
        pending = [(folder, prefix)]
        while pending:
            path, shown = pending.pop()
            for entry in self.scandir(path):
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{shown}/{entry.name}"))
                elif entry.name.endswith(YAML_SUFFIXES):
                    found.append(f"{shown}/{entry.name}")
        return sorted(found)


def list_pack(root: Path, folder: str, fs: LocalFileSystem = LOCAL) -> Listing:
    """What the pack folder `root/folder` holds. OSErrors other than a vanished file escape."""
    walk = _Walk(root, fs)
    listing = Listing()
    for entry in walk.scandir(str(root / folder)):
        name = entry.name
        if walk.leaves_root(entry):
            listing.outside.append(name)
        elif name in PACK_FILES:
            if _is_file(entry):
                listing.pack_files.append(entry)
            else:
                listing.unreadable.append(name)
        elif name in COMPONENT_DIRS:
            if _is_dir(entry):
                _list_components(walk, entry, COMPONENT_DIRS[name], listing)
            else:
                listing.unreadable.append(name)
        elif _is_dir(entry):
            if name in SKIPPED_DIRS:
                listing.skipped.append(name)
                continue
            below = walk.yaml_below(entry.path, name)
            meant = _meant_folder(name)
            if meant is not None and below:
                listing.misspelt.append((name, meant))
            else:
                listing.stray.extend(below)
        elif name.endswith(YAML_SUFFIXES):
            listing.stray.append(name)
    listing.pack_files.sort(key=lambda entry: entry.name)
    listing.components.sort(key=lambda item: (item[0], item[1].name))
    listing.unreadable.sort()
    return listing


def _list_components(
    walk: _Walk, folder: os.DirEntry[str], kind: DocKind, listing: Listing
) -> None:
    name = folder.name
    for child in walk.scandir(folder.path):
        if walk.leaves_root(child):
            listing.outside.append(f"{name}/{child.name}")
        elif _is_dir(child):
            if (name, child.name) == ("actions", "workflows"):
                # Workflow files: checked through an action's workflow_file.
                listing.workflows.extend(e for e in walk.scandir(child.path) if _is_file(e))
                continue
            listing.stray.extend(walk.yaml_below(child.path, f"{name}/{child.name}"))
        elif child.name.endswith(YAML_SUFFIXES):
            if _is_file(child):
                listing.components.append((kind, child))
            else:
                listing.unreadable.append(f"{name}/{child.name}")


def _meant_folder(name: str) -> str | None:
    """The component folder a folder's name is close to (`Triggers`, `trigger`), if any."""
    lowered = name.lower()
    for candidate in COMPONENT_DIRS:
        if lowered in (candidate, candidate[:-1]):
            return candidate
    close = difflib.get_close_matches(lowered, list(COMPONENT_DIRS), n=1, cutoff=0.75)
    return close[0] if close else None


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def pack_candidates(root: Path, fs: LocalFileSystem = LOCAL) -> list[os.DirEntry[str]]:
    """The entries of the (resolved) root read as pack folders, by name."""
    return [entry for entry in _list_root(root, fs) if _is_pack_candidate(entry)]


def _list_root(root: Path, fs: LocalFileSystem) -> list[os.DirEntry[str]]:
    try:
        return sorted(fs.scandir(str(root)), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise TreeChanged(f"packs folder {str(root)!r} vanished while being read") from None
    except OSError as error:
        raise TreeUnreadable(f"packs folder {str(root)!r} cannot be listed: {error}") from None


def _is_pack_candidate(entry: os.DirEntry[str]) -> bool:
    """A folder, or a link that is not one to a file: a broken link never reads as "gone"."""
    if entry.name.startswith("."):
        return False
    try:
        return entry.is_dir() or (entry.is_symlink() and not entry.is_file())
    except OSError:
        return entry.is_symlink()
