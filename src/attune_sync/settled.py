"""The settled mark: when nothing changed on either side, a new process need not plan at all.

A plan is a pure function of four inputs: the tree (every file the reader reads and every
name its listing notices), the database, the plan options and this code. An apply that
leaves nothing unsettled (no invalid pack, no held-back delete, no API override, no drift
left in place) records those inputs, the database as the change count its own commit left
(`db/settled.py`). A later `diff` or `apply` in a fresh process lists the tree and hashes its
files, without parsing, and compares: when all four are the same, the plan is the one a
re-plan of that settled state makes, which is empty (the planner converges in one apply; the
property tests hold it to that), with the same warnings and notes. Any difference, or
anything odd in the tree, means the normal read and plan.

The database side is the change count: every write to the synced tables by anyone moves it
(migration 0004), and so does attune-sync's own apply; on PostgreSQL also a stamp of the
rows themselves, which sees writes made with triggers disabled (`db/settled.py`).
`--full-compare` ignores the mark and the stored reads altogether.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .digests import file_digest
from .listing import Listing, list_pack, pack_candidates
from .model import ActionSpec, ActualState, DesiredState, Plan
from .notes import SkippedNote
from .problem import Problem
from .readfs import LOCAL, LocalFileSystem, Signature, signature
from .yamlload import MAX_FILE_BYTES

_WORKFLOWS = "actions/workflows"
"""Where workflow files are listed: a `workflow_file` elsewhere is not covered by the key."""


def content_key(folder: str, listing: Listing, digests: Iterable[tuple[str, str]]) -> str:
    """Everything the reader took from one pack folder: files read, and what it noticed."""
    hasher = hashlib.blake2b(digest_size=16)
    parts = [f"file\0{relpath}\0{digest}" for relpath, digest in digests]
    parts += [f"stray\0{name}" for name in listing.stray]
    parts += [f"misspelt\0{name}\0{meant}" for name, meant in listing.misspelt]
    parts += [f"unreadable\0{name}" for name in listing.unreadable]
    parts += [f"outside\0{name}" for name in listing.outside]
    parts += [f"skipped\0{name}" for name in listing.skipped]
    parts += [f"workflow\0{_link_info(entry)}" for entry in listing.workflows]
    for part in sorted(parts):
        hasher.update(part.encode("utf-8", "surrogatepass") + b"\n")
    return f"{folder}:{hasher.hexdigest()}"


def _link_info(entry: os.DirEntry[str]) -> str:
    if not entry.is_symlink():
        return entry.name
    try:
        return f"{entry.name}\0{os.readlink(entry.path)}"
    except OSError:
        return f"{entry.name}\0?"


def tree_key(folders: Iterable[str]) -> str:
    """One key for the whole tree, from its folders' content keys."""
    hasher = hashlib.blake2b(digest_size=16)
    for key in sorted(folders):
        hasher.update(key.encode("utf-8", "surrogatepass") + b"\n")
    return hasher.hexdigest()


def options_key(options: object) -> str:
    """The plan options, as the mark compares them (a frozen dataclass's repr)."""
    return repr(options)


@dataclass(frozen=True, slots=True)
class Mark:
    fingerprint: str
    options: str
    tree: str
    db_version: int
    warnings: tuple[Problem, ...]
    notes: tuple[SkippedNote, ...]
    rows: str | None = None
    """PostgreSQL: the synced rows' stamp (`db.settled.row_stamp`), which also sees writes
    made with triggers disabled."""
    folders: tuple[str, ...] | None = None
    """Each pack folder's content key (`content_key`), whose hash is `tree`: which folders
    changed since (`changed_folders`). None in a mark written before they were kept."""

    def plan(self) -> Plan:
        """The plan a re-plan of the settled state makes: nothing to do."""
        return Plan(warnings=list(self.warnings), notes=list(self.notes))

    def as_row(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "options": self.options,
            "tree_key": self.tree,
            "db_version": self.db_version,
            "row_stamp": self.rows,
            "report": {
                "warnings": [p.as_row() for p in self.warnings],
                "notes": [[note.folder, list(note.skipped)] for note in self.notes],
                "folders": None if self.folders is None else list(self.folders),
            },
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Mark | None:
        try:
            report = row["report"]
            return cls(
                row["fingerprint"],
                row["options"],
                row["tree_key"],
                int(row["db_version"]),
                tuple(Problem(*fields) for fields in report["warnings"]),
                tuple(SkippedNote(folder, tuple(names)) for folder, names in report["notes"]),
                row.get("row_stamp"),
                _keys(report.get("folders")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def settles(plan: Plan, desired: DesiredState, drift_left: bool) -> bool:
    """Whether applying `plan` leaves a state a re-plan finds nothing to do in."""
    return not (
        plan.invalid
        or plan.held_back
        or plan.overrides_kept
        or drift_left
        or any(read.content_key == "" for read in desired.folders.values())
        or not _workflows_covered(desired)
    )


def _workflows_covered(desired: DesiredState) -> bool:
    """Every `workflow_file` lies where the listing sees it (a change there moves the key)."""
    for bundle in desired.packs.values():
        for action in bundle.actions.values():
            if (
                isinstance(action, ActionSpec)
                and action.workflow_file is not None
                and posixpath.dirname(action.entrypoint or "") != _WORKFLOWS
            ):
                return False
    return True


def mark_of(
    plan: Plan,
    desired: DesiredState,
    fingerprint: str,
    options: object,
    db_version: int,
    rows: str | None,
) -> Mark:
    keys = tuple(sorted(read.content_key for read in desired.folders.values()))
    return Mark(
        fingerprint,
        options_key(options),
        tree_key(keys),
        db_version,
        tuple(plan.warnings),
        tuple(plan.notes),
        rows,
        keys,
    )


def _keys(found: object) -> tuple[str, ...] | None:
    if found is None:
        return None
    if not isinstance(found, list) or not all(isinstance(key, str) for key in found):
        raise ValueError("folder keys must be a list of strings")
    return tuple(found)


def folder_of_key(key: str) -> str:
    """The folder a `content_key` was made for (the hash after the last colon has none)."""
    return key.rsplit(":", 1)[0]


def changed_folders(mark: Mark, light: LightRead) -> set[str] | None:
    """Pack folders whose content differs from the mark's (new, gone or changed); None when
    the mark does not say per folder."""
    if mark.folders is None:
        return None
    return {folder_of_key(key) for key in set(mark.folders) ^ set(light.keys)}


def reported_folders(mark: Mark) -> set[str]:
    """Pack folders the mark's warnings or notes are about."""
    found = {note.folder for note in mark.notes}
    found.update(problem.path.split("/", 1)[0] for problem in mark.warnings)
    return found


def changed_packs(desired: DesiredState, actual: ActualState) -> set[str]:
    """Packs whose files differ from what was last applied (by content hash and folder), and
    managed packs gone from the tree: all a plan must compare while the database is as a
    settled apply left it (`shortcut.settled_state`), since every other pack's rows are its
    files."""
    changed = set()
    for ref, bundle in desired.packs.items():
        info = actual.managed.get(ref)
        if info is None or info.content_hash != bundle.content_hash or info.folder != bundle.folder:
            changed.add(ref)
    changed.update(ref for ref in actual.managed if ref not in desired.packs)
    return changed


@dataclass(frozen=True, slots=True)
class LightRead:
    """The tree as listed and hashed, not parsed: its key, and each file's stat signature and
    digest (so a read that must parse after all need not read and hash them again)."""

    key: str
    files: dict[str, tuple[Signature, str]]
    keys: tuple[str, ...] = ()
    """Each folder's content key, as `Mark.folders` holds them."""


def light_read(root: str | os.PathLike[str], fs: LocalFileSystem = LOCAL) -> LightRead | None:
    """The tree key, from listing and hashing alone (no parsing); None when the tree holds
    anything the shortcut does not judge (a link, an unreadable file or folder)."""
    files: dict[str, tuple[Signature, str]] = {}
    try:
        resolved = Path(os.path.realpath(root, strict=True))
        keys = []
        for entry in pack_candidates(resolved, fs):
            if entry.is_symlink():
                return None
            key = _light_folder_key(resolved, entry.name, fs, files)
            if key is None:
                return None
            keys.append(key)
    except (OSError, ValueError):
        return None
    except Exception as error:  # TreeChanged, TreeUnreadable: the normal read reports them
        if type(error).__module__.startswith("attune_sync"):
            return None
        raise
    return LightRead(tree_key(keys), files, tuple(sorted(keys)))


def _light_folder_key(
    root: Path, folder: str, fs: LocalFileSystem, files: dict[str, tuple[Signature, str]]
) -> str | None:
    listing = list_pack(root, folder, fs)
    if listing.unreadable or listing.outside or len(listing.pack_files) > 1:
        return None
    digests: list[tuple[str, str]] = []
    # As the reader: with no pack file, none of the folder's files is read.
    for relpath, entry, _kind in listing.files(folder) if listing.pack_files else ():
        stat = signature(relpath, entry)  # before the bytes, as the reader takes it
        raw = fs.read(entry.path)
        if len(raw) > MAX_FILE_BYTES:
            return None
        digest = file_digest(raw)
        files[relpath] = (stat, digest)
        digests.append((relpath, digest))
    return content_key(folder, listing, digests)
