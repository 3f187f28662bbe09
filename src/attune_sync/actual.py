"""What the database holds, as the planner compares it: one snapshot, read in one transaction.

Plain data, like the rest of `model` (which re-exports every name here): the database edge
(`db/state.py`) fills an `ActualState`, the planner compares against it, and a daemon's
`Reconciler` keeps it between runs, changed as its own plans change the database (`record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fields import stored_columns
from .kinds import JSON, ComponentKind, Kind

if TYPE_CHECKING:
    from .model import Plan
    from .overrides import Override

COMPONENT_KINDS: tuple[ComponentKind, ...] = ("runtime", "trigger", "action", "sensor", "rule")
"""In the order they are created (a kind only refers to kinds before it)."""

PACK_FIELDS = stored_columns("pack")
TRIGGER_FIELDS = ("pack_ref", *stored_columns("trigger"))
SENSOR_FIELDS = ("pack_ref", *stored_columns("sensor"))
ACTION_FIELDS = ("pack_ref", *stored_columns("action"))
RULE_FIELDS = ("pack_ref", *stored_columns("rule"))
RUNTIME_FIELDS = ("pack_ref", *stored_columns("runtime"))
FIELDS_BY_KIND: dict[Kind, tuple[str, ...]] = {
    "pack": PACK_FIELDS,
    "runtime": RUNTIME_FIELDS,
    "trigger": TRIGGER_FIELDS,
    "action": ACTION_FIELDS,
    "sensor": SENSOR_FIELDS,
    "rule": RULE_FIELDS,
}
"""The fields the sync owns, compared field by field: the stored columns of fields.TABLES. Ids
(`pack`, `runtime`, `trigger`) follow from the refs and are resolved by the database edge;
a sensor's `trigger_refs` is its `sensor_trigger` rows."""


@dataclass(slots=True)
class ActualObject:
    """One row as the database holds it, reduced to the fields the sync compares."""

    id: int
    ref: str
    values: dict[str, JSON]
    """Keyed by the names in FIELDS_BY_KIND; for packs `runtime_deps` holds runtime ids."""
    pack_id: int | None = None


@dataclass(slots=True)
class ManagedInfo:
    """The sync's bookkeeping for a pack it manages."""

    folder: str
    content_hash: str
    sources: dict[str, str] | None = field(default=None, compare=False)
    """"pack" and "<kind>:<ref>" -> file, relative to the packs root (None: not recorded)."""


@dataclass(slots=True)
class ActualState:
    runtimes: dict[str, int] = field(default_factory=dict)
    """Runtime ref to id."""
    packs: dict[str, ActualObject] = field(default_factory=dict)
    triggers: dict[str, ActualObject] = field(default_factory=dict)
    sensors: dict[str, ActualObject] = field(default_factory=dict)
    actions: dict[str, ActualObject] = field(default_factory=dict)
    rules: dict[str, ActualObject] = field(default_factory=dict)
    runtime_rows: dict[str, ActualObject] = field(default_factory=dict)
    """Runtimes that belong to a pack (the built-in ones have none), as the other kinds."""
    managed: dict[str, ManagedInfo] = field(default_factory=dict)
    """Pack ref to bookkeeping, for the packs that came from files."""
    action_counts: dict[str, int] = field(default_factory=dict)
    """Pack ref to the number of actions in it (they cascade with the pack)."""
    rule_counts: dict[str, int] = field(default_factory=dict)
    rule_trigger_refs: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    """Trigger ref to the (rule ref, rule's pack ref) pairs that use it."""
    rule_action_packs: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    """Pack ref to the (rule ref, rule's pack ref) pairs whose action belongs to that pack."""
    overrides: dict[tuple[str, str], Override] = field(default_factory=dict)
    """(kind, ref) -> the API override syncs keep (see attune_sync.overrides)."""

    outline: frozenset[str] = frozenset()
    """Managed packs this snapshot holds in outline only: each of their components as its
    ref and owner (with a parameter schema where one is asked for), no other field. A
    narrowed plan (`narrow`) loads them so: they stand exactly as their unchanged files say,
    so what exists after the run includes them, and nothing of theirs is compared."""

    ids_unknown: bool = False
    """A recorded plan created a runtime: this snapshot lacks its id and must be reloaded."""

    _by_pack: dict[str, dict[str | None, set[str]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """Component refs by pack ref, built on first use and kept up to date by `record`."""

    def objects(self, kind: Kind) -> dict[str, ActualObject]:
        if kind == "runtime":
            return self.runtime_rows
        found: dict[str, ActualObject] = getattr(self, f"{kind}s")
        return found

    def components_of(self, kind: Kind, pack_ref: str | None) -> set[str]:
        """Refs of the triggers or sensors that belong to `pack_ref`."""
        if self._by_pack is None:
            self._by_pack = {kind: {} for kind in COMPONENT_KINDS}
            for component in COMPONENT_KINDS:
                index = self._by_pack[component]
                for ref, row in self.objects(component).items():
                    index.setdefault(row.values.get("pack_ref"), set()).add(ref)
        return self._by_pack[kind].get(pack_ref, set())

    def record(self, plan: Plan) -> None:
        """Change this snapshot as applying `plan` changed the database.

        Lets a long-running process keep one snapshot instead of reading the database back
        after every run. Rows it creates get id 0: nothing downstream pairs by id.
        """
        for change in plan.changes:
            if change.action == "delete":
                self._forget(change.kind, change.ref)
                continue
            objects = self.objects(change.kind)
            row = objects.get(change.ref)
            values = dict(row.values) if row is not None else {}
            values.update(change.written_values())
            if row is not None and change.kind != "pack":
                self._unindex(change.kind, row)
            fresh = ActualObject(row.id if row is not None else 0, change.ref, values)
            objects[change.ref] = fresh
            if change.kind == "runtime" and change.action == "create":
                # Its id is a value elsewhere (runtime_deps) and only the database knows it.
                self.ids_unknown = True
            if change.kind != "pack":
                self._index(change.kind, fresh)
            elif change.folder is not None and change.content_hash is not None:
                self.managed[change.ref] = ManagedInfo(
                    change.folder, change.content_hash, change.sources
                )
        self.managed.update(plan.bookkeeping)
        for key in plan.ended_overrides:
            self.overrides.pop(key, None)
        if any(change.kind in ("action", "rule", "trigger") for change in plan.changes):
            self._recount()

    def _recount(self) -> None:
        """The per-pack action and rule figures, from the action and rule rows."""
        self.action_counts = _count_by_pack(self.actions)
        self.rule_counts = _count_by_pack(self.rules)
        trigger_refs: dict[str, list[tuple[str, str | None]]] = {}
        action_packs: dict[str, list[tuple[str, str | None]]] = {}
        for ref in sorted(self.rules):
            values = self.rules[ref].values
            pack = values.get("pack_ref")
            trigger_refs.setdefault(values["trigger_ref"], []).append((ref, pack))
            action = self.actions.get(values["action_ref"])
            owner = action.values.get("pack_ref") if action is not None else None
            if owner is not None:
                action_packs.setdefault(owner, []).append((ref, pack))
        self.rule_trigger_refs = trigger_refs
        self.rule_action_packs = action_packs

    def _forget(self, kind: Kind, ref: str) -> None:
        if kind != "pack":
            self.overrides.pop((kind, ref), None)
            row = self.objects(kind).pop(ref, None)
            if row is not None:
                self._unindex(kind, row)
            if kind == "runtime":
                self.runtimes.pop(ref, None)
            return
        for component in COMPONENT_KINDS:
            for owned in list(self.components_of(component, ref)):
                self._forget(component, owned)
        self.packs.pop(ref, None)
        self.managed.pop(ref, None)
        self.action_counts.pop(ref, None)
        self.rule_counts.pop(ref, None)
        self.rule_trigger_refs = _without_pack(self.rule_trigger_refs, ref)
        self.rule_action_packs = _without_pack(self.rule_action_packs, ref)
        self.rule_action_packs.pop(ref, None)

    def _index(self, kind: Kind, row: ActualObject) -> None:
        if self._by_pack is not None:
            self._by_pack[kind].setdefault(row.values.get("pack_ref"), set()).add(row.ref)

    def _unindex(self, kind: Kind, row: ActualObject) -> None:
        if self._by_pack is not None:
            self._by_pack[kind].get(row.values.get("pack_ref"), set()).discard(row.ref)


def _count_by_pack(rows: dict[str, ActualObject]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows.values():
        pack = row.values.get("pack_ref")
        if pack is not None:
            counts[pack] = counts.get(pack, 0) + 1
    return counts


def _without_pack(
    uses: dict[str, list[tuple[str, str | None]]], pack_ref: str
) -> dict[str, list[tuple[str, str | None]]]:
    """The rules that remain once `pack_ref` (and so its rules) is deleted."""
    return {
        key: kept
        for key, rules in uses.items()
        if (kept := [(rule, pack) for rule, pack in rules if pack != pack_ref])
    }
