"""A plan as a pull request comment (GitHub-flavoured Markdown). Pure.

A summary table per kind, then each pack's changes in a collapsible section, as a `diff`
block so additions and removals are coloured. Values are the plan's display values, in
which secrets are already masked; the unmasked `Change.values` are never read here. The
comment is capped (GitHub refuses comments over 65,536 characters): once the cap is near,
the remaining packs are left out and a note says how many and how to see them.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable

from .model import FIELDS_BY_KIND, Change, HeldBack, InvalidPack, Plan
from .render import change_heading, show, summary

MARKER = "<!-- attune-sync-plan -->"
"""First line of every comment: what a CI job searches for to update its comment in place."""
DEFAULT_MAX_CHARS = 60_000
_COLUMNS = ("add", "change", "destroy", "held back", "invalid")
_ACTION_COLUMN = {"create": "add", "update": "change", "delete": "destroy"}
_CUT_LINE = "… {} more line(s) cut"

Section = tuple[str, list[str], str]
"""A collapsible section: its title (HTML), its lines, and the code block's language."""


def _kinds(plan: Plan) -> list[str]:
    """Every kind the plan mentions: the known ones in their order, then any others."""
    seen = {change.kind for change in plan.changes} | {item.kind for item in plan.held_back}
    if plan.invalid:
        seen.add("pack")
    known: list[str] = [kind for kind in FIELDS_BY_KIND if kind in seen]
    return known + sorted(seen.difference(known))


def summary_table(plan: Plan) -> list[str]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COLUMNS, 0))
    for change in plan.changes:
        counts[change.kind][_ACTION_COLUMN[change.action]] += 1
    for item in plan.held_back:
        counts[item.kind]["held back"] += 1
    for _pack in plan.invalid:
        counts["pack"]["invalid"] += 1
    lines = [
        "| kind | " + " | ".join(_COLUMNS) + " |",
        "|---|" + "---:|" * len(_COLUMNS),
    ]
    for kind in _kinds(plan):
        row = counts[kind]
        lines.append(f"| {kind} | " + " | ".join(str(row[c]) for c in _COLUMNS) + " |")
    return lines


def _change_lines(change: Change) -> list[str]:
    head = change_heading(change)
    if change.action == "update":
        # `diff` colours whole lines: the old value red, the new one green.
        lines = [head]
        for field in change.shown:
            lines.append(f"-     {field.field}: {show(field.old)}")
            lines.append(f"+     {field.field}: {show(field.new)}")
        return lines
    prefix = "+" if change.action == "create" else "-"
    return [head] + [f"{prefix}     {field.field}: {show(field.new)}" for field in change.shown]


def _fence(lines: list[str]) -> str:
    """A fence longer than any backtick run in the text, so no value can close it early."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _details(title: str, lines: list[str], language: str = "diff") -> list[str]:
    fence = _fence(lines)
    return [
        f"<details><summary>{title}</summary>",
        "",
        f"{fence}{language}",
        *lines,
        fence,
        "",
        "</details>",
    ]


def _pack_title(pack: str, changes: list[Change]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for change in changes:
        counts[_ACTION_COLUMN[change.action]] += 1
    parts = [f"{counts[name]} to {name}" for name in ("add", "change", "destroy") if counts[name]]
    return f"<code>{html.escape(pack)}</code>: {', '.join(parts)}"


def _pack_sections(plan: Plan) -> list[Section]:
    changes: dict[str, list[Change]] = defaultdict(list)
    for change in plan.changes:
        changes[change.pack_ref or change.ref].append(change)
    return [
        (
            _pack_title(pack, changes[pack]),
            [line for change in changes[pack] for line in _change_lines(change)],
            "diff",
        )
        for pack in sorted(changes)
    ]


def _held_back_section(held: Iterable[HeldBack]) -> Section:
    lines = [f"! {item.action} {item.kind} {item.ref}: {item.reason}" for item in held]
    return "<b>Held back</b> (not applied)", lines, "text"


def _invalid_section(invalid: Iterable[InvalidPack]) -> Section:
    lines: list[str] = []
    for pack in invalid:
        name = f"{pack.ref} in {pack.folder}/" if pack.ref else f"{pack.folder}/"
        lines.append(f"✗ {name} is invalid and stays as it is:")
        lines.extend(f"    {problem.render()}" for problem in pack.problems)
    return "<b>Invalid packs</b> (left as they are in the database)", lines, "text"


def render_markdown(plan: Plan, max_chars: int = DEFAULT_MAX_CHARS, title: str = "") -> str:
    """The comment for `plan`, at most `max_chars` characters long."""
    heading = f"### {title or 'attune-sync plan'}"
    head = [MARKER, heading, "", f"**{summary(plan)}**", ""]
    if not plan.changes and not plan.held_back and not plan.invalid:
        return "\n".join([*head, "No changes: the database matches the packs folder.", ""])
    head += [*summary_table(plan), ""]
    sections: list[Section] = []
    if plan.invalid:
        sections.append(_invalid_section(plan.invalid))
    if plan.held_back:
        sections.append(_held_back_section(plan.held_back))
    sections += _pack_sections(plan)
    if plan.warnings:
        warnings = [problem.render() for problem in plan.warnings]
        sections.append((f"{len(plan.warnings)} warning(s)", warnings, "text"))
    return _capped(head, sections, max_chars)


def _capped(head: list[str], sections: list[Section], max_chars: int) -> str:
    text = "\n".join(head) + "\n"
    budget = max_chars - 300  # room for the note that says what was cut
    for index, section in enumerate(sections):
        block = "\n".join(_details(*section)) + "\n"
        if len(text) + len(block) <= budget:
            text += block
            continue
        # The first section that does not fit shows its first lines, if any fit at all.
        title, lines, language = section
        shown: list[str] = []
        for line in lines:
            trial = _details(title, [*shown, line, _CUT_LINE.format(len(lines))], language)
            if len(text) + len("\n".join(trial)) + 1 > budget:
                break
            shown.append(line)
        left = len(sections) - index
        if shown:
            cut = [*shown, _CUT_LINE.format(len(lines) - len(shown))]
            text += "\n".join(_details(title, cut, language)) + "\n"
            left -= 1
        return text + (
            f"\n> **Cut:** this comment is capped at {max_chars:,} characters"
            + (f"; {left} more section{'s' if left != 1 else ''} not shown" if left else "")
            + ". Run `attune-sync diff` for the whole plan.\n"
        )
    return text
