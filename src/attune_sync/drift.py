"""Telling drift (the database changed behind the sync's back) from changes in the tree.

Rule: a planned change is drift when its pack is in the tree and the pack's content hash
(a digest of every file it was read from) equals the hash recorded when that pack was last
applied. The files did not change, so the difference must have come from the database side.
Anything else (a new, edited or removed pack) is a tree change.

The recorded hashes come from the database (`sync_managed_pack`) and, for packs whose rows
were deleted behind the sync's back (their bookkeeping row cascades away with them), from
what the process itself last applied: re-creating such a pack is drift too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Change, DesiredState, Plan


@dataclass(frozen=True, slots=True)
class DriftSplit:
    drift: list[Change] = field(default_factory=list)
    tree: list[Change] = field(default_factory=list)

    def tree_packs(self) -> set[str]:
        """The packs whose files changed: what report mode still applies."""
        refs = {c.ref if c.kind == "pack" else c.pack_ref for c in self.tree}
        return {ref for ref in refs if ref is not None}


def split_drift(plan: Plan, desired: DesiredState, recorded_hashes: dict[str, str]) -> DriftSplit:
    """The plan's changes, split into drift and tree changes."""
    split = DriftSplit()
    for change in plan.changes:
        pack_ref = change.ref if change.kind == "pack" else change.pack_ref
        bundle = desired.packs.get(pack_ref) if pack_ref is not None else None
        same_files = bundle is not None and recorded_hashes.get(bundle.pack.ref) == (
            bundle.content_hash
        )
        (split.drift if same_files else split.tree).append(change)
    return split


def describe(changes: list[Change]) -> list[dict[str, str]]:
    return [{"action": c.action, "kind": c.kind, "ref": c.ref} for c in changes]
