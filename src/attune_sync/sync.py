"""One-shot runs for the commands: a dry run and a sync.

`sync` is the daemon's `Reconciler` used once, so `attune-sync apply` and `attune-sync
watch` share one code path: read, plan and apply in one transaction, the plan made against
exactly the rows it changes.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine

from .db.reading import ReadOnlyDatabase
from .model import ActualState, Plan
from .outcome import LockTaker, RunOutcome
from .planner import PlanOptions, make_plan
from .reader import read_tree
from .reconciler import Reconciler

log = structlog.get_logger(__name__)


def dry_run(database: ReadOnlyDatabase, root: str, options: PlanOptions | None = None) -> Plan:
    """The plan a sync would apply now. Changes nothing (the database is opened read-only)."""
    desired = read_tree(root)
    return make_plan(desired, database.load_actual(), options)


def sync(
    engine: Engine,
    root: str,
    options: PlanOptions | None = None,
    *,
    revision: str | None = None,
    before_plan: LockTaker | None = None,
) -> RunOutcome:
    """Read `root` and make the database equal to it, all or nothing.

    The revision, unless given, is told from the folder the run actually read.
    """
    reconciler = Reconciler(engine, root, options or PlanOptions(), before_plan=before_plan)
    return reconciler.run(revision=revision)


def offline_state(runtimes: dict[str, int]) -> ActualState:
    """The state validation assumes without a database: only the built-in runtimes."""
    return ActualState(runtimes=dict(runtimes))
