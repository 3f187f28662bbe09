"""What the CLI's GitOps additions (issue 9) do when they run; cli/workflow.py declares them.

* `validate --output github|junit` and `diff --output markdown`;
* `diff --out PLAN` and `apply --plan PLAN` (saved plans, see saved_plan.py).

Imported only by a running command, so the command line's `--help` stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from . import render, render_ci, render_markdown, saved_plan
from .db.engine import DatabaseError, make_engine, mask_url
from .db.migrate import upgrade
from .db.reading import ReadOnlyDatabase, open_for_reading
from .db.settings import DEFAULT_HISTORY_LIMIT
from .model import InvalidPack, Plan, Problem
from .plan_options import PlanOptions
from .reader import TreeChanged, TreeUnreadable

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_INVALID = 2
EXIT_HELD_BACK = 3


def packs_prefix(packs_dir: str) -> str:
    """The packs folder relative to the repository, where GitHub looks for annotated files."""
    base = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    relative = os.path.relpath(os.path.abspath(packs_dir), base)
    return "" if relative == "." else relative.replace(os.sep, "/")


def print_validation(
    output: str,
    packs_dir: str,
    valid: Mapping[str, str],
    invalid: Sequence[InvalidPack],
    warnings: Sequence[Problem],
) -> None:
    """validate's result as `--output github` or `junit` asks."""
    if output == "junit":
        print(render_ci.render_junit(valid, invalid, warnings))
        return
    problems = [p for pack in invalid for p in pack.problems] + list(warnings)
    annotations = render_ci.render_github(problems, packs_prefix(packs_dir))
    if annotations:
        print(annotations)
    errors = sum(1 for p in problems if p.severity == "error")
    print(f"{len(valid)} valid, {len(invalid)} invalid, {errors} errors.")


def print_plan(plan: Plan) -> None:
    """diff's plan as `--output markdown` asks: a pull request comment."""
    print(render_markdown.render_markdown(plan), end="")


def diff_saving(database: ReadOnlyDatabase, packs_dir: str, out: str, options: PlanOptions) -> Plan:
    """`diff --out PLAN`: plan, write the plan file, return the plan for the usual output."""
    plan, document = saved_plan.make_saved_plan(database, packs_dir, options)
    saved_plan.write_plan_file(out, document)
    return plan


def apply_saved_plan(
    plan_file: str,
    packs_dir: str,
    database: str,
    output: str,
    colour: bool,
    schema: str | None = None,
    history_limit: int = DEFAULT_HISTORY_LIMIT,
    verbose: bool = False,
) -> int:
    """`apply --plan PLAN`: exit 0/2/3 like apply; 1 when refused or failed. Text output is
    apply's (values left out past options.APPLY_VALUES_UP_TO changes unless `verbose`)."""
    try:
        document = saved_plan.read_plan_file(plan_file)
        fresh = document["fingerprint"].get("db_version") is None
        if fresh and _has_tables(database, schema):
            raise saved_plan.StalePlan(
                ["the database had no attune-sync tables when the plan was made and has now"]
            )
        engine = make_engine(database, schema=schema, history_limit=history_limit)
        try:
            upgrade(engine)
            outcome = saved_plan.apply_saved(engine, packs_dir, document, fresh=fresh)
        finally:
            engine.dispose()
    except (
        saved_plan.PlanFileError,
        saved_plan.StalePlan,
        DatabaseError,
        TreeUnreadable,
        TreeChanged,
    ) as error:
        message = str(error)
        if not isinstance(error, saved_plan.StalePlan):
            message += "; nothing was applied"
        return _fail(output, message)
    except Exception as error:
        return _fail(output, f"apply failed and was rolled back: {error}")
    plan = outcome.plan
    if output == "json":
        extra = {"run_id": outcome.run_id, "revision": outcome.revision, "plan_file": plan_file}
        print(render.dumps(render.plan_json(plan, applied=True, result=outcome.result, **extra)))
    else:
        from .cli.common import print_applied

        print_applied(
            plan,
            f"Apply complete (saved plan {plan_file}): {plan.count('create')} added, "
            f"{plan.count('update')} changed, {plan.count('delete')} destroyed"
            f" in {outcome.seconds:.2f}s (database {mask_url(database)}).",
            colour=colour,
            verbose=verbose,
        )
    if plan.invalid:
        return EXIT_INVALID
    return EXIT_HELD_BACK if plan.held_back else EXIT_OK


def _fail(output: str, message: str) -> int:
    if output == "json":
        print(render.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _has_tables(database: str, schema: str | None) -> bool:
    probe = open_for_reading(database, schema=schema)
    try:
        return probe.engine is not None
    finally:
        probe.dispose()
