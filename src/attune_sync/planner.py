"""Plan: desired state + actual state -> the ordered changes that make one equal the other.

Pure: no I/O. Objects are paired by ref (never by folder or id). The rules that keep a
broken or missing source from deleting anything live in `guards` and `holds`, where they
can be tested alone:

* a pack that is invalid stays exactly as the database has it, and so does anything of its
  that other packs need;
* only packs the sync manages are deleted, and only when their folder is really gone;
* a pack made outside attune-sync is taken over only when `adopt` is asked for;
* the guards (`guards`) hold deletes while a folder's ref cannot be read, when there are too
  many at once, or when a pack would lose all its components; `holds` keeps what something
  staying still uses.

A plan is made in this order: the guards that decide which packs go (`_guard_packs`), then
settling (`settle.settle`, or `settle_for_plan` ahead of `make_plan(settled=)`), then each
compared pack's creates, updates and component deletes (`compare.compare_pack`), then the
holds and the remaining guards weigh the deletes and `holds.ordered` puts it all in order.
`plan_with_drift` also tags drift (`drift.split_drift`) and, in report mode, narrows the plan
to the packs whose files changed, in the same pass.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from . import guards
from .compare import PackDiff, compare_pack, json_equal, runtime_moved
from .drift import DriftSplit, split_drift
from .holds import delete_changes, hold_back_broken_references, keep_moved_components, ordered
from .model import COMPONENT_KINDS, ActualState, Change, DesiredState, HeldBack, Kind, Plan
from .overrides import keep_overrides
from .plan_options import DEFAULT_MAX_DELETE_SHARE, PlanOptions
from .settle import Settled, kept_pack_refs, settle

__all__ = [
    "DEFAULT_MAX_DELETE_SHARE",
    "PlanOptions",
    "json_equal",
    "make_plan",
    "plan_with_drift",
    "settle_for_plan",
]


def settle_for_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Collection[str] | None = None,
) -> Settled:
    """Settle `desired` as `make_plan(desired, actual, options, scope)` would: after the
    guards that decide which packs go, so a pack they hold keeps its components usable.

    Pass the result to `make_plan(..., settled=)` to plan without settling again.
    """
    options = options or PlanOptions()
    _, held = _guard_packs(desired, actual, options, scope)
    return _settled(desired, actual, options, held)


def make_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    scope: Collection[str] | None = None,
    settled: Settled | None = None,
) -> Plan:
    """The ordered changes that make `actual` equal `desired`.

    `scope` limits the comparison to those pack refs (a caller that knows the other packs
    are unchanged on both sides); references are still checked across the whole tree.
    `settled`: `desired` already settled against `actual` by `settle_for_plan` with the same
    options and scope; without it, the plan settles it here (once either way).
    """
    options = options or PlanOptions()
    pack_deletes, held = _guard_packs(desired, actual, options, scope)
    settled = _settled(desired, actual, options, held, settled)
    return _Planning(desired, actual, options, settled).plan(scope, pack_deletes, held)


def plan_with_drift(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None,
    scope: Collection[str] | None,
    recorded: Mapping[str, str],
    *,
    report: bool,
) -> tuple[Plan, DriftSplit]:
    """`make_plan`, and its changes split into drift and tree changes by `recorded` (pack ref
    to the content hash it was last applied with).

    With `report` and drift found, the plan returned keeps only the packs whose files
    changed (drift inside them goes with them), from this pass's guards, settle and per-pack
    comparisons: what is held stays held, and a pack kept by a hold keeps its components
    usable to the others, exactly as in the whole plan.
    """
    options = options or PlanOptions()
    pack_deletes, held = _guard_packs(desired, actual, options, scope)
    planning = _Planning(desired, actual, options, _settled(desired, actual, options, held))
    plan = planning.plan(scope, pack_deletes, held)
    split = split_drift(plan, desired, dict(recorded))
    if not report or not split.drift:
        return plan, split
    changed_files = {
        ref for ref, bundle in desired.packs.items() if recorded.get(ref) != bundle.content_hash
    }
    tree = split.tree_packs() | changed_files
    if scope is not None:
        tree &= set(scope)
    return planning.plan(tree, pack_deletes & tree, held), split


def _refs(held: list[HeldBack]) -> frozenset[str]:
    return frozenset(item.ref for item in held)


def _settled(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions,
    held: list[HeldBack],
    given: Settled | None = None,
) -> Settled:
    """`desired` settled with the packs `held` kept: `given`, when it was settled so."""
    if given is None:
        return settle(desired, actual, held=_refs(held), adopt=options.adopt)
    if (given.held, given.adopt, given.database) != (_refs(held), options.adopt, True):
        raise ValueError(
            "`settled` was settled with other holds or options than this plan's: "
            "make it with settle_for_plan(desired, actual, options, scope)"
        )
    return given


def _guard_packs(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions,
    scope: Collection[str] | None,
) -> tuple[frozenset[str], list[HeldBack]]:
    """The managed packs this plan deletes, and the holds of the guards that run first.

    Which packs go is known before references are settled (settling can only keep more of
    them): guard them first, so a pack held here is one others may still rely on.
    """
    limits = guards.MassDeleteLimits(options.allow_mass_delete, options.max_delete_share)
    candidates = actual.managed if scope is None else set(scope) & actual.managed.keys()
    kept_before = kept_pack_refs(desired.invalid, actual)
    doomed = frozenset(
        ref for ref in candidates if ref not in desired.packs and ref not in kept_before
    )
    doomed, held = guards.unknown_folder_guard(doomed, desired.invalid, actual)
    pack_deletes, mass_held = guards.mass_delete_guard(
        guards.deletes_of(pack=doomed), actual, limits
    )
    return frozenset(pack_deletes["pack"]), held + mass_held


class _Planning:
    """Plans from one settled tree against one snapshot; each pack is compared once, however
    many scopes are planned."""

    def __init__(
        self, desired: DesiredState, actual: ActualState, options: PlanOptions, settled: Settled
    ) -> None:
        self.desired, self.actual, self.options, self.settled = desired, actual, options, settled
        self.overrides = Plan()
        """Every override, noted once (kept or ended) and copied into each plan."""
        self.valid = keep_overrides(settled.valid, actual, self.overrides)
        self.diffs: dict[str, PackDiff] = {}
        self.moved: set[str] | None = None

    def plan(
        self, scope: Collection[str] | None, pack_deletes: frozenset[str], held: list[HeldBack]
    ) -> Plan:
        """The plan for `scope`, given the pack deletes and holds `_guard_packs` made for it."""
        settled, actual, options = self.settled, self.actual, self.options
        plan = Plan(
            invalid=settled.invalid,
            warnings=list(self.desired.warnings) + settled.warnings,
            overrides_kept=list(self.overrides.overrides_kept),
            ended_overrides=list(self.overrides.ended_overrides),
            notes=list(self.desired.notes),
        )
        upserts: list[Change] = []
        # A pack settled invalid keeps the pack last synced from its folder, whatever it declares.
        deletes: dict[Kind, set[str]] = {"pack": set(pack_deletes - settled.kept)}
        deletes.update((kind, set()) for kind in COMPONENT_KINDS)
        for ref in self._compared(scope):
            diff = self._diff(ref)
            upserts.extend(diff.upserts)
            for kind, refs in diff.deletes.items():
                deletes[kind] |= refs
            if diff.bookkeeping is not None:
                plan.bookkeeping[ref] = diff.bookkeeping
        planned = keep_moved_components(self.valid, deletes)
        # What something staying still uses is kept first; the guards then weigh what would go.
        planned, still_used = hold_back_broken_references(actual, upserts, planned)
        allow = options.allow_mass_delete
        planned, emptied = guards.emptied_pack_guard(planned, self.valid, actual, allow)
        limits = guards.MassDeleteLimits(allow, options.max_delete_share)
        planned, too_many = guards.mass_delete_guard(planned, actual, limits)
        held = held + still_used + emptied + too_many
        plan.held_back = sorted(held, key=lambda item: (item.kind, item.ref))
        plan.changes = ordered(upserts) + delete_changes(actual, planned)
        return plan

    def _compared(self, scope: Collection[str] | None) -> list[str]:
        if scope is None:
            return sorted(self.valid)
        if self.moved is None:
            # A runtime that appeared or went elsewhere changes what an unchanged pack
            # resolves to.
            self.moved = runtime_moved(self.valid, self.actual, self.settled.runtimes)
        return sorted((set(scope) & self.valid.keys()) | self.moved)

    def _diff(self, ref: str) -> PackDiff:
        diff = self.diffs.get(ref)
        if diff is None:
            diff = compare_pack(self.valid[ref], self.actual, self.settled.runtimes)
            self.diffs[ref] = diff
        return diff
