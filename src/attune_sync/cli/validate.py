"""`attune-sync validate`: check the pack files, without a database unless one is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .common import CommonSettings, colour, fail, note
from .options import (
    ADOPT,
    DB_SCHEMA,
    LOG_FORMAT,
    LOG_LEVEL,
    OFFLINE_DATABASE,
    PACKS_DIR,
    READ_WORKERS,
    Values,
)
from .workflow import CI_FORMATS, VALIDATE_OUTPUT

if TYPE_CHECKING:
    from ..model import ActualState


class ValidateExit(ExitCode):
    VALID = 0, "all packs valid"
    INVALID = 1, "some pack is invalid"
    TROUBLE = 2, "the packs folder cannot be read, or the database cannot be read or is refused"
    USAGE_ERROR = USAGE, USAGE_MEANING


@dataclass(frozen=True, slots=True)
class ValidateSettings:
    common: CommonSettings
    adopt: bool = False
    """With --database: a folder naming an API-made pack is fine (apply --adopt takes it)."""

    @classmethod
    def from_values(cls, values: Values) -> ValidateSettings:
        return cls(CommonSettings.from_values(values), adopt=bool(values["adopt"]))


def run(settings: ValidateSettings) -> int:
    from .. import render
    from ..reader import TreeChanged, TreeUnreadable
    from ..sync import validate

    common = settings.common
    trouble: tuple[type[Exception], ...] = (TreeUnreadable, TreeChanged)
    if common.database:  # only then load the database edge
        from ..db.engine import DatabaseError

        trouble += (DatabaseError,)
    try:
        actual = _actual_state(common.database, common.db_schema)
        checked = validate(
            common.packs_dir, actual, database=bool(common.database), adopt=settings.adopt
        )
    except trouble as error:
        return fail(common.output, str(error), ValidateExit.TROUBLE)
    valid, invalid, problems = checked.valid, checked.invalid, checked.problems
    if common.output in CI_FORMATS:  # workflow: github, junit
        from ..workflow_cli import print_validation

        folders = {ref: bundle.folder for ref, bundle in valid.items()}
        print_validation(common.output, common.packs_dir, folders, invalid, checked.warnings)
    elif common.output == "json":
        print(render.dumps(render.problems_json(problems, checked.notes, packs=sorted(valid))))
    else:
        use_colour = colour()
        for problem in problems:
            print(render.render_problem(problem, use_colour))
        errors = sum(1 for p in problems if p.severity == "error")
        print(
            f"{_count(len(valid), 'valid pack')}, {len(invalid)} invalid, "
            f"{_count(errors, 'error')}, {_count(len(problems) - errors, 'warning')}."
        )
    return ValidateExit.VALID if not invalid else ValidateExit.INVALID


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _actual_state(database: str | None, schema: str | None) -> ActualState:
    from ..db.schema import BUILTIN_RUNTIMES
    from ..model import ActualState

    if not database:
        # What validation assumes without a database: only the built-in runtimes.
        return ActualState(runtimes=dict(BUILTIN_RUNTIMES))
    from ..db.reading import open_for_reading

    # Read-only: validate never creates, migrates or writes anything.
    opened = open_for_reading(database, schema=schema)
    try:
        note(opened)
        return opened.load_actual()
    finally:
        opened.dispose()


COMMAND = Command(
    name="validate",
    summary="check pack files; no database needed",
    options=(
        PACKS_DIR,
        OFFLINE_DATABASE,
        DB_SCHEMA,
        VALIDATE_OUTPUT,
        LOG_FORMAT,
        LOG_LEVEL,
        ADOPT,
        READ_WORKERS,
    ),
    exits=ValidateExit,
    settings=ValidateSettings.from_values,
    run=run,
    crashed=ValidateExit.TROUBLE,
    precedence="2 over 1 (an unreadable folder is reported before any pack's problems).",
)
