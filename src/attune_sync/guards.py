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
* `holds.hold_back_broken_references` (run after these): whatever something staying in the
  database still uses is kept (code `still_used`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Literal

from .model import (
    COMPONENT_KINDS,
    ActualState,
    HeldBack,
    InvalidPack,
    Kind,
    PackBundle,
    Problem,
)

HoldCode = Literal["unknown_folder", "mass_delete", "pack_emptied", "still_used"]
HOLD_CODES: tuple[HoldCode, ...] = ("unknown_folder", "mass_delete", "pack_emptied", "still_used")

Deletes = Mapping[Kind, Set[str]]
"""Refs to delete, per kind. A pack's delete takes its components with it (cascade)."""

_ALL_KINDS: tuple[Kind, ...] = ("pack", *COMPONENT_KINDS)

EMPTIED_PACK_MINIMUM = 2
"""A pack that had at least this many components and would lose all of them is held."""


@dataclass(frozen=True, slots=True)
class MassDeleteLimits:
    allow: bool
    max_share: float


def deletes_of(**refs: Iterable[str]) -> dict[Kind, Set[str]]:
    """A deletes mapping with every kind present."""
    found: dict[Kind, Set[str]] = {"pack": frozenset(refs.get("pack", ()))}
    for kind in COMPONENT_KINDS:
        found[kind] = frozenset(refs.get(kind, ()))
    return found


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
) -> tuple[dict[Kind, Set[str]], list[HeldBack]]:
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
) -> tuple[dict[Kind, Set[str]], list[HeldBack]]:
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
        if pack_ref not in actual.managed or any(bundle.components(k) for k in COMPONENT_KINDS):
            continue
        owned = {kind: actual.components_of(kind, pack_ref) for kind in COMPONENT_KINDS}
        had = sum(len(refs) for refs in owned.values())
        if had < EMPTIED_PACK_MINIMUM:
            continue
        if not all(refs <= deletes[kind] for kind, refs in owned.items()):
            continue
        reason = (
            f"would delete all {had} components of pack {pack_ref!r} (triggers, sensors and the "
            f"rest), whose folder "
            f"{bundle.folder}/ no longer holds any; {_CHECK}"
        )
        for kind, refs in owned.items():
            kept[kind] = kept[kind] - refs
            held.extend(
                HeldBack("delete", kind, ref, reason, "pack_emptied") for ref in sorted(refs)
            )
    return kept, held


# --------------------------------------------------------------------------- adoption


def adoption_problems(bundle: PackBundle, actual: ActualState, adopt: bool) -> list[Problem]:
    """A folder naming a pack made outside attune-sync is a clash unless adoption is asked."""
    ref = bundle.pack.ref
    if adopt or ref not in actual.packs or ref in actual.managed:
        return []
    return [
        Problem(
            f"{bundle.folder}/pack.yaml",
            f"pack {ref!r} already exists in the database and was not made by attune-sync "
            "(through the API, say); it is left as it is",
            field="ref",
            hint="to take it over (its components then follow this folder), pass --adopt or "
            "set ATTUNE_SYNC_ADOPT=1; otherwise choose another ref",
        )
    ]
