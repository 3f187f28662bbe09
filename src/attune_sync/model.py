"""The values that flow through the core: desired state, actual state, problems and plans.

Everything here is plain data. Reading a tree produces a `DesiredState`, the database edge
produces an `ActualState`, planning turns the two into a `Plan`, and rendering or applying
consumes the plan. No module in the core does I/O on these objects beyond reading pack files.
The actual state lives in `actual.py` and the shared names in `kinds.py`; both are
re-exported here, so `model` stays the one place to import the core's values from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .overrides import Override

from .actual import ACTION_FIELDS as ACTION_FIELDS
from .actual import COMPONENT_KINDS as COMPONENT_KINDS
from .actual import FIELDS_BY_KIND as FIELDS_BY_KIND
from .actual import PACK_FIELDS as PACK_FIELDS
from .actual import RULE_FIELDS as RULE_FIELDS
from .actual import RUNTIME_FIELDS as RUNTIME_FIELDS
from .actual import SENSOR_FIELDS as SENSOR_FIELDS
from .actual import TRIGGER_FIELDS as TRIGGER_FIELDS
from .actual import ActualObject as ActualObject
from .actual import ActualState as ActualState
from .actual import ManagedInfo as ManagedInfo
from .desired import ActionSpec as ActionSpec
from .desired import ComponentSpec as ComponentSpec
from .desired import PackSpec as PackSpec
from .desired import RuleSpec as RuleSpec
from .desired import RuntimeSpec as RuntimeSpec
from .desired import SensorSpec as SensorSpec
from .desired import TriggerSpec as TriggerSpec
from .kinds import JSON as JSON
from .kinds import Action as Action
from .kinds import ComponentKind as ComponentKind
from .kinds import Kind as Kind
from .notes import SkippedNote
from .problem import Problem as Problem
from .problem import Severity as Severity
from .secrets import masked, reveal

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
    """For updates the changed fields; for a pack's create every field shown (old is None).
    A component's create leaves it empty and shows its `values` (`shown`): on a cold sync
    that is one object fewer per field of every file."""
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

    @property
    def shown(self) -> tuple[FieldChange, ...]:
        """The fields to show: an update's changed ones; a create's every set field."""
        if self.fields or self.action != "create" or self.values is None:
            return self.fields
        return created_fields(self.kind, self.values)

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
                {"field": c.field, "old": masked(c.old), "new": masked(c.new)} for c in self.shown
            ]
        elif self.action == "create":
            item["fields"] = {c.field: masked(c.new) for c in self.shown}
        if self.cascade is not None:
            item["cascade"] = dict(self.cascade)
        if self.adopt:
            item["adopt"] = True
        return item


def created_fields(
    kind: Kind, values: Mapping[str, JSON], display: Mapping[str, Callable[[Any], JSON]] = {}
) -> tuple[FieldChange, ...]:
    """What a create shows: every field set but the pack ref, through `display` where it
    has a way to show the stored value (a pack's runtime ids as refs)."""
    shown = []
    for name in FIELDS_BY_KIND[kind]:
        value = values.get(name)
        if value is None or value == [] or name == "pack_ref":
            continue
        shown.append(FieldChange(name, None, display[name](value) if name in display else value))
    return tuple(shown)


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
