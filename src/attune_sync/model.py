"""The values that flow through the core: desired state, actual state, problems and plans.

Everything here is plain data. Reading a tree produces a `DesiredState`, the database edge
produces an `ActualState`, planning turns the two into a `Plan`, and rendering or applying
consumes the plan. No module in the core does I/O on these objects beyond reading pack files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .overrides import Override

from .desired import ActionSpec as ActionSpec
from .desired import ComponentSpec as ComponentSpec
from .desired import PackSpec as PackSpec
from .desired import RuleSpec as RuleSpec
from .desired import RuntimeSpec as RuntimeSpec
from .desired import SensorSpec as SensorSpec
from .desired import TriggerSpec as TriggerSpec
from .fields import stored_columns
from .notes import SkippedNote
from .problem import Problem as Problem
from .problem import Severity as Severity
from .secrets import masked, reveal

Kind = Literal["pack", "runtime", "trigger", "action", "sensor", "rule"]
ComponentKind = Literal["runtime", "trigger", "action", "sensor", "rule"]
Action = Literal["create", "update", "delete"]

JSON = Any
"""A value that came from YAML/JSON: dict, list, str, int, float, bool or None."""


# --------------------------------------------------------------------------- desired state


@dataclass(frozen=True, slots=True)
class PackBundle:
    """A valid pack folder: the pack and exactly the components its files declare."""

    pack: PackSpec
    folder: str
    """Folder relative to the packs root."""
    triggers: dict[str, TriggerSpec]
    sensors: dict[str, SensorSpec]
    content_hash: str
    """Digest of every file the pack was read from; equal hashes mean equal desired state."""
    pack_file: str = ""
    """The pack's own file (pack.yaml or pack.yml), relative to the packs root."""
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    rules: dict[str, RuleSpec] = field(default_factory=dict)
    runtimes: dict[str, RuntimeSpec] = field(default_factory=dict)

    def components(self, kind: str) -> dict[str, Any]:
        """The specs of one component kind, by ref."""
        found: dict[str, Any] = getattr(self, f"{kind}s")
        return found

    def sources(self) -> dict[str, str]:
        """ "pack" and "<kind>:<ref>" -> the file each object of the pack was read from."""
        found = {"pack": self.pack_file or f"{self.folder}/pack.yaml"}
        for kind in ("runtime", "trigger", "action", "sensor", "rule"):
            for ref, spec in self.components(kind).items():
                if getattr(spec, "source", ""):
                    found[f"{kind}:{ref}"] = spec.source
        return found


@dataclass(frozen=True, slots=True)
class InvalidPack:
    """A pack folder that cannot be applied. Whatever the database holds for it stays."""

    folder: str
    ref: str | None
    """The pack ref, when the folder's pack.yaml was readable enough to tell."""
    problems: tuple[Problem, ...]
    partial: PackBundle | None = None
    """What did read cleanly, so that its reference problems are reported in the same run."""


@dataclass(frozen=True, slots=True)
class FolderRead:
    """What reading one pack folder gave, before refs were compared across folders."""

    result: PackBundle | InvalidPack | None
    warnings: tuple[Problem, ...]
    fingerprint: tuple[object, ...]
    """Names and stat signatures of everything the read looked at: equal means unchanged."""
    notes: tuple[SkippedNote, ...] = ()
    """Kept here (not only logged) so a reused read still reports them."""
    content_key: str = ""
    """The files' digests and what the listing noticed (`settled.content_key`); empty when
    the folder could not be read as a whole."""


@dataclass(slots=True)
class DesiredState:
    root: str
    """The resolved folder the state was read from."""
    packs: dict[str, PackBundle] = field(default_factory=dict)
    invalid: list[InvalidPack] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[SkippedNote] = field(default_factory=list)
    """Not problems: they never make a pack invalid and are not warnings."""
    folders: dict[str, FolderRead] = field(default_factory=dict)
    """Per folder, so a later read can reuse the folders it does not read again."""

    @property
    def problems(self) -> list[Problem]:
        found = [problem for pack in self.invalid for problem in pack.problems]
        return found + self.warnings

    @property
    def invalid_refs(self) -> set[str]:
        return {pack.ref for pack in self.invalid if pack.ref is not None}


# --------------------------------------------------------------------------- actual state

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


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: JSON
    new: JSON
    """Display values: secret config values are `Secret`s here, shown as the mask."""


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    kind: Kind
    ref: str
    pack_ref: str | None
    fields: tuple[FieldChange, ...] = ()
    """For updates the changed fields; for creates every field (old is None)."""
    values: dict[str, JSON] | None = None
    """The full desired values for creates and updates; None for deletes. Secret config
    values are wrapped in `Secret`: `written_values` unwraps them for the database write."""
    cascade: dict[str, int] | None = None
    """For pack deletes: how many triggers, sensors, actions and rules go with it."""
    adopt: bool = False
    """A pack that exists in the database but was not managed, taken over from now on."""
    folder: str | None = None
    content_hash: str | None = None
    sources: dict[str, str] | None = None
    """With folder and content_hash: the file of each object of the pack (bookkeeping)."""

    def written_values(self) -> dict[str, JSON]:
        """The values as the database must store them: secrets unwrapped. Never show them."""
        return dict(reveal(self.values or {}))

    def as_json(self) -> dict[str, JSON]:
        item: dict[str, JSON] = {
            "action": self.action,
            "kind": self.kind,
            "ref": self.ref,
            "pack_ref": self.pack_ref,
        }
        if self.action == "update":
            item["fields"] = [
                {"field": c.field, "old": masked(c.old), "new": masked(c.new)} for c in self.fields
            ]
        elif self.action == "create":
            item["fields"] = {c.field: masked(c.new) for c in self.fields}
        if self.cascade is not None:
            item["cascade"] = dict(self.cascade)
        if self.adopt:
            item["adopt"] = True
        return item


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A change the plan would make but will not, and why."""

    action: Action
    kind: Kind
    ref: str
    reason: str
    code: str = ""
    """Which guard held it, for machines: see `guards.HOLD_CODES`."""

    def as_json(self) -> dict[str, JSON]:
        return {
            "action": self.action,
            "kind": self.kind,
            "ref": self.ref,
            "reason": self.reason,
            "code": self.code,
        }


@dataclass(slots=True)
class Plan:
    changes: list[Change] = field(default_factory=list)
    """In the order they must be applied."""
    held_back: list[HeldBack] = field(default_factory=list)
    invalid: list[InvalidPack] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    bookkeeping: dict[str, ManagedInfo] = field(default_factory=dict)
    """Managed packs whose folder or content hash changed without any field change."""
    overrides_kept: list[Override] = field(default_factory=list)
    """API overrides this plan keeps (the file's `enabled` is what it was when they were set)."""
    ended_overrides: list[tuple[str, str]] = field(default_factory=list)
    """(kind, ref) of overrides whose file changed `enabled`: applying the plan removes them."""
    notes: list[SkippedNote] = field(default_factory=list)
    """From the read, for JSON output only: not part of what a saved plan compares."""

    @property
    def errors(self) -> list[Problem]:
        return [problem for pack in self.invalid for problem in pack.problems]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def is_empty(self) -> bool:
        return not self.changes
