"""Refs are unique across the tree: every pack involved in a clash is left unapplied. Pure."""

from __future__ import annotations

from .model import COMPONENT_KINDS, DesiredState, InvalidPack, PackBundle, Problem


def settle_duplicates(state: DesiredState, bundles: list[PackBundle]) -> None:
    """Refs are unique across the tree; every pack involved in a clash is left unapplied."""
    by_ref: dict[str, list[str]] = {}
    for bundle in bundles:
        by_ref.setdefault(bundle.pack.ref, []).append(bundle.folder)
    for invalid in state.invalid:
        if invalid.ref is not None:
            by_ref.setdefault(invalid.ref, []).append(invalid.folder)
    owners: dict[str, list[tuple[str, str]]] = {}
    for bundle in bundles:
        for kind in COMPONENT_KINDS:
            for ref, spec in bundle.components(kind).items():
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
