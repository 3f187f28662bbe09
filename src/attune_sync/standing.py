"""A pack's standing after a committed run: the one rule /status and `status` both use.

Standings, from a run's details (`runs.plan_details`):

* `invalid`: the pack (or a folder that could not be told apart) failed validation and was
  left as it is; its problems are listed. Invalid wins over held back: the pack was not
  looked at further.
* `held_back`: a change of it (or of one of its components) was held back, with the reason.
* `in_sync`: anything else the caller knows about (the tree's valid packs, or the managed
  packs in the database).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

IN_SYNC = "in_sync"
INVALID = "invalid"
HELD_BACK = "held_back"


def pack_standing(
    known: Mapping[str, Mapping[str, Any]], details: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each pack's standing; `known` packs (ref to any extra fields) start in sync."""
    packs = {ref: {"state": IN_SYNC, **info} for ref, info in known.items()}
    for pack in details.get("invalid_packs", []):
        key = pack.get("ref") or f"folder:{pack['folder']}"
        entry = packs.setdefault(key, {})
        entry.update(state=INVALID, folder=pack["folder"], errors=list(pack["problems"]))
    for item in details.get("held_back", []):
        owner = owning_pack(str(item["ref"]), packs.keys(), str(item["kind"]))
        entry = packs.setdefault(owner, {"state": HELD_BACK})
        if entry["state"] == INVALID:
            continue
        entry["state"] = HELD_BACK
        entry.setdefault("held_back", []).append(
            {key: item[key] for key in ("action", "kind", "ref", "reason") if key in item}
        )
    for override in details.get("overrides", []):
        # API overrides of `enabled` the run kept: shown beside the pack's standing.
        owner = owning_pack(str(override["ref"]), packs.keys(), str(override["kind"]))
        packs.setdefault(owner, {"state": IN_SYNC}).setdefault("overrides", []).append(override)
    return dict(sorted(packs.items()))


def owning_pack(ref: str, packs: Iterable[str], kind: str) -> str:
    """The pack a ref belongs to: itself for packs, else the longest known pack prefix."""
    if kind == "pack":
        return ref
    candidates = [p for p in packs if ref.startswith(p + ".")]
    return max(candidates, key=len) if candidates else ref.rpartition(".")[0] or ref
