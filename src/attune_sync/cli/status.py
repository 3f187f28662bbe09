"""`attune-sync status`: recent runs and each managed pack's standing, read from the database.

Given a packs folder (PACKS_DIR or ATTUNE_SYNC_PACKS_DIR), it also says whether that folder
has changes the database does not have yet. It only reads: a SQLite file that does not exist
is reported, never created.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..setting_values import parse_count
from .command import USAGE, USAGE_MEANING, Command, ExitCode
from .common import CommonSettings, plan_options
from .options import COMMON, GUARDS, READ_WORKERS, Option, Values

if TYPE_CHECKING:
    from ..db.reading import ReadOnlyDatabase
    from ..model import Plan
    from ..plan_options import PlanOptions


class StatusExit(ExitCode):
    IN_SYNC = 0, "every managed pack in sync (and the packs folder, if given, has no changes)"
    ATTENTION = 1, "an invalid or held-back pack, a failed last run, no runs, or changes pending"
    TROUBLE = 2, "the database cannot be read, was never synced, or the packs folder is unreadable"
    USAGE_ERROR = USAGE, USAGE_MEANING


RUNS = Option("runs", "--runs", None, parse_count, 10, "how many recent runs to show", metavar="N")


@dataclass(frozen=True, slots=True)
class StatusSettings:
    common: CommonSettings
    database: str
    runs: int
    options: PlanOptions

    @classmethod
    def from_values(cls, values: Values) -> StatusSettings:
        return cls(
            CommonSettings.from_values(values, reads_packs=values.given("packs_dir")),
            str(values["database"]),
            int(values["runs"]),
            plan_options(values),
        )


class StatusTrouble(Exception):
    """Why status cannot say anything (exit 2)."""


def run(settings: StatusSettings) -> int:
    from .. import render
    from ..db.engine import mask_url

    try:
        report = _report(settings)
    except StatusTrouble as trouble:
        message = str(trouble)
        if settings.common.output == "json":
            print(render.dumps({"error": message, "database": mask_url(settings.database)}))
        else:
            print(f"error: {message}", file=sys.stderr)
        return StatusExit.TROUBLE
    if settings.common.output == "json":
        print(render.dumps(report))
    else:
        print(_render(report))
    pending = report.get("pending") or {}
    attention = report["needs_attention"] or pending.get("changes") or pending.get("invalid_packs")
    return StatusExit.ATTENTION if attention else StatusExit.IN_SYNC


def _report(settings: StatusSettings) -> dict[str, Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.engine import DatabaseError, mask_url
    from ..db.reading import open_for_reading
    from ..status import needs_attention, read_status

    missing = missing_sqlite_file(settings.database)
    if missing is not None:
        raise StatusTrouble(
            f"no sync has run against this database yet: {missing} does not exist "
            "(status creates nothing)"
        )
    try:
        # Read-only: status never creates a file, a schema or a table, nor migrates.
        database = open_for_reading(settings.database, schema=settings.common.db_schema)
    except DatabaseError as error:
        raise StatusTrouble(str(error)) from None
    try:
        if database.engine is None:
            raise StatusTrouble(
                f"no sync has run against this database yet ({mask_url(settings.database)})"
            )
        with database.connect() as conn:
            status = read_status(conn, settings.runs)
        if status is None:
            raise StatusTrouble(
                f"no sync has run against this database yet ({mask_url(settings.database)})"
            )
        report: dict[str, Any] = {"database": mask_url(settings.database), **status}
        report["needs_attention"] = needs_attention(status)
        if settings.common.packs_dir_given:
            report["pending"] = _pending(database, settings.common.packs_dir, settings.options)
        return report
    except SQLAlchemyError as error:
        raise StatusTrouble(
            f"cannot read the database {mask_url(settings.database)}: {error}"
        ) from None
    finally:
        database.dispose()


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist, so opening would create it."""
    from ..db.engine import DatabaseError, normalise_url

    try:
        parsed = normalise_url(url)
    except DatabaseError:
        return None  # make_engine reports it
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return None if Path(database).exists() else database


def _pending(database: ReadOnlyDatabase, packs_dir: str, options: PlanOptions) -> dict[str, Any]:
    from ..reader import TreeChanged, TreeUnreadable
    from ..sync import plan_read_only

    try:
        plan = plan_read_only(database, packs_dir, options)
    except (TreeUnreadable, TreeChanged) as error:
        raise StatusTrouble(f"{error}; nothing was compared") from None
    return _pending_summary(plan, packs_dir)


def _pending_summary(plan: Plan, packs_dir: str) -> dict[str, Any]:
    return {
        "packs_dir": packs_dir,
        "changes": len(plan.changes),
        "create": plan.count("create"),
        "update": plan.count("update"),
        "delete": plan.count("delete"),
        "held_back": len(plan.held_back),
        "invalid_packs": len(plan.invalid),
    }


def _render(report: dict[str, Any]) -> str:
    from ..status import render_status

    lines = [f"Database: {report['database']}", "", render_status(report)]
    pending = report.get("pending")
    if pending is not None:
        lines += ["", _render_pending(pending)]
    return "\n".join(lines)


def _render_pending(pending: dict[str, Any]) -> str:
    folder = pending["packs_dir"]
    if not pending["changes"] and not pending["invalid_packs"] and not pending["held_back"]:
        return f"Packs folder {folder}: in sync with the database, no changes pending."
    parts = [
        f"{pending['create']} to add, {pending['update']} to change, {pending['delete']} to destroy"
    ]
    if pending["held_back"]:
        parts.append(f"{pending['held_back']} held back")
    if pending["invalid_packs"]:
        parts.append(f"{pending['invalid_packs']} invalid pack(s)")
    return (
        f"Packs folder {folder}: changes pending ({'; '.join(parts)}); "
        f"`attune-sync diff {folder}` shows them."
    )


COMMAND = Command(
    name="status",
    summary="recent runs and each managed pack's standing; with PACKS_DIR, pending changes",
    options=(*COMMON, *GUARDS, RUNS, READ_WORKERS),
    exits=StatusExit,
    settings=StatusSettings.from_values,
    run=run,
    crashed=StatusExit.TROUBLE,
    precedence="2 over 1 over 0.",
)
