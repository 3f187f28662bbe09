"""Deletes: which go ahead, which are held back, and in what order they run. Pure.

A delete is held back when something that stays after the run still uses what it removes:
a trigger a staying sensor fires or a staying rule watches, an action a staying rule runs, a
runtime a staying sensor or action runs on. Keeping a pack keeps everything in it, which can
keep what another pack was about to delete: this runs to a fixpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Set
from typing import Any

from .guards import Deletes
from .model import COMPONENT_KINDS, ActualState, Change, HeldBack, Kind, PackBundle

_USES: dict[str, tuple[tuple[str, Kind], ...]] = {
    "sensor": (("trigger_refs", "trigger"), ("runtime_ref", "runtime")),
    "action": (("runtime_ref", "runtime"),),
    "rule": (("trigger_ref", "trigger"), ("action_ref", "action")),
}
"""User kind -> (its value naming a target, the target's kind)."""

_HELD_KINDS: tuple[Kind, ...] = ("action", "trigger", "runtime")


def keep_moved_components(
    valid: Mapping[str, PackBundle], deletes: Deletes
) -> dict[Kind, Set[str]]:
    """`deletes` without the components that moved to another pack (updated there, never
    deleted). A new value; `deletes` is left as it is."""
    kept: dict[Kind, Set[str]] = dict(deletes)
    for kind in COMPONENT_KINDS:
        if deletes[kind]:
            declared = set().union(*(b.components(kind).keys() for b in valid.values()))
            kept[kind] = deletes[kind] - declared
    return kept


def _uses(
    actual: ActualState, upserts: list[Change]
) -> dict[tuple[str, str], list[tuple[str, str, str | None]]]:
    """(target kind, ref) -> (user kind, user ref, user's pack) for every row after updates."""
    updated: dict[tuple[str, str], dict[str, Any] | None] = {
        (change.kind, change.ref): change.values
        for change in upserts
        if change.action == "update" and change.values
    }
    found: dict[tuple[str, str], list[tuple[str, str, str | None]]] = defaultdict(list)
    for user_kind, links in _USES.items():
        for ref, row in actual.objects(user_kind).items():  # type: ignore[arg-type]
            values: dict[str, Any] = {**row.values, **(updated.get((user_kind, ref)) or {})}
            for key, target_kind in links:
                targets = values.get(key)
                for target in targets if isinstance(targets, list) else [targets]:
                    if isinstance(target, str):
                        found[(target_kind, target)].append(
                            (user_kind, ref, values.get("pack_ref"))
                        )
    for trigger_ref, rules in actual.rule_trigger_refs.items():
        for rule, pack in rules:
            if rule not in actual.rules:
                found[("trigger", trigger_ref)].append(("rule", rule, pack))
    return found


def hold_back_broken_references(
    actual: ActualState, upserts: list[Change], planned: Deletes
) -> tuple[dict[Kind, Set[str]], list[HeldBack]]:
    """Hold back deletes of what something staying in the database still uses.

    Returns the deletes that go ahead and the holds (code `still_used`), as new values, like
    the guards in `guards`; `planned` is left as it is.
    """
    if not any(planned[kind] for kind in ("pack", *_HELD_KINDS)):
        return dict(planned), []
    uses = _uses(actual, upserts)
    deletes: dict[Kind, set[str]] = {kind: set(refs) for kind, refs in planned.items()}

    def users(kind: str, ref: str) -> list[str]:
        return [
            f"{user_kind} {user!r}"
            for user_kind, user, pack in uses.get((kind, ref), ())
            if pack not in deletes["pack"] and user not in deletes[user_kind]  # type: ignore[index]
        ]

    held: list[HeldBack] = []
    while True:
        changed = False
        for kind in _HELD_KINDS:
            for ref in sorted(deletes[kind]):
                found = users(kind, ref)
                if found:
                    deletes[kind].discard(ref)
                    held.append(HeldBack("delete", kind, ref, still_used(found), "still_used"))
                    changed = True
        stuck = {
            ref: why
            for ref in sorted(deletes["pack"])
            if (why := _stuck(ref, actual, deletes, users))
        }
        for pack_ref, reason in stuck.items():
            deletes["pack"].discard(pack_ref)
            held.append(HeldBack("delete", "pack", pack_ref, reason, "still_used"))
        if not changed and not stuck:
            return {kind: frozenset(refs) for kind, refs in deletes.items()}, held


def _stuck(pack_ref: str, actual: ActualState, deletes: Deletes, users: Any) -> str:
    """Why deleting `pack_ref` must wait, or "" when nothing staying needs what it holds."""
    rules = [
        f"rule {rule!r}"
        for rule, pack in actual.rule_action_packs.get(pack_ref, ())
        if pack not in deletes["pack"] and rule not in deletes["rule"]
    ]
    if rules:
        return "its actions: " + still_used(rules)
    for kind in _HELD_KINDS:
        for ref in sorted(actual.components_of(kind, pack_ref)):
            found = users(kind, ref)
            if found:
                return f"its {kind} {ref!r}: " + still_used(found)
    return ""


def still_used(users: list[str]) -> str:
    shown = ", ".join(sorted(users)[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
    return f"still used by {shown}, which stays"


_DELETE_ORDER: tuple[Kind, ...] = ("rule", "sensor", "action", "trigger", "runtime")


def delete_changes(actual: ActualState, deletes: Deletes) -> list[Change]:
    changes: list[Change] = []
    gone_packs = deletes["pack"]
    for kind in _DELETE_ORDER:
        for ref in sorted(deletes[kind]):
            row = actual.objects(kind)[ref]
            if row.values.get("pack_ref") in gone_packs:
                continue  # the pack's cascade removes it
            changes.append(Change("delete", kind, ref, row.values.get("pack_ref")))
    # No cascade reaches runtimes: they go once the pack, and so its sensors and actions, went.
    orphans = [
        Change("delete", "runtime", ref, pack_ref)
        for pack_ref in sorted(gone_packs)
        for ref in sorted(actual.components_of("runtime", pack_ref))
    ]
    for ref in sorted(gone_packs):
        cascade = {
            "triggers": len(actual.components_of("trigger", ref)),
            "sensors": len(actual.components_of("sensor", ref)),
            "actions": max(
                actual.action_counts.get(ref, 0), len(actual.components_of("action", ref))
            ),
            "rules": max(actual.rule_counts.get(ref, 0), len(actual.components_of("rule", ref))),
            "runtimes": len(actual.components_of("runtime", ref)),
        }
        changes.append(Change("delete", "pack", ref, ref, cascade=cascade))
    return changes + orphans


_ORDER: dict[str, int] = {"pack": 0}
_ORDER.update((kind, index) for index, kind in enumerate(COMPONENT_KINDS, start=1))


def ordered(upserts: list[Change]) -> list[Change]:
    """Packs first, then each kind before the kinds that refer to it."""
    return sorted(upserts, key=lambda change: (_ORDER[change.kind], change.ref))
