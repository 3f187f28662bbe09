"""Guards: the rules that turn a planned delete into a hold. Pure: no I/O.

Each guard takes the deletes the plan would make and returns the deletes it lets through
and the holds it made, as new values; nothing is changed in place. Every hold carries a
`code` (one of `HOLD_CODES`) beside its prose reason, so machines need not parse the text.

* `unknown_folder_guard`: a pack folder whose ref cannot be read may be any missing pack,
  so no pack is deleted.
* `mass_delete_guard`: deleting more than a share of the managed objects (packs and
  everything in them), every managed pack, or every component of a pack that had several
  needs `allow_mass_delete`. Catches a sparse checkout or a copy step that kept only the
  `pack.yaml` files as well as an empty folder.
* `still_used_guard`: a trigger (or a pack with its triggers and actions) that something
  staying in the database still uses is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .model import COMPONENT_KINDS, ActualState, Change, HeldBack, InvalidPack, Kind, PackBundle

HoldCode = Literal["unknown_folder", "mass_delete", "pack_emptied", "still_used"]
HOLD_CODES: tuple[HoldCode, ...] = ("unknown_folder", "mass_delete", "pack_emptied", "still_used")

Deletes = Mapping[Kind, frozenset[str]]
"""Refs to delete, per kind. A pack's delete takes its components with it (cascade)."""

_ALL_KINDS: tuple[Kind, ...] = ("pack", *COMPONENT_KINDS)

EMPTIED_PACK_MINIMUM = 2
"""A pack that had at least this many components and would lose all of them is held."""


@dataclass(frozen=True, slots=True)
class MassDeleteLimits:
    allow: bool
    max_share: float


def deletes_of(**refs: Iterable[str]) -> dict[Kind, frozenset[str]]:
    """A deletes mapping with every kind present."""
    found: dict[Kind, frozenset[str]] = {"pack": frozenset(refs.get("pack", ()))}
    for kind in COMPONENT_KINDS:
        found[kind] = frozenset(refs.get(kind, ()))
    return found


def _without(deletes: Deletes, kind: Kind, refs: Collection[str]) -> dict[Kind, frozenset[str]]:
    kept = dict(deletes)
    kept[kind] = deletes[kind] - frozenset(refs)
    return kept


# --------------------------------------------------------------------------- unknown folder


def unknown_folder_guard(
    doomed_packs: frozenset[str], invalid: Iterable[InvalidPack], actual: ActualState
) -> tuple[frozenset[str], list[HeldBack]]:
    """Hold every pack delete while a folder of unknown ref could be one of those packs."""
    # An unreadable pack.yaml hides its ref; the folder it was last synced from still tells.
    known_folders = {info.folder for info in actual.managed.values()}
    unknown = sorted(
        pack.folder for pack in invalid if pack.ref is None and pack.folder not in known_folders
    )
    if not doomed_packs or not unknown:
        return doomed_packs, []
    reason = (
        f"a pack folder could not be read well enough to tell its ref ({', '.join(unknown)}); "
        "it may be this pack, so no pack is deleted"
    )
    held = [
        HeldBack("delete", "pack", ref, reason, "unknown_folder") for ref in sorted(doomed_packs)
    ]
    return frozenset(), held


# --------------------------------------------------------------------------- mass delete


def _pack_size(actual: ActualState, pack_ref: str) -> int:
    """The pack and the components a delete of it cascades to."""
    return 1 + sum(len(actual.components_of(kind, pack_ref)) for kind in COMPONENT_KINDS)


def _managed_objects(actual: ActualState) -> int:
    return sum(_pack_size(actual, ref) for ref in actual.managed)


def _deleted_objects(deletes: Deletes, actual: ActualState) -> int:
    count = sum(_pack_size(actual, ref) for ref in deletes["pack"])
    for kind in COMPONENT_KINDS:
        rows = actual.objects(kind)
        count += sum(
            1
            for ref in deletes[kind]
            if ref in rows and rows[ref].values.get("pack_ref") not in deletes["pack"]
        )
    return count


def _over_limit(deletes: Deletes, actual: ActualState, limits: MassDeleteLimits) -> str | None:
    """Why these deletes are too many, or None when they are within the limits."""
    packs, managed = len(deletes["pack"]), len(actual.managed)
    limit = f"over the {limits.max_share:.0%} limit"
    if packs and (packs == managed or packs / managed > limits.max_share):
        return f"would delete {packs} of {managed} managed packs ({packs / managed:.0%}, {limit})"
    objects, total = _deleted_objects(deletes, actual), _managed_objects(actual)
    if objects and total and objects / total > limits.max_share:
        return (
            f"would delete {objects} of the {total} managed objects (packs with their triggers "
            f"and sensors; {objects / total:.0%}, {limit})"
        )
    return None


_CHECK = "check the packs folder, or pass --allow-mass-delete"


def mass_delete_guard(
    deletes: Deletes, actual: ActualState, limits: MassDeleteLimits
) -> tuple[dict[Kind, frozenset[str]], list[HeldBack]]:
    """Hold every delete when there are too many of them; held ones share one reason."""
    if limits.allow or not any(deletes.values()):
        return dict(deletes), []
    why = _over_limit(deletes, actual, limits)
    if why is None:
        return dict(deletes), []
    reason = f"{why}; {_CHECK}"
    held = [
        HeldBack("delete", kind, ref, reason, "mass_delete")
        for kind in _ALL_KINDS
        for ref in sorted(deletes[kind])
    ]
    return deletes_of(), held


def emptied_pack_guard(
    deletes: Deletes, valid: Mapping[str, PackBundle], actual: ActualState, allow: bool
) -> tuple[dict[Kind, frozenset[str]], list[HeldBack]]:
    """Hold the deletes that would leave a pack that had several components with none.

    A pack.yaml that survives while its triggers/ and sensors/ folders do not (a sparse
    checkout, a copy step that took only pack.yaml) is more likely a broken tree than an
    author emptying the pack on purpose.
    """
    if allow:
        return dict(deletes), []
    kept = dict(deletes)
    held: list[HeldBack] = []
    for pack_ref in sorted(valid):
        bundle = valid[pack_ref]
        if bundle.triggers or bundle.sensors or pack_ref not in actual.managed:
            continue
        owned = {kind: actual.components_of(kind, pack_ref) for kind in COMPONENT_KINDS}
        had = sum(len(refs) for refs in owned.values())
        if had < EMPTIED_PACK_MINIMUM:
            continue
        if not all(refs <= deletes[kind] for kind, refs in owned.items()):
            continue
        reason = (
            f"would delete all {had} triggers and sensors of pack {pack_ref!r}, whose folder "
            f"{bundle.folder}/ no longer holds any; {_CHECK}"
        )
        for kind, refs in owned.items():
            kept[kind] = kept[kind] - refs
            held.extend(
                HeldBack("delete", kind, ref, reason, "pack_emptied") for ref in sorted(refs)
            )
    return kept, held


# --------------------------------------------------------------------------- still used


def still_used_guard(
    deletes: Deletes, actual: ActualState, upserts: Iterable[Change]
) -> tuple[dict[Kind, frozenset[str]], list[HeldBack]]:
    """Hold back deletes of triggers (and packs) that something staying still uses."""
    if not deletes["trigger"] and not deletes["pack"]:
        return dict(deletes), []
    retargeted = {
        change.ref
        for change in upserts
        if change.kind == "sensor" and change.values and "trigger_ref" in change.values
    }
    users = _TriggerUsers(actual, deletes, retargeted)
    held: list[HeldBack] = []
    stuck_triggers = []
    for ref in sorted(deletes["trigger"]):
        found = users.of(ref, deletes["pack"])
        if found:
            stuck_triggers.append(ref)
            held.append(HeldBack("delete", "trigger", ref, still_used(found), "still_used"))
    kept = _without(deletes, "trigger", stuck_triggers)
    # Keeping a pack keeps its sensors, which can keep another pack's trigger: to a fixpoint.
    while True:
        stuck = _stuck_packs(kept["pack"], actual, users)
        if not stuck:
            return kept, held
        kept = _without(kept, "pack", stuck)
        held.extend(
            HeldBack("delete", "pack", ref, reason, "still_used") for ref, reason in stuck.items()
        )


class _TriggerUsers:
    """Who uses a trigger among what stays in the database after the deletes."""

    def __init__(self, actual: ActualState, deletes: Deletes, retargeted: set[str]) -> None:
        self.actual = actual
        self.deleted_sensors = deletes["sensor"]
        self.retargeted = retargeted
        self.sensors: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for ref, row in actual.sensors.items():
            self.sensors[row.values["trigger_ref"]].append((ref, row.values.get("pack_ref")))

    def of(self, trigger_ref: str, gone_packs: Collection[str]) -> list[str]:
        found = [
            f"sensor {ref!r}"
            for ref, pack in self.sensors.get(trigger_ref, ())
            if pack not in gone_packs
            and ref not in self.deleted_sensors
            and ref not in self.retargeted
        ]
        found += [
            f"rule {rule!r}"
            for rule, pack in self.actual.rule_trigger_refs.get(trigger_ref, ())
            if pack not in gone_packs
        ]
        return found


def _stuck_packs(
    gone_packs: frozenset[str], actual: ActualState, users: _TriggerUsers
) -> dict[str, str]:
    stuck: dict[str, str] = {}
    for pack_ref in sorted(gone_packs):
        rules = [
            f"rule {rule!r}"
            for rule, pack in actual.rule_action_packs.get(pack_ref, ())
            if pack not in gone_packs
        ]
        if rules:
            stuck[pack_ref] = "its actions: " + still_used(rules)
            continue
        for ref in sorted(actual.components_of("trigger", pack_ref)):
            found = users.of(ref, gone_packs)
            if found:
                stuck[pack_ref] = f"its trigger {ref!r}: " + still_used(found)
                break
    return stuck


def still_used(users: list[str]) -> str:
    shown = ", ".join(sorted(users)[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
    return f"still used by {shown}, which stays"
