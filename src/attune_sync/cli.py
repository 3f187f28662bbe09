"""The `attune-sync` command line: one thin function per command over the core."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import structlog

from . import render, workflow_cli
from .daemon.commands import add_status_parser, add_watch_parser, cmd_status, cmd_watch
from .db.engine import DEFAULT_DATABASE_URL, DatabaseError, make_engine, mask_url
from .db.migrate import upgrade
from .db.schema import BUILTIN_RUNTIMES
from .db.state import load_actual
from .envvars import env_default, env_flag
from .logs import configure_logging
from .planner import DEFAULT_MAX_DELETE_SHARE, PlanOptions, settle_references
from .reader import TreeChanged, TreeUnreadable, read_tree
from .sync import dry_run, offline_state, sync

log = structlog.get_logger("attune_sync")

# Exit codes (documented in the README).
EXIT_OK = 0
EXIT_DIFF_PENDING = 1  # diff: changes pending; validate: invalid
EXIT_TROUBLE = 2  # diff: an invalid pack or an error
EXIT_FAILED = 1  # apply: nothing was applied (error, rolled back)
EXIT_INVALID = 2  # apply: valid packs applied, invalid ones left as they were
EXIT_HELD_BACK = 3  # apply: applied, but some changes were held back
EXIT_USAGE = 64


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_common_options(sub: argparse.ArgumentParser, database_default: str | None) -> None:
    """PACKS_DIR, --database, --output and logging: every command's options."""
    sub.add_argument(
        "packs_dir",
        nargs="?",
        default=os.environ.get("ATTUNE_SYNC_PACKS_DIR", "packs"),
        metavar="PACKS_DIR",
        help="folder of pack folders (env ATTUNE_SYNC_PACKS_DIR, default ./packs)",
    )
    sub.add_argument(
        "--database",
        default=os.environ.get("ATTUNE_SYNC_DATABASE_URL", database_default),
        metavar="URL",
        help=f"SQLAlchemy URL (env ATTUNE_SYNC_DATABASE_URL, default {DEFAULT_DATABASE_URL})",
    )
    sub.add_argument("--output", choices=("text", "json"), default="text")
    sub.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default=os.environ.get("ATTUNE_SYNC_LOG_FORMAT", "auto"),
    )
    sub.add_argument("--log-level", default=os.environ.get("ATTUNE_SYNC_LOG_LEVEL", "info"))


def add_guard_options(sub: argparse.ArgumentParser) -> None:
    """The deletion guard, for every command that plans."""
    sub.add_argument(
        "--allow-mass-delete",
        action="store_true",
        default=env_flag("ATTUNE_SYNC_ALLOW_MASS_DELETE"),
        help="allow deleting all managed packs, or more than --max-delete-share of them",
    )
    sub.add_argument(
        "--max-delete-share",
        type=float,
        default=env_default("ATTUNE_SYNC_MAX_DELETE_SHARE", DEFAULT_MAX_DELETE_SHARE),
        metavar="SHARE",
        help="largest share (0-1) of managed packs one run may delete (default 0.5)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="attune-sync",
        description="Keep the Attune database equal to a folder of pack files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    validate = commands.add_parser("validate", help="check pack files; no database needed")
    add_common_options(validate, None)
    diff = commands.add_parser("diff", help="show what apply would change; changes nothing")
    add_common_options(diff, DEFAULT_DATABASE_URL)
    add_guard_options(diff)
    apply = commands.add_parser("apply", help="make the database equal to the packs folder")
    add_common_options(apply, DEFAULT_DATABASE_URL)
    add_guard_options(apply)
    add_watch_parser(commands, add_common_options, add_guard_options)
    add_status_parser(commands, add_common_options)
    # workflow (issue 9): --version, CI outputs, saved plans, completion.
    workflow_cli.register(parser, commands, {"validate": validate, "diff": diff, "apply": apply})
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_format, args.log_level)
    handler = {
        "validate": cmd_validate,
        "diff": cmd_diff,
        "apply": cmd_apply,
        "watch": cmd_watch,
        "status": cmd_status,
        "completion": workflow_cli.cmd_completion,
    }[args.command]
    return handler(args)


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _options(args: argparse.Namespace) -> PlanOptions:
    return PlanOptions(
        allow_mass_delete=args.allow_mass_delete, max_delete_share=args.max_delete_share
    )


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if args.output == "json":
        print(render.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        desired = read_tree(args.packs_dir)
        if args.database:
            engine = make_engine(args.database)
            upgrade(engine)
            with engine.connect() as conn:
                actual = load_actual(conn)
        else:
            actual = offline_state(BUILTIN_RUNTIMES)
    except (TreeUnreadable, TreeChanged, DatabaseError) as error:
        return _fail(args, str(error), EXIT_TROUBLE)
    valid, invalid = settle_references(desired, actual)
    problems = [p for pack in invalid for p in pack.problems] + desired.warnings
    if args.output in workflow_cli.VALIDATE_OUTPUTS:  # github, junit
        folders = {ref: bundle.folder for ref, bundle in valid.items()}
        workflow_cli.print_validation(
            args.output, args.packs_dir, folders, invalid, desired.warnings
        )
    elif args.output == "json":
        print(render.dumps(render.problems_json(problems, packs=sorted(valid))))
    else:
        for problem in problems:
            print(render.render_problem(problem, _colour()))
        errors = sum(1 for p in problems if p.severity == "error")
        print(
            f"{len(valid)} valid pack{'s' if len(valid) != 1 else ''}, "
            f"{len(invalid)} invalid, {errors} error{'s' if errors != 1 else ''}, "
            f"{len(problems) - errors} warning{'s' if len(problems) - errors != 1 else ''}."
        )
    return EXIT_OK if not invalid else EXIT_DIFF_PENDING


def cmd_diff(args: argparse.Namespace) -> int:
    try:
        engine = make_engine(args.database)
        upgrade(engine)
        if args.out:  # workflow: a saved plan (saved_plan.py)
            plan = workflow_cli.diff_saving(engine, args.packs_dir, args.out, _options(args))
        else:
            plan = dry_run(engine, args.packs_dir, _options(args))
    except (TreeUnreadable, TreeChanged, DatabaseError) as error:
        return _fail(args, f"{error}; nothing was compared", EXIT_TROUBLE)
    except workflow_cli.PlanFileError as error:
        return _fail(args, str(error), EXIT_TROUBLE)
    if args.output in workflow_cli.DIFF_OUTPUTS:  # markdown
        workflow_cli.print_plan(plan)
    elif args.output == "json":
        print(render.dumps(render.plan_json(plan)))
    else:
        print(render.render_plan(plan, _colour()))
    if plan.invalid:
        return EXIT_TROUBLE
    return EXIT_DIFF_PENDING if plan.changes or plan.held_back else EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    if args.plan:  # workflow: apply a saved plan (saved_plan.py)
        return workflow_cli.apply_saved_plan(
            args.plan, args.packs_dir, args.database, args.output, _colour()
        )
    try:
        engine = make_engine(args.database)
        upgrade(engine)
    except DatabaseError as error:
        return _fail(args, f"{error}; nothing was applied", EXIT_FAILED)
    try:
        outcome = sync(engine, args.packs_dir, _options(args))
    except (TreeUnreadable, TreeChanged) as error:
        return _fail(args, f"{error}; nothing was applied", EXIT_FAILED)
    except Exception as error:  # recorded in the run history by the reconciler
        log.exception("apply failed; everything was rolled back")
        return _fail(args, f"apply failed and was rolled back: {error}", EXIT_FAILED)
    plan = outcome.plan
    if args.output == "json":
        print(
            render.dumps(
                render.plan_json(
                    plan,
                    applied=True,
                    run_id=outcome.run_id,
                    revision=outcome.revision,
                    result=outcome.result,
                )
            )
        )
    else:
        print(render.render_plan(plan, _colour()))
        print(
            f"Apply complete: {plan.count('create')} added, {plan.count('update')} changed, "
            f"{plan.count('delete')} destroyed in {outcome.seconds:.2f}s"
            f" (database {mask_url(args.database)})."
        )
    if plan.invalid:
        return EXIT_INVALID
    if plan.held_back:
        return EXIT_HELD_BACK
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
