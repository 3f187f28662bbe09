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
from .planner import PlanOptions
from .reader import DocumentCache, read_tree
from .settle import settle

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .db.reading import ReadOnlyDatabase
    from .model import Plan
    from .outcome import LockTaker, RunOutcome


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
    desired = read_tree(root)
    settled = settle(desired, actual, database=database, adopt=adopt)
    warnings = desired.warnings + settled.warnings
    return Validation(settled.valid, settled.invalid, warnings, list(desired.notes))


def plan(engine: Engine, root: str, options: PlanOptions | None = None) -> Plan:
    """The plan a sync would apply now. Changes nothing."""
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
) -> Plan:
    """`plan` against a database opened by `db.reading.open_for_reading`: nothing is created
    or migrated, a database without attune-sync's tables plans as empty, and one whose older
    schema cannot be read says that `apply` upgrades it.

    Files an earlier apply stored (`readcache`) are hashed, not parsed; `cache` (tests count
    its parses) is seeded with them.
    """
    from .planner import make_plan
    from .readcache import seed

    cache = DocumentCache() if cache is None else cache
    seed(cache, database.stored_documents())
    desired = read_tree(root, cache)
    # What Reconciler.plan does, with the database's own read: its errors name an old schema.
    return make_plan(desired, database.load_actual(), options or PlanOptions())


def apply(
    engine: Engine,
    root: str,
    options: PlanOptions | None = None,
    *,
    revision: str | None = None,
    before_plan: LockTaker | None = None,
) -> RunOutcome:
    """Read `root` and make the database equal to it, all or nothing.

    The revision, unless given, is told from the folder the run actually read. A failed
    run is recorded in the history by the reconciler.
    """
    from .reconciler import Reconciler

    reconciler = Reconciler(
        engine, root, options or PlanOptions(), before_plan=before_plan, long_lived=False
    )
    return reconciler.run(revision=revision)


dry_run = plan
"""The name the commands used before the engine had one vocabulary."""
sync = apply


def offline_state(runtimes: dict[str, int]) -> ActualState:
    """The state validation assumes without a database: only the built-in runtimes."""
    return ActualState(runtimes=dict(runtimes))
