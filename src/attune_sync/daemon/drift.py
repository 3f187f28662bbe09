"""Telling drift (the database changed behind the sync's back) from changes in the tree.

Rule: a planned change is drift when its pack is in the tree and the pack's content hash
(a digest of every file it was read from) equals the hash recorded when that pack was last
applied. The files did not change, so the difference must have come from the database side.
Anything else (a new, edited or removed pack) is a tree change.
"""

from __future__ import annotations

from ..model import Change, DesiredState, Plan


def split_drift(
    plan: Plan, desired: DesiredState, applied_hashes: dict[str, str]
) -> tuple[list[Change], list[Change]]:
    """(drift, tree changes) among the plan's changes."""
    drift: list[Change] = []
    tree: list[Change] = []
    for change in plan.changes:
        pack_ref = change.ref if change.kind == "pack" else change.pack_ref
        bundle = desired.packs.get(pack_ref) if pack_ref is not None else None
        same_files = bundle is not None and applied_hashes.get(bundle.pack.ref) == (
            bundle.content_hash
        )
        (drift if same_files else tree).append(change)
    return drift, tree


def describe(changes: list[Change]) -> list[dict[str, str]]:
    return [{"action": c.action, "kind": c.kind, "ref": c.ref} for c in changes]
