"""Settings every command shares, typed, and the small helpers every command's output uses."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..terminal import wants_colour
from .options import APPLY_VALUES_UP_TO, UsageError, Values

if TYPE_CHECKING:
    from ..db.reading import ReadOnlyDatabase
    from ..model import Plan
    from ..plan_options import PlanOptions

PACK_FILES = ("pack.yaml", "pack.yml")


@dataclass(frozen=True, slots=True)
class CommonSettings:
    packs_dir: str
    packs_dir_given: bool
    """PACKS_DIR came from the command line or the environment, not the default."""
    database: str | None
    output: str
    db_schema: str | None = None
    """PostgreSQL schema of attune-sync's tables (--db-schema); None: the default one."""

    @classmethod
    def from_values(cls, values: Values, *, reads_packs: bool = True) -> CommonSettings:
        """`reads_packs`: the command will read PACKS_DIR (status only when it is given)."""
        packs_dir = str(values["packs_dir"])
        if reads_packs:
            check_packs_dir(packs_dir, values.source("packs_dir"))
        return cls(
            packs_dir=packs_dir,
            packs_dir_given=values.given("packs_dir"),
            database=values["database"],
            output=str(values["output"]),
            db_schema=values["db_schema"],
        )


def check_packs_dir(packs_dir: str, source: str) -> None:
    """A PACKS_DIR that is itself a pack folder is a usage error suggesting its parent."""
    folder = Path(packs_dir)
    for name in PACK_FILES:
        try:
            is_pack = (folder / name).is_file()
        except OSError:
            is_pack = False
        if is_pack:
            where = "PACKS_DIR" if source in ("PACKS_DIR", "default") else source
            parent = folder.resolve().parent
            raise UsageError(
                f"{where} {packs_dir!r} is itself a pack folder (it holds {name}); give the "
                f"folder that holds the pack folders instead, here {str(parent)!r}"
            )


def plan_options(values: Values) -> PlanOptions:
    """The deletion guard's settings (the GUARDS options)."""
    from ..plan_options import PlanOptions

    return PlanOptions(
        allow_mass_delete=bool(values["allow_mass_delete"]),
        max_delete_share=float(values["max_delete_share"]),
        adopt=bool(values["adopt"]),
    )


def note(database: ReadOnlyDatabase) -> None:
    """Say on standard error why a database reads as empty, or is read as it is."""
    if database.note:
        print(f"note: {database.note} (database {database.url})", file=sys.stderr)


def colour() -> bool:
    return wants_colour(sys.stdout)


def print_applied(plan: Plan, headline: str, *, colour: bool, verbose: bool) -> None:
    """An applied plan as text: each change with its values up to APPLY_VALUES_UP_TO changes
    (or with --verbose), past it one line per change and a line saying the values were left
    out; then `headline` (Apply complete: ...). Problems and holds are printed in full."""
    from .. import render

    values = verbose or len(plan.changes) <= APPLY_VALUES_UP_TO
    print(render.render_plan(plan, colour, values=values))
    if not values:
        print(
            f"Values left out ({len(plan.changes)} changes, more than {APPLY_VALUES_UP_TO}): "
            "--verbose prints them, --output json holds them all."
        )
    print(headline)


def fail(output: str, message: str, code: int) -> int:
    """Report an error the way the output format asks, and return `code`."""
    if output == "json":
        from .. import render

        print(render.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return code
