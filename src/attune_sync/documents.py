"""One pack file: parsed, checked against its kind's table, located; and the parse cache.

A `Document` is a pure function of a file's path and bytes, so it can be cached by digest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from . import flatschema
from .digests import file_digest
from .fieldcheck import normalize
from .fields import TABLES, FieldIssue, FieldType, KindTable
from .model import Problem
from .readfs import LOCAL, LocalFileSystem, TreeChanged
from .yamlload import MAX_FILE_BYTES, YamlProblem, locate, parse

DocKind = Literal["pack", "runtime", "trigger", "action", "sensor", "rule"]


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

    def shared(
        self, relpath: str, signature: tuple[int, int, int, int]
    ) -> tuple[str, tuple[int, int, int, int]]:
        """`relpath` and `signature` as the cache already holds them, when they match.

        A reader keeps both in its folder's fingerprint; taking the cache's objects keeps one
        copy of each for a tree parsed ahead (`parse_ahead`) instead of two (12 MB on the
        standard tree).
        """
        entry = self.entries.get(relpath)
        if entry is not None and entry[0] == signature:
            return entry[1].relpath, entry[0]
        return relpath, signature

    def by_digest(self, relpath: str, digest: str) -> Document | None:
        entry = self.entries.get(relpath)
        if entry is not None and entry[1].digest == digest:
            return entry[1]
        return None

    def refile(
        self, relpath: str, signature: tuple[int, int, int, int], digest: str
    ) -> Document | None:
        """The document made from these bytes, filed again under the file's new signature
        (a new worktree changes every stat, not the bytes); None when there is none."""
        document = self.by_digest(relpath, digest)
        if document is not None:
            self.put(signature, document)
        return document

    def put(self, signature: tuple[int, int, int, int], document: Document) -> None:
        self.entries[document.relpath] = (signature, document)

    def forget_except(self, seen: set[str], within: set[str] | None = None) -> None:
        """Drop entries of files not seen; with `within`, only under those folders."""
        for relpath in [path for path in self.entries if path not in seen]:
            if within is None or relpath.split("/", 1)[0] in within:
                del self.entries[relpath]


def load_document(
    relpath: str,
    entry: os.DirEntry[str],
    kind: DocKind,
    cache: DocumentCache | None,
    signature: tuple[int, int, int, int],
    fs: LocalFileSystem = LOCAL,
) -> Document:
    if cache is not None:
        hit = cache.get(relpath, signature)
        if hit is not None:
            return hit
    try:
        raw = fs.read(entry.path)
    except FileNotFoundError:
        raise TreeChanged(f"{relpath} vanished while being read") from None
    except OSError as error:
        return Document(relpath, "", None, (Problem(relpath, f"cannot read the file: {error}"),))
    digest = file_digest(raw)
    if cache is None:
        return check_file(relpath, raw, kind, digest)
    document = cache.refile(relpath, signature, digest)
    if document is None:
        document = check_file(relpath, raw, kind, digest)
        cache.parsed += 1
        cache.put(signature, document)
    return document


def check_file(relpath: str, raw: bytes, kind: DocKind, digest: str = "") -> Document:
    """Parse and check one file on its own: syntax, fields, schemas, config.

    The document's data has canonical keys (aliases replaced by the names they stand for).
    """
    try:
        data = parse(raw)
    except YamlProblem as error:
        return Document(
            relpath,
            digest,
            None,
            (Problem(relpath, error.message, error.line, error.column, error.field, error.hint),),
        )
    table = TABLES[kind]
    issues, canonical = normalize(data, table)
    if canonical is not None:
        # Issues keep the key as the file wrote it, so fields are matched through `written`.
        written = {table.field(key).name: key for key in data if key in table}
        issues.extend(_schema_issues(canonical, table, written, _broken(issues)))
        issues.extend(_cross_issues(kind, canonical, written, _broken(issues)))
    problems = tuple(_located(relpath, raw, issue) for issue in issues)
    return Document(relpath, digest, canonical, problems)


def _broken(issues: list[FieldIssue]) -> set[str | int]:
    """The top-level keys that already have an issue."""
    return {issue.path[0] for issue in issues if issue.path}


def _schema_issues(
    canonical: dict[str, Any],
    table: KindTable,
    written: dict[str, str],
    broken: set[str | int],
) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    for rule in table:
        key = written.get(rule.name)
        if rule.type == FieldType.SCHEMA and key is not None and key not in broken:
            issues.extend(flatschema.flat_issues(canonical[rule.name], (key,)))
    return issues


def _cross_issues(
    kind: DocKind,
    canonical: dict[str, Any],
    written: dict[str, str],
    broken: set[str | int],
) -> list[FieldIssue]:
    """Checks across fields: a pack's config against its conf_schema, a runtime's versions."""
    # A schema with problems (bad $schema, bad regex) cannot check the config: one error.
    conf_schema, config = canonical.get("conf_schema"), canonical.get("config")
    if (
        kind == "pack"
        and isinstance(config, dict)
        and isinstance(conf_schema, dict)
        and not {written.get("config"), written.get("conf_schema")} & broken
    ):
        return flatschema.config_issues(config, conf_schema)
    if kind == "runtime" and "versions" not in broken:
        return _version_issues(canonical.get("versions"))
    return []


def _version_issues(versions: Any) -> list[FieldIssue]:
    """Each entry of a runtime's `versions` names its version (Attune skips one that does not)."""
    if not isinstance(versions, list):
        return []
    return [
        FieldIssue(
            ("versions", index),
            "a runtime version needs a `version` string",
            hint='write `- version: "3.12"` and its other keys under it',
        )
        for index, entry in enumerate(versions)
        if not isinstance(entry.get("version"), str) or not entry["version"]
    ]


def _located(relpath: str, raw: bytes, issue: FieldIssue) -> Problem:
    location = locate(raw, issue.path, at_key=issue.at_key) if issue.path else None
    hint = issue.hint
    message = issue.message
    if issue.other is not None:
        other = locate(raw, issue.other)
        if other is not None:
            message += f"; `{issue.other[-1]}` is on line {other.line}"
    if issue.quote and location is not None and location.source:
        hint = f'quote it so it stays as written: `{issue.path[-1]}: "{location.source}"`'
    return Problem(
        relpath,
        message,
        location.line if location else None,
        location.column if location else None,
        issue.dotted or None,
        hint,
    )


_KIND_OF_FOLDER = {"runtimes": "runtime", "triggers": "trigger", "actions": "action"}
_KIND_OF_FOLDER.update(sensors="sensor", rules="rule")


def locate_problem(root: str, problem: Problem) -> Problem:
    """`problem` with the line and column of its field, read from the file (error path only).

    The field is named canonically; the file may have written an alias, which is looked up
    in the kind's table.
    """
    if problem.line is not None or problem.field is None:
        return problem
    if not problem.path.endswith((".yaml", ".yml")):
        return problem
    parts = problem.path.split("/")
    kind = _KIND_OF_FOLDER.get(parts[-2], "pack") if len(parts) > 2 else "pack"
    try:
        with open(os.path.join(root, problem.path), "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        data = parse(raw)
    except (OSError, YamlProblem):
        return problem
    steps = _steps(problem.field)
    if isinstance(data, dict) and steps and steps[0] not in data and steps[0] in TABLES[kind]:
        written = [name for name in TABLES[kind].field(str(steps[0])).names if name in data]
        if written:
            steps[0] = written[0]
    where = locate(raw, steps)
    if where is None:
        return problem
    return replace(problem, line=where.line, column=where.column)


def _steps(dotted: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in dotted.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        for index in rest.rstrip("]").split("][") if rest else ():
            steps.append(int(index) if index.isdigit() else index)
    return steps
