"""Read a packs folder into the desired state: files in, `DesiredState` out.

The only I/O is reading the files. A run reads from one resolved root, so a symlink swapped
mid-run (git-sync publishing a commit) cannot mix two commits, and a file that vanishes
mid-run aborts the run with `TreeChanged` instead of reading as a deletion.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import schemas
from .fields import (
    PACK_RULES,
    SENSOR_RULES,
    TRIGGER_RULES,
    FieldIssue,
    check_document,
    is_valid_ref,
)
from .model import (
    DesiredState,
    FolderRead,
    InvalidPack,
    PackBundle,
    PackSpec,
    Problem,
    SensorSpec,
    TriggerSpec,
)
from .yamlload import MAX_FILE_BYTES, YamlProblem, locate, parse

DocKind = Literal["pack", "trigger", "sensor"]
YAML_SUFFIXES = (".yaml", ".yml")
PACK_FILES = ("pack.yaml", "pack.yml")
COMPONENT_DIRS: dict[str, DocKind] = {"triggers": "trigger", "sensors": "sensor"}
NOT_YET_SYNCED = ("actions", "rules")


class TreeUnreadable(Exception):
    """The packs root is missing or cannot be listed: nothing may change."""


class TreeChanged(Exception):
    """Files vanished while the tree was read; the run must be retried, never applied."""


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed and checked file. A pure function of its path and bytes."""

    relpath: str
    digest: str
    data: dict[str, Any] | None
    """The parsed mapping, or None when the file could not be read as one."""
    problems: tuple[Problem, ...]


@dataclass(slots=True)
class DocumentCache:
    """Documents from earlier runs, so a run re-parses only files whose bytes changed.

    Keyed by path relative to the root; a stat signature match skips reading, and a digest
    match skips parsing (git-sync's new worktree per commit changes every inode, not bytes).
    """

    entries: dict[str, tuple[tuple[int, int, int, int], Document]] = field(default_factory=dict)
    parsed: int = 0
    """Files parsed since the cache was made: tests and benchmarks read it."""

    def get(self, relpath: str, signature: tuple[int, int, int, int]) -> Document | None:
        entry = self.entries.get(relpath)
        if entry is not None and entry[0] == signature:
            return entry[1]
        return None

    def by_digest(self, relpath: str, digest: str) -> Document | None:
        entry = self.entries.get(relpath)
        if entry is not None and entry[1].digest == digest:
            return entry[1]
        return None

    def put(self, signature: tuple[int, int, int, int], document: Document) -> None:
        self.entries[document.relpath] = (signature, document)

    def forget_except(self, seen: set[str], within: set[str] | None = None) -> None:
        """Drop entries of files not seen; with `within`, only under those folders."""
        for relpath in [path for path in self.entries if path not in seen]:
            if within is None or relpath.split("/", 1)[0] in within:
                del self.entries[relpath]


def read_tree(
    root: str | os.PathLike[str],
    cache: DocumentCache | None = None,
    *,
    previous: DesiredState | None = None,
    only: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DesiredState:
    """Read every pack folder under `root` into the desired state.

    With `previous` and `only` (folder names), only those folders, and folders that were not
    there before, are read again; the other folders' results are taken from `previous`. The
    root itself is always listed again, so a pack folder added or removed is never missed.
    A `previous` read from another resolved root (a git-sync swap) is ignored.
    `progress(done, total)` is called after each pack folder, for long reads.
    """
    resolved = _resolve_root(Path(root))
    state = DesiredState(root=str(resolved))
    reuse = previous.folders if previous is not None and previous.root == state.root else None
    seen: set[str] = set()
    folders = [e for e in _list_root(resolved) if not e.name.startswith(".") and _is_dir(e)]
    for done, entry in enumerate(folders, start=1):
        if progress is not None:
            progress(done, len(folders))
        folder = entry.name
        before = reuse.get(folder) if reuse is not None else None
        if before is not None and only is not None and folder not in only:
            state.folders[folder] = before
            continue
        state.folders[folder] = _read_pack(resolved, folder, cache, seen, before)
    if cache is not None:
        if reuse is not None and only is not None:
            cache.forget_except(seen, within=set(only))
        else:
            cache.forget_except(seen)
    bundles: list[PackBundle] = []
    for read in state.folders.values():
        state.warnings.extend(read.warnings)
        outcome = read.result
        if isinstance(outcome, PackBundle):
            bundles.append(outcome)
        elif outcome is not None:
            state.invalid.append(outcome)
    _settle_duplicates(state, bundles)
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


def _list_root(root: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(root) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except FileNotFoundError:
        raise TreeChanged(f"packs folder {str(root)!r} vanished while being read") from None
    except OSError as error:
        raise TreeUnreadable(f"packs folder {str(root)!r} cannot be listed: {error}") from None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


# --------------------------------------------------------------------------- one pack


@dataclass(slots=True)
class _Listing:
    pack_files: list[os.DirEntry[str]] = field(default_factory=list)
    components: list[tuple[DocKind, os.DirEntry[str]]] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    """YAML files in places nothing is read from (relative to the pack folder)."""
    unsynced_dirs: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Names that must be read but are not a regular file (or folder): a broken symlink,
    a socket. Never taken as absent: the pack is held as invalid instead."""


def _list_pack(folder: Path) -> _Listing:
    listing = _Listing()
    for entry in _scandir(folder):
        name = entry.name
        if name.startswith("."):
            continue
        if name in PACK_FILES:
            if _is_file(entry):
                listing.pack_files.append(entry)
            else:
                listing.unreadable.append(name)
        elif name in COMPONENT_DIRS and not _is_dir(entry):
            listing.unreadable.append(name)
        elif _is_dir(entry):
            kind = COMPONENT_DIRS.get(name)
            if kind is not None:
                for child in _scandir(Path(entry.path)):
                    if child.name.startswith("."):
                        continue
                    if _is_dir(child):
                        listing.stray.extend(_yaml_below(Path(child.path), f"{name}/{child.name}"))
                    elif child.name.endswith(YAML_SUFFIXES):
                        if _is_file(child):
                            listing.components.append((kind, child))
                        else:
                            listing.unreadable.append(f"{name}/{child.name}")
            elif name in NOT_YET_SYNCED:
                if any(True for _ in _yaml_below(Path(entry.path), name)):
                    listing.unsynced_dirs.append(name)
            else:
                listing.stray.extend(_yaml_below(Path(entry.path), name))
        elif name.endswith(YAML_SUFFIXES):
            listing.stray.append(name)
    listing.pack_files.sort(key=lambda entry: entry.name)
    listing.components.sort(key=lambda item: (item[0], item[1].name))
    listing.unreadable.sort()
    return listing


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _scandir(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        raise TreeChanged(f"{str(folder)!r} vanished while being read") from None


def _yaml_below(folder: Path, prefix: str) -> Iterable[str]:
    for entry in _scandir(folder):
        if entry.name.startswith("."):
            continue
        # Not through symlinks: a link back up the tree would make this walk endless.
        if entry.is_dir(follow_symlinks=False):
            yield from _yaml_below(Path(entry.path), f"{prefix}/{entry.name}")
        elif entry.name.endswith(YAML_SUFFIXES):
            yield f"{prefix}/{entry.name}"


def _read_pack(
    root: Path,
    folder: str,
    cache: DocumentCache | None,
    seen: set[str],
    before: FolderRead | None,
) -> FolderRead:
    try:
        listing = _list_pack(root / folder)
    except OSError as error:
        # Never read as "no pack here": the folder stays as the database has it.
        problem = Problem(
            folder,
            f"the pack folder cannot be read: {error.strerror or error}",
            hint="give attune-sync read access to the folder and everything in it",
        )
        return FolderRead(InvalidPack(folder, None, (problem,)), (), ("unreadable", str(error)))
    files = [(f"{folder}/{entry.name}", entry, "pack") for entry in listing.pack_files]
    files += [(f"{folder}/{kind}s/{entry.name}", entry, kind) for kind, entry in listing.components]
    signatures = {relpath: _signature(relpath, entry) for relpath, entry, _ in files}
    fingerprint = (
        tuple(signatures.items()),
        tuple(listing.stray),
        tuple(listing.unsynced_dirs),
        tuple(listing.unreadable),
    )
    seen.update(signatures)
    if before is not None and before.fingerprint == fingerprint:
        return before  # nothing in the folder changed since the last read
    warnings: list[Problem] = []
    result = _read_listed_pack(root, folder, listing, cache, signatures, warnings)
    return FolderRead(result, tuple(warnings), fingerprint)


def _signature(relpath: str, entry: os.DirEntry[str]) -> tuple[int, int, int, int]:
    try:
        stat = entry.stat()
    except FileNotFoundError:
        raise TreeChanged(f"{relpath} vanished while being read") from None
    # ctime too: any write moves it, and unlike mtime it cannot be set back.
    return (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)


def _read_listed_pack(
    root: Path,
    folder: str,
    listing: _Listing,
    cache: DocumentCache | None,
    signatures: dict[str, tuple[int, int, int, int]],
    warnings: list[Problem],
) -> PackBundle | InvalidPack | None:
    for stray in listing.stray:
        warnings.append(
            Problem(
                f"{folder}/{stray}",
                "this YAML file is not read",
                hint="pack files go in pack.yaml, triggers/*.yaml and sensors/*.yaml",
                severity="warning",
            )
        )
    for name in listing.unsynced_dirs:
        warnings.append(
            Problem(
                f"{folder}/{name}",
                f"{name} are not synced by attune-sync yet; these files are not read",
                severity="warning",
            )
        )
    if not listing.pack_files and not set(PACK_FILES) & set(listing.unreadable):
        if listing.components:
            warnings.append(
                Problem(
                    folder,
                    "folder has triggers or sensors but no pack.yaml, so it is not a pack",
                    hint="add a pack.yaml with ref, label and description",
                    severity="warning",
                )
            )
        return None

    problems: list[Problem] = [
        Problem(
            f"{folder}/{name}",
            "this must be read, but it is not a readable file or folder (a broken link?)",
            hint="restore it, or remove it if it should be gone",
        )
        for name in listing.unreadable
    ]
    if not listing.pack_files:  # pack.yaml is there but cannot be read
        return InvalidPack(folder, None, tuple(problems))
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
    pack_doc = _document(pack_path, pack_entry, "pack", cache, signatures[pack_path])
    problems.extend(pack_doc.problems)
    pack_ref = _pack_ref(pack_doc)

    triggers: dict[str, TriggerSpec] = {}
    sensors: dict[str, SensorSpec] = {}
    sources: dict[str, str] = {}
    digests = [(pack_doc.relpath, pack_doc.digest)]
    for kind, entry in listing.components:
        relpath = f"{folder}/{kind}s/{entry.name}"
        doc = _document(relpath, entry, kind, cache, signatures[relpath])
        digests.append((relpath, doc.digest))
        problems.extend(doc.problems)
        if doc.data is None or doc.problems or pack_ref is None:
            continue
        stem = entry.name.rsplit(".", 1)[0]
        ref = doc.data.get("ref") or f"{pack_ref}.{stem}"
        if not ref.startswith(f"{pack_ref}."):
            problems.append(
                Problem(
                    relpath,
                    f"{kind} ref {ref!r} does not start with the pack ref {pack_ref + '.'!r}",
                    field="ref",
                    hint=f"rename it to `{pack_ref}.{ref.rsplit('.', 1)[-1]}`, or leave "
                    "`ref` out to use the file name",
                )
            )
            continue
        if "ref" not in doc.data and not is_valid_ref(ref):
            problems.append(
                Problem(
                    relpath,
                    f"the file name gives the ref {ref!r}, which is not a valid ref",
                    hint="rename the file using letters, digits, '_' and '-', or set `ref`",
                )
            )
            continue
        key = f"{kind}:{ref}"
        if key in sources:
            problems.append(
                Problem(
                    relpath,
                    f"{kind} ref {ref!r} is also declared by {sources[key]}",
                    field="ref",
                    hint="give each file its own ref",
                )
            )
            continue
        sources[key] = relpath
        if kind == "trigger":
            triggers[ref] = _trigger(doc.data, ref, pack_ref, relpath)
        else:
            sensors[ref] = _sensor(doc.data, ref, pack_ref, relpath)

    if problems or pack_doc.data is None or pack_ref is None:
        if not problems:  # pragma: no cover - a pack without a ref always has a problem
            problems.append(Problem(pack_doc.relpath, "pack has no ref"))
        return InvalidPack(folder, pack_ref, tuple(problems))
    return PackBundle(
        pack=_pack(pack_doc.data),
        folder=folder,
        triggers=triggers,
        sensors=sensors,
        content_hash=_content_hash(digests),
        pack_file=pack_doc.relpath,
    )


def _pack_ref(doc: Document) -> str | None:
    ref = doc.data.get("ref") if doc.data is not None else None
    return ref if isinstance(ref, str) and is_valid_ref(ref) else None


def _content_hash(digests: list[tuple[str, str]]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for relpath, digest in sorted(digests):
        hasher.update(f"{relpath}\0{digest}\n".encode())
    return hasher.hexdigest()


# --------------------------------------------------------------------------- one file


def _document(
    relpath: str,
    entry: os.DirEntry[str],
    kind: DocKind,
    cache: DocumentCache | None,
    signature: tuple[int, int, int, int],
) -> Document:
    if cache is not None:
        hit = cache.get(relpath, signature)
        if hit is not None:
            return hit
    try:
        with open(entry.path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise TreeChanged(f"{relpath} vanished while being read") from None
    except OSError as error:
        return Document(relpath, "", None, (Problem(relpath, f"cannot read the file: {error}"),))
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    document = cache.by_digest(relpath, digest) if cache is not None else None
    if document is None:
        document = check_file(relpath, raw, kind, digest)
        if cache is not None:
            cache.parsed += 1
    if cache is not None:
        cache.put(signature, document)
    return document


_RULES = {"pack": PACK_RULES, "trigger": TRIGGER_RULES, "sensor": SENSOR_RULES}


def check_file(relpath: str, raw: bytes, kind: DocKind, digest: str = "") -> Document:
    """Parse and check one file on its own: syntax, fields, schemas, config."""
    try:
        data = parse(raw)
    except YamlProblem as error:
        return Document(
            relpath,
            digest,
            None,
            (Problem(relpath, error.message, error.line, error.column, error.field, error.hint),),
        )
    issues = check_document(data, _RULES[kind], kind)
    if isinstance(data, dict):
        for name in ("conf_schema", "param_schema", "out_schema"):
            if name in data and not any(issue.path[:1] == (name,) for issue in issues):
                issues.extend(schemas.schema_issues(data[name], (name,)))
        conf_schema, config = data.get("conf_schema"), data.get("config")
        if (
            kind == "pack"
            and isinstance(config, dict)
            and isinstance(conf_schema, dict)
            and not any(issue.path[:1] in (("config",), ("conf_schema",)) for issue in issues)
        ):
            issues.extend(schemas.config_issues(config, conf_schema))
    problems = tuple(_located(relpath, raw, issue) for issue in issues)
    return Document(relpath, digest, data if isinstance(data, dict) else None, problems)


def _located(relpath: str, raw: bytes, issue: FieldIssue) -> Problem:
    location = locate(raw, issue.path) if issue.path else None
    hint = issue.hint
    if issue.quote and location is not None and location.source:
        hint = f'quote it so it stays as written: `{issue.path[-1]}: "{location.source}"`'
    return Problem(
        relpath,
        issue.message,
        location.line if location else None,
        location.column if location else None,
        issue.dotted or None,
        hint,
    )


# --------------------------------------------------------------------------- specs


def _pack(data: dict[str, Any]) -> PackSpec:
    return PackSpec(
        ref=data["ref"],
        label=data["label"],
        description=data["description"],
        version=data.get("version"),
        conf_schema=data.get("conf_schema"),
        config=data.get("config"),
        meta=data.get("meta"),
        tags=tuple(data.get("tags") or ()),
        runtime_deps=tuple(data.get("runtime_deps") or ()),
        is_standard=data.get("is_standard", False),
    )


def _trigger(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> TriggerSpec:
    return TriggerSpec(
        ref=ref,
        pack_ref=pack_ref,
        label=data["label"],
        description=data.get("description"),
        enabled=data.get("enabled", True),
        param_schema=data.get("param_schema"),
        out_schema=data.get("out_schema"),
        source=source,
    )


def _sensor(data: dict[str, Any], ref: str, pack_ref: str, source: str) -> SensorSpec:
    return SensorSpec(
        ref=ref,
        pack_ref=pack_ref,
        label=data["label"],
        description=data["description"],
        entrypoint=data["entrypoint"],
        runtime_ref=data["runtime_ref"],
        trigger_ref=data["trigger_ref"],
        enabled=data.get("enabled", True),
        param_schema=data.get("param_schema"),
        source=source,
    )


# --------------------------------------------------------------------------- across packs


def _settle_duplicates(state: DesiredState, bundles: list[PackBundle]) -> None:
    """Refs are unique across the tree; every pack involved in a clash is left unapplied."""
    by_ref: dict[str, list[str]] = {}
    for bundle in bundles:
        by_ref.setdefault(bundle.pack.ref, []).append(bundle.folder)
    for invalid in state.invalid:
        if invalid.ref is not None:
            by_ref.setdefault(invalid.ref, []).append(invalid.folder)
    owners: dict[str, list[tuple[str, str]]] = {}
    for bundle in bundles:
        for kind, refs in (("trigger", bundle.triggers), ("sensor", bundle.sensors)):
            for ref, spec in refs.items():
                owners.setdefault(f"{kind} {ref}", []).append((bundle.pack.ref, spec.source))

    clashes: dict[str, list[Problem]] = {}
    for ref, folders in by_ref.items():
        if len(folders) > 1:
            for folder in folders:
                others = ", ".join(f"{other}/" for other in folders if other != folder)
                clashes.setdefault(folder, []).append(
                    Problem(
                        folder,
                        f"pack ref {ref!r} is also declared by {others}",
                        field="ref",
                        hint="pack refs are unique; rename one pack or remove the copy",
                    )
                )
    folder_of = {bundle.pack.ref: bundle.folder for bundle in bundles}
    for name, claims in owners.items():
        if len(claims) > 1:
            for pack_ref, source in claims:
                others = ", ".join(other for _, other in claims if other != source)
                clashes.setdefault(folder_of[pack_ref], []).append(
                    Problem(
                        source,
                        f"{name} is also declared by {others}",
                        field="ref",
                        hint="refs are unique across all packs; rename one of them",
                    )
                )
    for bundle in bundles:
        found = clashes.get(bundle.folder)
        if found:
            state.invalid.append(InvalidPack(bundle.folder, bundle.pack.ref, tuple(found)))
        else:
            state.packs[bundle.pack.ref] = bundle
    for index, invalid in enumerate(state.invalid):
        extra = clashes.get(invalid.folder)
        if extra and invalid.problems and all(p not in invalid.problems for p in extra):
            state.invalid[index] = InvalidPack(
                invalid.folder, invalid.ref, invalid.problems + tuple(extra)
            )
    state.invalid.sort(key=lambda pack: pack.folder)
