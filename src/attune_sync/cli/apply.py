"""`attune-sync apply`: make the database equal to the packs folder, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..db.settings import DEFAULT_HISTORY_LIMIT
from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .common import CommonSettings, colour, fail, plan_options, print_applied
from .database import HISTORY_LIMIT
from .options import COMMON, FULL_COMPARE, GUARDS, READ_WORKERS, VERBOSE, Values
from .workflow import PLAN

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..outcome import RunOutcome
    from ..plan_options import PlanOptions


class ApplyExit(ExitCode):
    APPLIED = 0, "the database now equals the folder"
    FAILED = (
        1,
        "nothing applied: an error, rolled back (folder unreadable, database down, …), "
        "or --plan refused as stale",
    )
    INVALID_LEFT = (
        2,
        "applied, but invalid packs were left as they are; or nothing applied: the database "
        "was migrated by a newer attune-sync",
    )
    HELD_BACK = 3, "applied, but some deletes were held back"
    USAGE_ERROR = USAGE, USAGE_MEANING


@dataclass(frozen=True, slots=True)
class ApplySettings:
    common: CommonSettings
    database: str
    options: PlanOptions
    history_limit: int = DEFAULT_HISTORY_LIMIT
    plan: str | None = None
    """workflow: apply exactly this saved plan (saved_plan.py)."""
    full_compare: bool = False
    verbose: bool = False
    """Text output: every change's values, however many changes (else one line per change
    past options.APPLY_VALUES_UP_TO)."""

    @classmethod
    def from_values(cls, values: Values) -> ApplySettings:
        return cls(
            CommonSettings.from_values(values),
            str(values["database"]),
            plan_options(values),
            int(values["history_limit"]),
            values["plan"],
            bool(values["full_compare"]),
            bool(values["verbose"]),
        )


def run(settings: ApplySettings) -> int:
    from ..db.engine import DatabaseError, DatabaseTooNew, make_engine
    from ..db.migrate import upgrade
    from ..readfs import TreeChanged, TreeUnreadable

    output = settings.common.output
    if settings.plan:  # workflow: apply a saved plan (saved_plan.py)
        from ..workflow_cli import apply_saved_plan

        common = settings.common
        return apply_saved_plan(
            settings.plan,
            common.packs_dir,
            settings.database,
            output,
            colour(),
            schema=common.db_schema,
            history_limit=settings.history_limit,
            verbose=settings.verbose,
        )
    try:
        engine = make_engine(
            settings.database,
            schema=settings.common.db_schema,
            history_limit=settings.history_limit,
        )
    except DatabaseError as error:
        return fail(output, f"{error}; nothing was applied", ApplyExit.FAILED)
    try:
        upgrade(engine)
        outcome = _sync(engine, settings)
    except DatabaseTooNew as error:
        return fail(output, f"{error}; nothing was applied", ApplyExit.INVALID_LEFT)
    except (TreeUnreadable, TreeChanged, DatabaseError) as error:
        return fail(output, f"{error}; nothing was applied", ApplyExit.FAILED)
    except _ApplyFailed as failed:
        return fail(output, f"apply failed and was rolled back: {failed}", ApplyExit.FAILED)
    finally:
        engine.dispose()  # a process may run several commands (tests, the API)
    _print_outcome(outcome, settings)
    if outcome.plan.invalid:
        return ApplyExit.INVALID_LEFT
    if outcome.plan.held_back:
        return ApplyExit.HELD_BACK
    return ApplyExit.APPLIED


class _ApplyFailed(Exception):
    """The sync itself failed: rolled back, and recorded in the run history."""


def _sync(engine: Engine, settings: ApplySettings) -> RunOutcome:
    from ..readfs import TreeChanged, TreeUnreadable
    from ..sync import apply as engine_apply

    try:
        return engine_apply(
            engine,
            settings.common.packs_dir,
            settings.options,
            read_cache=not settings.full_compare,
        )
    except (TreeUnreadable, TreeChanged):
        raise
    except Exception as error:  # recorded in the run history by the reconciler
        import structlog

        structlog.get_logger("attune_sync").exception("apply failed; everything was rolled back")
        raise _ApplyFailed(str(error)) from error


def _print_outcome(outcome: RunOutcome, settings: ApplySettings) -> None:
    from .. import render
    from ..db.engine import mask_url

    plan = outcome.plan
    if settings.common.output == "json":
        document = render.plan_json(
            plan,
            applied=True,
            run_id=outcome.run_id,
            revision=outcome.revision,
            result=outcome.result,
        )
        print(render.dumps(document))
        return
    print_applied(
        plan,
        f"Apply complete: {plan.count('create')} added, {plan.count('update')} changed, "
        f"{plan.count('delete')} destroyed in {outcome.seconds:.2f}s"
        f" (database {mask_url(settings.database)}).",
        colour=colour(),
        verbose=settings.verbose,
    )


COMMAND = Command(
    name="apply",
    summary="make the database equal to the packs folder",
    options=(*COMMON, *GUARDS, HISTORY_LIMIT, VERBOSE, PLAN, FULL_COMPARE, READ_WORKERS),
    exits=ApplyExit,
    settings=ApplySettings.from_values,
    run=run,
    crashed=ApplyExit.FAILED,
    precedence="1 over 2 over 3 over 0 (nothing applied beats anything applied; invalid "
    "packs are reported before held-back deletes).",
)
