"""Render plans and problems for people (terraform-style text) and machines (JSON). Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .model import Change, HeldBack, Plan, Problem
from .notes import SkippedNote
from .secrets import json_default

_SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_COLOUR = {"create": "32", "update": "33", "delete": "31", "error": "31", "warning": "35"}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def show(value: Any) -> str:
    """A value as compact JSON, the way it is stored."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=json_default
    )


def change_heading(change: Change, *, field_names: bool = False) -> str:
    """`+ kind ref`, with adoption and a delete's cascade: the first line of a change.

    `field_names`: an update also names its changed fields, `~ trigger a.t (label, enabled)`
    (the one line `apply` prints per change on a big plan; names only, never values)."""
    head = f"{_SYMBOL[change.action]} {change.kind} {change.ref}"
    if field_names and change.action == "update" and change.fields:
        head += f" ({', '.join(field.field for field in change.fields)})"
    if change.adopt:
        head += "  (adopted: exists in the database, managed by attune-sync from now on)"
    if change.cascade:
        parts = [
            f"{count} {name if count != 1 else name[:-1]}"
            for name, count in change.cascade.items()
            if count
        ]
        head += f"  (with {', '.join(parts)})" if parts else ""
    return head


def render_change(change: Change, colour: bool = False) -> list[str]:
    lines = [_paint(change_heading(change), _COLOUR[change.action], colour)]
    for field in change.shown:
        if change.action == "create":
            lines.append(f"    {field.field}: {show(field.new)}")
        else:
            lines.append(f"    {field.field}: {show(field.old)} → {show(field.new)}")
    return lines


def render_problem(problem: Problem, colour: bool = False) -> str:
    return _paint(problem.render(), _COLOUR[problem.severity], colour)


def summary(plan: Plan) -> str:
    text = (
        f"Plan: {plan.count('create')} to add, {plan.count('update')} to change, "
        f"{plan.count('delete')} to destroy"
    )
    extras = []
    if plan.held_back:
        extras.append(f"{len(plan.held_back)} held back")
    if plan.invalid:
        extras.append(f"{len(plan.invalid)} invalid pack{'s' if len(plan.invalid) != 1 else ''}")
    return text + (f"; {', '.join(extras)}." if extras else ".")


def render_plan(plan: Plan, colour: bool = False, *, values: bool = True) -> str:
    """The plan as text. `values=False` (apply on a big plan): one line per change, its
    heading and, for an update, the changed fields' names; held-back deletes, invalid packs,
    overrides and warnings are printed in full either way."""
    lines: list[str] = []
    for change in plan.changes:
        if values:
            lines.extend(render_change(change, colour))
        else:
            heading = change_heading(change, field_names=True)
            lines.append(_paint(heading, _COLOUR[change.action], colour))
    if plan.held_back:
        lines.append("")
        lines.append("Held back (not applied):")
        lines.extend(render_held_back(plan.held_back))
    lines.extend(render_invalid(plan, colour))
    lines.extend(render_overrides(plan))
    lines.extend(render_problem(problem, colour) for problem in plan.warnings)
    if not plan.changes and not plan.held_back and not plan.invalid:
        lines.append("No changes: the database matches the packs folder.")
    lines.append(summary(plan))
    return "\n".join(lines)


def render_held_back(held: Iterable[HeldBack]) -> list[str]:
    """One line per hold; holds that share a reason (a mass delete) give it once."""
    by_reason: dict[str, list[HeldBack]] = {}
    for item in held:
        by_reason.setdefault(item.reason, []).append(item)
    lines = []
    for reason, items in by_reason.items():
        if len(items) == 1:
            [item] = items
            lines.append(f"  ! {item.action} {item.kind} {item.ref}: {reason}")
            continue
        lines.append(f"  ! {len(items)} changes: {reason}")
        lines.extend(f"      {item.action} {item.kind} {item.ref}" for item in items)
    return lines


def held_back_lines(held: Iterable[HeldBack]) -> list[str]:
    """One line per reason, for logs and status: a mass delete gives its reason once."""
    by_reason: dict[str, list[HeldBack]] = {}
    for item in held:
        by_reason.setdefault(item.reason, []).append(item)
    return [
        f"held back {', '.join(f'{i.action} {i.kind} {i.ref}' for i in items)}: {reason}"
        for reason, items in by_reason.items()
    ]


def render_overrides(plan: Plan) -> list[str]:
    """API overrides of `enabled` that the sync keeps, and those the files end."""
    lines = []
    if plan.overrides_kept:
        lines += [
            "",
            "Overrides kept (set through the API; `attune-sync override clear` ends one):",
        ]
        lines += [f"  = {override.describe()}" for override in plan.overrides_kept]
    if plan.ended_overrides:
        lines += ["", "Overrides ended (the file changed `enabled`, so the file applies):"]
        lines += [f"  - {kind} {ref}" for kind, ref in plan.ended_overrides]
    return lines


def render_invalid(plan: Plan, colour: bool = False) -> list[str]:
    lines = []
    for pack in plan.invalid:
        lines.append("")
        name = f"{pack.ref!r} in {pack.folder}/" if pack.ref else f"{pack.folder}/"
        lines.append(
            _paint(f"✗ pack {name} is invalid and stays as it is:", _COLOUR["error"], colour)
        )
        lines.extend("    " + render_problem(problem, colour) for problem in pack.problems)
    return lines


def plan_json(plan: Plan, **extra: Any) -> dict[str, Any]:
    return {
        "changes": [change.as_json() for change in plan.changes],
        "held_back": [item.as_json() for item in plan.held_back],
        "errors": [problem.as_json() for problem in plan.errors],
        "invalid_packs": [
            {"folder": pack.folder, "ref": pack.ref, "errors": len(pack.problems)}
            for pack in plan.invalid
        ],
        "warnings": [problem.as_json() for problem in plan.warnings],
        "overrides": [override.as_json() for override in plan.overrides_kept],
        "ended_overrides": [{"kind": kind, "ref": ref} for kind, ref in plan.ended_overrides],
        "notes": [note.as_json() for note in plan.notes],
        "summary": {
            "create": plan.count("create"),
            "update": plan.count("update"),
            "delete": plan.count("delete"),
            "held_back": len(plan.held_back),
            "invalid_packs": len(plan.invalid),
        },
        **extra,
    }


def problems_json(
    problems: Iterable[Problem], notes: Iterable[SkippedNote] = (), **extra: Any
) -> dict[str, Any]:
    found = list(problems)
    return {
        "valid": not any(problem.severity == "error" for problem in found),
        "errors": [p.as_json() for p in found if p.severity == "error"],
        "warnings": [p.as_json() for p in found if p.severity == "warning"],
        "notes": [note.as_json() for note in notes],
        **extra,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False, default=json_default)
