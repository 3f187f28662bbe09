"""A narrowed `diff`: after a settled apply, read and compare only what a change can touch.

When the database is exactly as a settled apply left it (`shortcut.settled_state`) and some
pack folders changed since, every other pack stands: it is valid, its files are the ones it
was applied from, so its rows are its files, and it brings no warning or note. The plan then
needs, of the tree and of the database, only:

* the changed folders (`settled.changed_folders`, from each folder's content key);
* the packs whose sensors or rules use a trigger or an action of theirs (they can break);
* the folders the mark's warnings and notes are about (they are reported again, and their
  hints name what exists);

read and loaded in full, and every other component in outline (`ActualState.outline`):
what exists after the run. The planner and `settle` run unchanged over that.

What the narrowing does not model, it leaves to the full plan (None here): a folder that is
gone or a pack that changes its ref (a delete, weighed against the whole database by the
guards), any delete or hold in the plan, a changed pack that holds runtimes (every pack
resolves against them), a pack ref another folder also declares, a pack made outside
attune-sync that a folder adopts while a managed pack uses it, a component a pack in outline
holds (its unchanged folder still declares it: a clash), a parameter schema of a pack in
outline holding an integer past 2**53 (it may have been a float in the file), a runtime name
the folders read use that two runtimes share as an alias or a name (the first known takes
it), or too many changed folders to gain anything. The property tests hold the narrowed plan
equal to the full one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from .db.narrow import load_narrowed, managed_folders, owns_runtimes, users_of
from .db.readcache import load_documents
from .fingerprint import fingerprint
from .model import (
    COMPONENT_KINDS,
    ActualObject,
    ActualState,
    ComponentKind,
    DesiredState,
    PackBundle,
)
from .planner import make_plan
from .readcache import seed
from .reader import DocumentCache, read_folders
from .runtimes import split_constraint
from .settled import (
    LightRead,
    Mark,
    changed_folders,
    changed_packs,
    folder_of_key,
    reported_folders,
)
from .shortcut import settled_state

if TYPE_CHECKING:
    from .db.reading import ReadOnlyDatabase
    from .model import Plan
    from .plan_options import PlanOptions

MAX_SHARE = 0.25
"""Past this share of the folders changed (and more than `FEW` of them), a full plan costs
about as much: take it."""
FEW = 8


def narrowed_plan(
    database: ReadOnlyDatabase,
    root: str,
    options: PlanOptions,
    mark: Mark,
    light: LightRead,
    cache: DocumentCache | None = None,
) -> Plan | None:
    """The plan a full read would make, from the changed folders alone; None when this
    cannot tell (the caller then plans in full). `cache` is seeded with the stored
    documents of the folders read (tests count its parses)."""
    changed = changed_folders(mark, light)
    present = {folder_of_key(key) for key in light.keys}
    if not changed or not changed <= present or len(changed) > max(FEW, MAX_SHARE * len(present)):
        return None
    if not reported_folders(mark) <= present:  # a warning about no pack folder: not modelled
        return None

    def plan(conn: Connection) -> Plan | None:
        return _plan(conn, root, options, mark, light, changed, cache)

    return database.optional_read(plan)


def _plan(
    conn: Connection,
    root: str,
    options: PlanOptions,
    mark: Mark,
    light: LightRead,
    changed: set[str],
    cache: DocumentCache | None,
) -> Plan | None:
    managed = managed_folders(conn)
    before = {ref for ref, folder in managed.items() if folder in changed}
    if owns_runtimes(conn, before):
        return None
    users = users_of(conn, before)
    # A pack made outside attune-sync has no folder: it stays as it is, rows and all.
    folders = changed | reported_folders(mark) | {managed[r] for r in users if r in managed}
    cache = DocumentCache() if cache is None else cache
    seed(cache, load_documents(conn, fingerprint(), folders)[0], light.files)
    desired = read_folders(root, folders, cache)
    bundles = _bundles(desired)
    declared_packs = _declared_by(desired)
    refs = {bundle.pack.ref for bundle in bundles} | {ref for ref, _folder in declared_packs}
    claimed = any(managed.get(ref, folder) != folder for ref, folder in declared_packs)
    if claimed or any(bundle.runtimes for bundle in bundles if bundle.folder in changed):
        return None
    # A pack made outside attune-sync that a folder takes over (--adopt): the managed packs
    # using it were not looked for above, and its change can break them.
    adopted = {ref for ref, _folder in declared_packs if ref not in managed}
    if adopted and (users_of(conn, adopted) & managed.keys()) - refs:
        return None
    declared = {kind: _refs(bundles, kind) for kind in COMPONENT_KINDS}
    schemas: dict[ComponentKind, set[str]] = {
        "trigger": {rule.trigger_ref for b in bundles for rule in b.rules.values()},
        "action": {rule.action_ref for b in bundles for rule in b.rules.values()},
    }
    actual = load_narrowed(conn, refs | before | users, declared, schemas)
    if (
        _declared_in_outline(actual, declared)
        or _inexact_schemas(actual, schemas)
        or _runtime_names_shared(actual, bundles)
    ):
        return None
    # Checked after loading: a write in between moves the count, so it can only say no.
    if settled_state(conn, options) != mark:
        return None
    scope = changed_packs(desired, actual) - actual.outline
    plan = make_plan(desired, actual, options, scope)
    if plan.held_back or any(change.action == "delete" for change in plan.changes):
        return None
    return plan


def _bundles(desired: DesiredState) -> list[PackBundle]:
    """Every bundle read, the valid ones and what read cleanly of the invalid ones."""
    partial = [pack.partial for pack in desired.invalid if pack.partial is not None]
    return [*desired.packs.values(), *partial]


def _declared_by(desired: DesiredState) -> list[tuple[str, str]]:
    """(pack ref, folder) of every pack the folders read declare."""
    found = [(bundle.pack.ref, bundle.folder) for bundle in desired.packs.values()]
    return found + [(pack.ref, pack.folder) for pack in desired.invalid if pack.ref]


def _declared_in_outline(actual: ActualState, declared: dict[ComponentKind, set[str]]) -> bool:
    """Whether a folder read declares a component a pack in outline holds: that pack's
    unchanged folder still declares it too, a clash the full read would see (both packs
    invalid) and this one cannot."""
    return any(True for _row in _in_outline(actual, declared))


def _in_outline(
    actual: ActualState, refs_by_kind: dict[ComponentKind, set[str]]
) -> Iterator[ActualObject]:
    """The rows of these refs that a pack in outline holds."""
    for kind, refs in refs_by_kind.items():
        rows = actual.objects(kind)
        for ref in refs:
            row = rows.get(ref)
            if row is not None and row.values.get("pack_ref") in actual.outline:
                yield row


def _runtime_names_shared(actual: ActualState, bundles: list[PackBundle]) -> bool:
    """Whether a runtime name the folders read use is an alias or a name two runtimes share:
    the first one known takes it (`RuntimeIndex.add`), and a pack in outline makes its
    runtimes known from its rows, in another order than the full read's pack folders."""
    seen: set[tuple[str, str]] = set()
    shared: set[str] = set()
    for row in actual.runtime_rows.values():
        found, name = row.values.get("aliases"), row.values.get("name")
        keys = {("alias", a.lower()) for a in found or () if isinstance(a, str)}
        if isinstance(name, str) and name:
            keys.add(("name", name.lower()))
        shared.update(key for _, key in keys & seen)
        seen |= keys
    return bool(shared) and not shared.isdisjoint(_runtime_names(bundles))


def _runtime_names(bundles: list[PackBundle]) -> set[str]:
    """Every runtime name the bundles' sensors, actions and packs give, lower-cased."""
    found = {split_constraint(entry)[0] for b in bundles for entry in b.pack.runtime_deps}
    for bundle in bundles:
        found.update(sensor.runtime_ref for sensor in bundle.sensors.values())
        found.update(a.runtime_ref for a in bundle.actions.values() if a.runtime_ref is not None)
    return {name.lower() for name in found}


def _inexact_schemas(actual: ActualState, schemas: dict[ComponentKind, set[str]]) -> bool:
    """Whether a parameter schema read from a pack in outline (in place of its file) holds
    an integer a float may have been: PostgreSQL's jsonb gives the float 1e23 back as the
    integer 10**23, which a rule's value compares otherwise with than the file's float."""
    return any(
        _has_big_integer(row.values.get("param_schema")) for row in _in_outline(actual, schemas)
    )


def _has_big_integer(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_big_integer(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_big_integer(item) for item in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _EXACT


_EXACT = 2**53
"""Below this, every integer is exactly a float and back."""


def _refs(bundles: list[PackBundle], kind: ComponentKind) -> set[str]:
    return {ref for bundle in bundles for ref in bundle.components(kind)}
