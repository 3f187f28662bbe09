"""Read one pack folder: its listing, its files, and the specs they make, or why it is invalid."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from .digests import content_hash
from .documents import DocKind, Document, DocumentCache, load_document
from .fields import is_valid_ref
from .listing import COMPONENT_DIRS, PACK_FILES, Listing, list_pack
from .model import ActionSpec, FolderRead, InvalidPack, PackBundle, Problem
from .notes import SkippedNote
from .readfs import LOCAL, LocalFileSystem, signature
from .settled import content_key
from .specs import SPEC_BUILDERS, pack_spec, qualified


def read_pack_folder(
    root: Path,
    folder: str,
    cache: DocumentCache | None,
    seen: set[str],
    before: FolderRead | None,
    fs: LocalFileSystem = LOCAL,
) -> FolderRead:
    """Read the pack folder `root/folder`, or reuse `before` when nothing in it changed."""
    try:
        listing = list_pack(root, folder, fs)
    except OSError as error:
        # Never read as "no pack here": the folder stays as the database has it.
        problem = Problem(
            folder,
            f"the pack folder cannot be read: {error.strerror or error}",
            hint="give attune-sync read access to the folder and everything in it",
        )
        return FolderRead(InvalidPack(folder, None, (problem,)), (), ("unreadable", str(error)))
    files = listing.files(folder)
    signatures = dict(_signatures(files, cache))
    fingerprint = (
        tuple(signatures.items()),
        tuple(listing.stray),
        tuple(listing.misspelt),
        tuple(listing.unreadable),
        tuple(listing.outside),
        tuple(sorted((entry.name, signature(entry.name, entry)) for entry in listing.workflows)),
        tuple(sorted(listing.skipped)),  # a skipped folder added or removed changes the note
    )
    seen.update(signatures)
    if before is not None and before.fingerprint == fingerprint:
        return before  # nothing in the folder changed since the last read
    notes: tuple[SkippedNote, ...] = ()
    if listing.skipped:
        notes = (SkippedNote(folder, tuple(sorted(listing.skipped))),)
        # A logger per call: a rare event, and it follows the logging set up at the time.
        structlog.get_logger(__name__).debug(
            "folders not synced", folder=folder, names=list(notes[0].skipped)
        )
    warnings: list[Problem] = []
    digests: list[tuple[str, str]] = []
    result = _read_listed_pack(root, folder, listing, cache, signatures, warnings, fs, digests)
    key = content_key(folder, listing, digests)
    return FolderRead(result, tuple(warnings), fingerprint, notes, key)


def _signatures(
    files: list[tuple[str, os.DirEntry[str], DocKind]], cache: DocumentCache | None
) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
    """Each file's stat signature; the path and signature objects the cache already holds
    when they match, so a tree parsed ahead (`parse_ahead`) is not kept twice."""
    for relpath, entry, _kind in files:
        stat = signature(relpath, entry)
        yield cache.shared(relpath, stat) if cache is not None else (relpath, stat)


def _read_listed_pack(
    root: Path,
    folder: str,
    listing: Listing,
    cache: DocumentCache | None,
    signatures: dict[str, tuple[int, int, int, int]],
    warnings: list[Problem],
    fs: LocalFileSystem,
    digests: list[tuple[str, str]],
) -> PackBundle | InvalidPack | None:
    """The folder's pack, or why it is invalid; adds each file read to `digests`."""
    warnings.extend(_stray_warnings(folder, listing))
    problems = _listing_problems(folder, listing)
    if not listing.pack_files:
        return _without_pack_file(folder, listing, problems)
    if len(listing.pack_files) > 1:
        problems.append(
            Problem(
                f"{folder}/pack.yml",
                "both pack.yaml and pack.yml exist",
                hint="keep one of them",
            )
        )
    pack_entry = listing.pack_files[0]
    pack_path = f"{folder}/{pack_entry.name}"
    pack_doc = load_document(pack_path, pack_entry, "pack", cache, signatures[pack_path], fs)
    problems.extend(pack_doc.problems)
    pack_ref = _pack_ref(pack_doc)
    digests.append((pack_doc.relpath, pack_doc.digest))
    found = _read_components(
        root, folder, listing, cache, signatures, fs, pack_ref, problems, digests
    )
    return _pack_result(folder, pack_doc, pack_ref, found, problems, digests)


def _stray_warnings(folder: str, listing: Listing) -> list[Problem]:
    return [
        Problem(
            f"{folder}/{stray}",
            "this YAML file is not read",
            hint="pack files go in pack.yaml and runtimes/, triggers/, actions/, sensors/ "
            "or rules/ (one level deep)",
            severity="warning",
        )
        for stray in listing.stray
    ]


def _listing_problems(folder: str, listing: Listing) -> list[Problem]:
    problems: list[Problem] = [
        Problem(
            f"{folder}/{name}",
            "this must be read, but it is not a readable file or folder (a broken link?)",
            hint="restore it, or remove it if it should be gone",
        )
        for name in listing.unreadable
    ]
    problems += [
        Problem(
            f"{folder}/{name}",
            f"folder {name!r} holds YAML files but is not a folder attune-sync reads",
            hint=f"did you mean `{meant}/`? Rename the folder; until then the pack stays as it is",
        )
        for name, meant in listing.misspelt
    ]
    problems += [
        Problem(
            f"{folder}/{name}",
            "this link leads out of the packs folder; it is not followed",
            hint="copy the files into the packs folder, or link to a place inside it",
        )
        for name in listing.outside
    ]
    return problems


def _without_pack_file(
    folder: str, listing: Listing, problems: list[Problem]
) -> InvalidPack | None:
    """No readable pack file: invalid, or None when the folder is not a pack at all."""
    if set(PACK_FILES) & set(listing.unreadable):  # pack.yaml is there but cannot be read
        return InvalidPack(folder, None, tuple(problems))
    if listing.components or listing.misspelt or listing.outside:
        # Maybe a pack whose pack.yaml was renamed or removed by mistake: never read it
        # as "every component of this pack was deleted".
        problems.append(
            Problem(
                folder,
                "folder has pack components but no pack.yaml; it stays as it is",
                hint="add a pack.yaml with ref, label and description, or remove the "
                "folder to delete the pack",
            )
        )
        return InvalidPack(folder, None, tuple(problems))
    return None


def _read_components(
    root: Path,
    folder: str,
    listing: Listing,
    cache: DocumentCache | None,
    signatures: dict[str, tuple[int, int, int, int]],
    fs: LocalFileSystem,
    pack_ref: str | None,
    problems: list[Problem],
    digests: list[tuple[str, str]],
) -> dict[str, dict[str, Any]]:
    """Specs by kind and ref; adds each file's problems and digest as it goes."""
    found: dict[str, dict[str, Any]] = {kind: {} for kind in COMPONENT_DIRS.values()}
    sources: dict[str, str] = {}
    for kind, entry in listing.components:
        relpath = f"{folder}/{kind}s/{entry.name}"
        doc = load_document(relpath, entry, kind, cache, signatures[relpath], fs)
        digests.append((relpath, doc.digest))
        problems.extend(doc.problems)
        # Every file is still loaded, so its problems are reported even without a pack ref.
        if doc.data is None or doc.problems or pack_ref is None:
            continue
        ref = _component_ref(doc.data, kind, entry.name, pack_ref)
        trouble = _ref_problem(doc.data, kind, ref, pack_ref, relpath, sources)
        if trouble is not None:
            problems.append(trouble)
            continue
        sources[f"{kind}:{ref}"] = relpath
        spec = SPEC_BUILDERS[kind](doc.data, ref, pack_ref, relpath)
        if isinstance(spec, ActionSpec) and spec.workflow_file is not None:
            problems.extend(_workflow_problems(root / folder, spec, fs))
        found[kind][ref] = spec
    return found


def _pack_result(
    folder: str,
    pack_doc: Document,
    pack_ref: str | None,
    found: dict[str, dict[str, Any]],
    problems: list[Problem],
    digests: list[tuple[str, str]],
) -> PackBundle | InvalidPack:
    if problems or pack_doc.data is None or pack_ref is None:
        if not problems:  # pragma: no cover - a pack without a ref always has a problem
            problems.append(Problem(pack_doc.relpath, "pack has no ref"))
        return InvalidPack(
            folder, pack_ref, tuple(problems), _partial_bundle(folder, pack_doc, pack_ref, found)
        )
    return PackBundle(
        pack=pack_spec(pack_doc.data),
        folder=folder,
        triggers=found["trigger"],
        sensors=found["sensor"],
        content_hash=content_hash(digests),
        pack_file=pack_doc.relpath,
        actions=found["action"],
        rules=found["rule"],
        runtimes=found["runtime"],
    )


def _partial_bundle(
    folder: str, pack_doc: Document, pack_ref: str | None, found: dict[str, dict[str, Any]]
) -> PackBundle | None:
    """What an invalid pack would hold, when its pack file itself is sound."""
    if pack_doc.data is None or pack_ref is None or pack_doc.problems:
        return None
    return PackBundle(
        pack=pack_spec(pack_doc.data),
        folder=folder,
        triggers=found["trigger"],
        sensors=found["sensor"],
        content_hash="",
        actions=found["action"],
        rules=found["rule"],
        runtimes=found["runtime"],
    )


def _component_ref(data: dict[str, Any], kind: str, file_name: str, pack_ref: str) -> str:
    """The ref a component file declares, or `<pack ref>.<name or file stem>`."""
    ref = data.get("ref")
    if isinstance(ref, str) and ref:
        return qualified(ref, pack_ref) if kind == "rule" else ref
    given = data.get("name") if kind != "runtime" else None
    return f"{pack_ref}.{given if isinstance(given, str) else file_name.rsplit('.', 1)[0]}"


def _ref_problem(
    data: dict[str, Any],
    kind: str,
    ref: str,
    pack_ref: str,
    relpath: str,
    sources: dict[str, str],
) -> Problem | None:
    if not ref.startswith(f"{pack_ref}."):
        return Problem(
            relpath,
            f"{kind} ref {ref!r} does not start with the pack ref {pack_ref + '.'!r}",
            field="ref",
            hint=f"rename it to `{pack_ref}.{ref.rsplit('.', 1)[-1]}`, or leave "
            "`ref` out to use the file name",
        )
    if "ref" not in data and not is_valid_ref(ref):
        return Problem(
            relpath,
            f"the file name gives the ref {ref!r}, which is not a valid ref",
            hint="rename the file using letters, digits, '_' and '-', or set `ref`",
        )
    other = sources.get(f"{kind}:{ref}")
    if other is not None:
        return Problem(
            relpath,
            f"{kind} ref {ref!r} is also declared by {other}",
            field="ref",
            hint="give each file its own ref",
        )
    return None


def _workflow_problems(pack_folder: Path, action: ActionSpec, fs: LocalFileSystem) -> list[Problem]:
    """A `workflow_file` must be a file inside the pack folder (links are not followed out)."""
    relpath = action.entrypoint or ""
    problem = None
    if relpath.startswith("..") or posixpath.isabs(relpath):
        problem = "points outside the pack folder"
    else:
        target = pack_folder / relpath
        try:
            inside = fs.realpath(str(target)).startswith(fs.realpath(str(pack_folder)) + os.sep)
        except OSError:
            inside = None
        if inside is None:
            problem = f"{relpath} does not exist"
        elif not inside:
            problem = "points outside the pack folder (through a link)"
        elif not target.is_file():
            problem = f"{relpath} is not a file"
    if problem is None:
        return []
    return [
        Problem(
            action.source,
            f"workflow_file {action.workflow_file!r} {problem}",
            field="workflow_file",
            hint="give a path relative to actions/ of a file inside the pack",
        )
    ]


def _pack_ref(doc: Document) -> str | None:
    ref = doc.data.get("ref") if doc.data is not None else None
    return ref if isinstance(ref, str) and is_valid_ref(ref) else None
