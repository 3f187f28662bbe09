"""The engine: `validate`, `plan` and `apply`, the one path every edge takes.

The CLI's commands, the daemon and (later) the REST API call these and nothing below
them; each is read -> settle -> plan -> (render | apply) over one `Reconciler`:

* `validate(root, actual)`: read and settle references against `actual` (the database's
  state, or only the built-in runtimes without one); no plan, no writes.
* `plan(engine, root)`: the plan a sync would apply now, against what is committed.
* `apply(engine, root)`: take the write lock, read, plan and apply in one transaction.

The daemon keeps one `Reconciler` across runs (it remembers files and the database
between them); a one-shot command uses a fresh one, so `apply` and `watch` cannot drift
apart. The database edge is imported inside the functions that need it: `validate`
without a database loads neither SQLAlchemy's engine nor Alembic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import ActualState, InvalidPack, PackBundle, Problem
from .notes import SkippedNote
from .plan_options import PlanOptions

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .db.reading import ReadOnlyDatabase
    from .model import DesiredState, Plan
    from .outcome import LockTaker, RunOutcome
    from .reader import DocumentCache
    from .settled import LightRead


@dataclass(frozen=True, slots=True)
class Validation:
    valid: dict[str, PackBundle]
    invalid: list[InvalidPack]
    warnings: list[Problem] = field(default_factory=list)
    notes: list[SkippedNote] = field(default_factory=list)
    """Not problems: never counted as warnings, shown in JSON output only."""

    @property
    def problems(self) -> list[Problem]:
        return [p for pack in self.invalid for p in pack.problems] + self.warnings


def validate(
    root: str, actual: ActualState, *, database: bool = True, adopt: bool = False
) -> Validation:
    """Read and settle the tree; refs may resolve to what `actual` holds.

    `database` says whether `actual` came from one (problems then say "or the database").
    `adopt`: a folder naming a pack made outside attune-sync is fine (apply --adopt takes it).
    """
    from .parse_ahead import parsed_ahead
    from .reader import read_tree
    from .settle import settle

    desired = read_tree(root, parsed_ahead(root))
    settled = settle(desired, actual, database=database, adopt=adopt)
    warnings = desired.warnings + settled.warnings
    return Validation(settled.valid, settled.invalid, warnings, list(desired.notes))


def plan(engine: Engine, root: str, options: PlanOptions | None = None) -> Plan:
    """The plan a sync would apply now. Changes nothing."""
    from .reader import read_tree
    from .reconciler import Reconciler

    # read_tree, not Reconciler.read: a one-shot read needs no cache, and keeping the
    # collector paused (then freezing what survives) is for a long-lived process.
    return Reconciler(engine, root, options or PlanOptions()).plan(read_tree(root))


def plan_read_only(
    database: ReadOnlyDatabase,
    root: str,
    options: PlanOptions | None = None,
    *,
    cache: DocumentCache | None = None,
    read_cache: bool = True,
    shortcut: bool = True,
) -> Plan:
    """`plan` against a database opened by `db.reading.open_for_reading`: nothing is created
    or migrated, a database without attune-sync's tables plans as empty, and one whose older
    schema cannot be read says that `apply` upgrades it.

    Files an earlier apply stored (`readcache`) are hashed, not parsed; `cache` (tests count
    its parses) is seeded with them. When the tree, the options and the database are what
    the last settled apply left (`settled`), nothing is parsed or planned at all.
    `read_cache=False` reads and compares everything; `shortcut=False` (tests) only skips
    the shortcut.
    """
    from .settled import changed_packs
    from .shortcut import answer, settled_look, settled_state

    options = options or PlanOptions()
    light = None
    if read_cache and shortcut:
        mark, light = settled_look(database, root, options)
        settled = answer(mark, light)
        if settled is not None:
            return settled
        if mark is not None and light is not None:
            from .narrow import narrowed_plan

            narrowed = narrowed_plan(database, root, options, mark, light, cache)
            if narrowed is not None:
                return narrowed
    from .planner import make_plan

    desired = _read_with_stored(database, root, cache, read_cache, light)
    # What Reconciler.plan does, with the database's own read: its errors name an old schema.
    actual = database.load_actual()
    scope = None
    # Checked after loading: a write in between moves the count, so it can only say no.
    mark = database.optional_read(lambda conn: settled_state(conn, options)) if read_cache else None
    if mark is not None:
        scope = changed_packs(desired, actual)
    return make_plan(desired, actual, options, scope)


def _read_with_stored(
    database: ReadOnlyDatabase,
    root: str,
    cache: DocumentCache | None,
    stored: bool,
    light: LightRead | None,
) -> DesiredState:
    """The tree, parsing only files the database holds no document for, and reading again
    none the shortcut just hashed (`light`) whose stat is unchanged. The cache made here is
    dropped on return: what the plan needs lives on in the desired state, and the rest (a
    second copy of every file's data) would only raise the peak while planning."""
    from .parse_ahead import parse_ahead
    from .readcache import seed
    from .reader import DocumentCache, read_tree

    cache = DocumentCache() if cache is None else cache
    if stored:
        seed(cache, database.stored_documents(), light.files if light is not None else None)
    parse_ahead(root, cache, known=light.files if light is not None else None)
    return read_tree(root, cache)


def apply(
    engine: Engine,
    root: str,
    options: PlanOptions | None = None,
    *,
    revision: str | None = None,
    before_plan: LockTaker | None = None,
    read_cache: bool = True,
) -> RunOutcome:
    """Read `root` and make the database equal to it, all or nothing.

    The revision, unless given, is told from the folder the run actually read. A failed
    run is recorded in the history by the reconciler. When nothing changed since the last
    settled apply (`settled`), an idle run is recorded without reading or planning;
    `read_cache=False` reads and compares everything.
    """
    from .shortcut import settled_apply

    options = options or PlanOptions()
    light = None
    if read_cache:
        settled, light = settled_apply(
            engine, root, options, revision=revision, before_plan=before_plan
        )
        if settled is not None:
            return settled
    # Only now: an apply the settled mark answered never loads the planner or the reader.
    from .reconciler import Reconciler

    reconciler = Reconciler(
        engine, root, options, before_plan=before_plan, long_lived=False, read_cache=read_cache
    )
    if light is not None:  # hashed by the shortcut: not read again while its stat holds
        reconciler.memory.seen = light.files
    return reconciler.run(revision=revision)


dry_run = plan
"""The name the commands used before the engine had one vocabulary."""
sync = apply


def offline_state(runtimes: dict[str, int]) -> ActualState:
    """The state validation assumes without a database: only the built-in runtimes."""
    return ActualState(runtimes=dict(runtimes))
