"""Validation problems for CI systems: GitHub workflow annotations and JUnit XML. Pure.

GitHub shows `::error file=…,line=…,col=…::message` lines of a step's output on the changed
lines of a pull request; `file` is relative to the repository (the workspace), so the caller
passes the packs folder as the repository sees it. Other CI systems read JUnit XML: one test
case per pack folder, a failure per invalid pack, warnings in the suite's system-out.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

from .model import InvalidPack, Problem


def _escape_data(text: str) -> str:
    # The workflow-command escapes GitHub's runner undoes (toolkit's escapeData).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem, packs_prefix: str = "") -> str:
    """One `::error …::` (or `::warning …::`) line for `problem`.

    `packs_prefix` is the packs folder relative to the repository root ('' when it is the
    root), so the annotation lands on the file GitHub knows.
    """
    path = posixpath.normpath(posixpath.join(packs_prefix, problem.path)) if problem.path else ""
    properties = [f"file={_escape_property(path)}"] if path else []
    if problem.line is not None:
        properties.append(f"line={problem.line}")
        if problem.column is not None:
            properties.append(f"col={problem.column}")
    title = f"attune-sync: {problem.field}" if problem.field else "attune-sync"
    properties.append(f"title={_escape_property(title)}")
    message = problem.message + (f" (hint: {problem.hint})" if problem.hint else "")
    return f"::{problem.severity} {','.join(properties)}::{_escape_data(message)}"


def render_github(problems: Iterable[Problem], packs_prefix: str = "") -> str:
    """Annotations, one a line; an empty string when there is nothing to say."""
    return "\n".join(github_annotation(problem, packs_prefix) for problem in problems)


def render_junit(
    valid: Mapping[str, str],
    invalid: Iterable[InvalidPack],
    warnings: Iterable[Problem],
    suite: str = "attune-sync validate",
) -> str:
    """A JUnit XML report: `valid` maps each valid pack's ref to its folder."""
    broken = sorted(invalid, key=lambda pack: pack.folder)
    notes = [problem.render() for problem in warnings]
    root = ET.Element("testsuites")
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(valid) + len(broken)),
        failures=str(len(broken)),
        errors="0",
        skipped="0",
    )
    cases: list[tuple[str, str | None, InvalidPack | None]]
    cases = [(folder, ref, None) for ref, folder in valid.items()]
    cases += [(pack.folder, pack.ref, pack) for pack in broken]
    for folder, ref, pack in sorted(cases, key=lambda case: case[0]):
        name = f"{ref} ({folder}/)" if ref else f"{folder}/"
        case = ET.SubElement(element, "testcase", classname="attune-sync.pack", name=name)
        if pack is not None:
            errors = [p for p in pack.problems if p.severity == "error"]
            first = errors[0].render() if errors else "invalid pack"
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(pack.problems)} problem(s); first: {first}",
                type="invalid pack",
            )
            failure.text = "\n".join(problem.render() for problem in pack.problems)
    if notes:
        ET.SubElement(element, "system-out").text = "\n".join(notes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
