"""`attune-sync diff`: the plan `apply` would carry out. Changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .common import CommonSettings, colour, fail, note, plan_options
from .options import COMMON, FULL_COMPARE, GUARDS, OUTPUT, READ_WORKERS, Values
from .workflow import CI_FORMATS, DIFF_OUTPUT, OUT

if TYPE_CHECKING:
    from ..plan_options import PlanOptions


class DiffExit(ExitCode):
    IN_SYNC = 0, "in sync"
    CHANGES_PENDING = 1, "changes pending"
    TROUBLE = 2, "an invalid pack, or an error (folder unreadable, database down or refused)"
    USAGE_ERROR = USAGE, USAGE_MEANING


@dataclass(frozen=True, slots=True)
class DiffSettings:
    common: CommonSettings
    database: str
    options: PlanOptions
    out: str | None = None
    """workflow: also write the plan to this file (saved_plan.py)."""
    full_compare: bool = False

    @classmethod
    def from_values(cls, values: Values) -> DiffSettings:
        return cls(
            CommonSettings.from_values(values),
            str(values["database"]),
            plan_options(values),
            values["out"],
            bool(values["full_compare"]),
        )


def run(settings: DiffSettings) -> int:
    from .. import render
    from ..db.engine import DatabaseError
    from ..db.reading import open_for_reading
    from ..readfs import TreeChanged, TreeUnreadable
    from ..sync import plan_read_only

    output = settings.common.output
    try:
        # Read-only: a diff never creates, migrates or writes anything.
        database = open_for_reading(settings.database, schema=settings.common.db_schema)
    except DatabaseError as error:
        return fail(output, f"{error}; nothing was compared", DiffExit.TROUBLE)
    try:
        note(database)
        if settings.out:  # workflow: a saved plan (saved_plan.py)
            from ..saved_plan import PlanFileError
            from ..workflow_cli import diff_saving

            try:
                plan = diff_saving(
                    database, settings.common.packs_dir, settings.out, settings.options
                )
            except PlanFileError as error:  # the plan file could not be written
                return fail(output, str(error), DiffExit.TROUBLE)
        else:
            plan = plan_read_only(
                database,
                settings.common.packs_dir,
                settings.options,
                read_cache=not settings.full_compare,
            )
    except (TreeUnreadable, TreeChanged, DatabaseError) as error:
        return fail(output, f"{error}; nothing was compared", DiffExit.TROUBLE)
    finally:
        database.dispose()  # a process may run several commands (tests, the API)
    if output in CI_FORMATS:  # workflow: markdown
        from ..workflow_cli import print_plan

        print_plan(plan)
    elif output == "json":
        document = render.plan_json(plan)
        if database.note:  # also on stderr; here for machines reading only stdout
            document["notes"].append({"message": database.note})
        print(render.dumps(document))
    else:
        print(render.render_plan(plan, colour()))
    if plan.invalid:
        return DiffExit.TROUBLE
    return DiffExit.CHANGES_PENDING if plan.changes or plan.held_back else DiffExit.IN_SYNC


COMMAND = Command(
    name="diff",
    summary="show what apply would change; changes nothing",
    options=(
        *(DIFF_OUTPUT if option is OUTPUT else option for option in COMMON),
        *GUARDS,
        OUT,
        FULL_COMPARE,
        READ_WORKERS,
    ),
    exits=DiffExit,
    settings=DiffSettings.from_values,
    run=run,
    crashed=DiffExit.TROUBLE,
    precedence="2 over 1 over 0 (an invalid pack is trouble even when other changes are pending).",
)
