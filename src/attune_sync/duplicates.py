"""Refs are unique across the tree: every pack involved in a clash is left unapplied. Pure."""

from __future__ import annotations

from .model import COMPONENT_KINDS, DesiredState, InvalidPack, PackBundle, Problem


def settle_duplicates(state: DesiredState, bundles: list[PackBundle]) -> None:
    """Refs are unique across the tree; every pack involved in a clash is left unapplied."""
    clashes: dict[str, list[Problem]] = {}
    _note_pack_clashes(clashes, _pack_folders_by_ref(state, bundles))
    _note_component_clashes(clashes, bundles)
    _admit_bundles(state, bundles, clashes)
    _extend_invalid(state, clashes)
    state.invalid.sort(key=lambda pack: pack.folder)


def _pack_folders_by_ref(state: DesiredState, bundles: list[PackBundle]) -> dict[str, list[str]]:
    # Packs already found invalid still claim their ref, so a valid copy clashes with them.
    by_ref: dict[str, list[str]] = {}
    for bundle in bundles:
        by_ref.setdefault(bundle.pack.ref, []).append(bundle.folder)
    for invalid in state.invalid:
        if invalid.ref is not None:
            by_ref.setdefault(invalid.ref, []).append(invalid.folder)
    return by_ref


def _note_pack_clashes(clashes: dict[str, list[Problem]], by_ref: dict[str, list[str]]) -> None:
    for ref, folders in by_ref.items():
        if len(folders) <= 1:
            continue
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


def _component_owners(bundles: list[PackBundle]) -> dict[str, list[tuple[str, str]]]:
    owners: dict[str, list[tuple[str, str]]] = {}
    for bundle in bundles:
        for kind in COMPONENT_KINDS:
            for ref, spec in bundle.components(kind).items():
                owners.setdefault(f"{kind} {ref}", []).append((bundle.pack.ref, spec.source))
    return owners


def _note_component_clashes(clashes: dict[str, list[Problem]], bundles: list[PackBundle]) -> None:
    folder_of = {bundle.pack.ref: bundle.folder for bundle in bundles}
    for name, claims in _component_owners(bundles).items():
        if len(claims) <= 1:
            continue
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


def _admit_bundles(
    state: DesiredState, bundles: list[PackBundle], clashes: dict[str, list[Problem]]
) -> None:
    for bundle in bundles:
        found = clashes.get(bundle.folder)
        if found:
            state.invalid.append(InvalidPack(bundle.folder, bundle.pack.ref, tuple(found)))
        else:
            state.packs[bundle.pack.ref] = bundle


def _extend_invalid(state: DesiredState, clashes: dict[str, list[Problem]]) -> None:
    # Packs invalid before this step gain their clashes too, unless they are already listed
    # (a bundle appended above carries exactly its clashes).
    for index, invalid in enumerate(state.invalid):
        extra = clashes.get(invalid.folder)
        if extra and invalid.problems and all(p not in invalid.problems for p in extra):
            state.invalid[index] = InvalidPack(
                invalid.folder, invalid.ref, invalid.problems + tuple(extra)
            )
