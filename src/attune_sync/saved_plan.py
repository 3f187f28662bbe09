"""Saved plans: `diff --out PLAN` writes a plan, `apply --plan PLAN` applies exactly it.

Terraform's contract: a reviewed plan is applied as it was reviewed, or not at all. A plan
file holds the plan as `diff --output json` shows it (display values, secrets masked, so the
file is safe to attach to a pull request) and fingerprints of what it was made from:

* the tree: each valid pack's content digest (every byte of every file it was read from),
  each invalid folder's problems, and one digest over all of them;
* the database: its change counter (bumped by triggers on every write, by anyone) and a
  digest of every row the planner read.

`apply_saved` reads the tree again, then, in one transaction, reads the database, checks
both fingerprints, plans again and applies that plan only if it equals the saved one. The
values written come from the tree, whose digests equal the reviewed ones, so no secret ever
needs to be in the file. Anything that moved refuses the apply, naming what moved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from .db.apply import apply_plan
from .db.history import record_summary
from .db.locks import take_write_lock
from .db.reading import ReadOnlyDatabase
from .db.state import load_actual, read_db_version
from .model import ActualState, DesiredState, Plan
from .outcome import RunOutcome
from .parse_ahead import parsed_ahead
from .planner import PlanOptions, make_plan
from .reader import read_tree
from .render import plan_json
from .revision import detect_revision
from .runs import RunSummary

FORMAT = "attune-sync-plan/1"


class PlanFileError(Exception):
    """The plan file cannot be read or is not a plan attune-sync wrote."""


class StalePlan(Exception):
    """The tree or the database moved since the plan was made; nothing was applied."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            "the saved plan is stale, nothing was applied: "
            + "; ".join(reasons)
            + ". Run `attune-sync diff --out PLAN` again and review the new plan."
        )


@dataclass(frozen=True, slots=True)
class Fingerprint:
    packs: dict[str, str]
    """Valid pack ref to its content digest."""
    invalid: dict[str, str]
    """Invalid pack folder to a digest of its problems."""
    tree: str
    db_version: int | None
    """None when the database had no attune-sync tables yet."""
    rows: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: getattr(value, f.name)
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def rows_digest(actual: ActualState) -> str:
    """A digest of everything the planner read from the database, whatever kinds it holds."""
    return _digest(actual)


def fingerprint(desired: DesiredState, actual: ActualState, db_version: int | None) -> Fingerprint:
    packs = {ref: bundle.content_hash for ref, bundle in desired.packs.items()}
    invalid = {
        pack.folder: _digest([problem.as_json() for problem in pack.problems])
        for pack in desired.invalid
    }
    tree = _digest({"packs": packs, "invalid": invalid})
    return Fingerprint(packs, invalid, tree, db_version, rows_digest(actual))


def plan_document(plan: Plan) -> dict[str, Any]:
    """What a saved plan compares: the plan as JSON (as a file holds it), display values only."""
    document: dict[str, Any] = json.loads(json.dumps(plan_json(plan), default=_plain))
    # Notes change nothing an apply does: a folder like workflows/ added in between is no
    # reason to refuse the saved plan.
    document.pop("notes", None)
    return document


def make_saved_plan(
    database: ReadOnlyDatabase, root: str, options: PlanOptions | None = None
) -> tuple[Plan, dict[str, Any]]:
    """The plan a sync would apply now, and the plan file's content. Changes nothing.

    `database` is opened read-only (`db.reading.open_for_reading`), as `diff` opens it.
    """
    options = options or PlanOptions()
    desired = read_tree(root, parsed_ahead(root))
    version: int | None = None
    if database.engine is None:
        # No attune-sync tables yet: no counter; the rows digest (of an empty database)
        # alone tells the apply, which creates the tables, whether anything moved.
        actual = database.load_actual()
    else:
        with database.connect() as conn:
            version = read_db_version(conn)
            actual = load_actual(conn)
    plan = make_plan(desired, actual, options)
    document = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "packs_dir": root,
        "revision": detect_revision(desired.root),
        "options": {
            "allow_mass_delete": options.allow_mass_delete,
            "max_delete_share": options.max_delete_share,
        },
        "fingerprint": fingerprint(desired, actual, version).as_json(),
        "plan": plan_document(plan),
    }
    return plan, document


def write_plan_file(path: str, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a plan."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".plan-", dir=folder)
    except OSError as error:
        raise PlanFileError(f"cannot write the plan file {path}: {error.strerror}") from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_plan_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise PlanFileError(f"cannot read the plan file {path}: {error.strerror}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlanFileError(f"{path} is not a plan file (not JSON: {error})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlanFileError(
            f"{path} is not a plan file attune-sync can apply (expected format {FORMAT!r});"
            " write one with `attune-sync diff --out PLAN`"
        )
    for key in ("fingerprint", "plan", "options"):
        if not isinstance(document.get(key), dict):
            raise PlanFileError(f"{path}: '{key}' is missing or not an object")
    return document


def saved_options(document: dict[str, Any]) -> PlanOptions:
    """The deletion guard the plan was made with: the apply must not widen it."""
    options = document["options"]
    return PlanOptions(
        allow_mass_delete=bool(options.get("allow_mass_delete", False)),
        max_delete_share=float(options.get("max_delete_share", PlanOptions().max_delete_share)),
    )


def tree_moved(saved: dict[str, Any], now: Fingerprint) -> list[str]:
    """What changed in the packs folder since the plan, one phrase per pack."""
    reasons: list[str] = []
    before: dict[str, str] = saved.get("packs", {})
    for ref in sorted(set(before) | set(now.packs)):
        if ref not in now.packs:
            reasons.append(f"pack {ref} is no longer a valid pack in the tree")
        elif ref not in before:
            reasons.append(f"pack {ref} is new or newly valid in the tree")
        elif before[ref] != now.packs[ref]:
            reasons.append(f"the files of pack {ref} changed")
    invalid_before: dict[str, str] = saved.get("invalid", {})
    for folder in sorted(set(invalid_before) | set(now.invalid)):
        if invalid_before.get(folder) != now.invalid.get(folder):
            reasons.append(f"the problems of invalid folder {folder}/ changed")
    if not reasons and saved.get("tree") != now.tree:
        reasons.append("the packs folder changed")
    return reasons


def database_moved(saved: dict[str, Any], now: Fingerprint) -> list[str]:
    reasons = []
    if saved.get("db_version") is not None and saved.get("db_version") != now.db_version:
        reasons.append(
            f"the database was written since the plan (change counter "
            f"{saved.get('db_version')} → {now.db_version})"
        )
    if saved.get("rows") != now.rows:
        reasons.append("the rows the plan was made from differ")
    return reasons


def apply_saved(
    engine: Engine,
    root: str,
    document: dict[str, Any],
    revision: str | None = None,
    *,
    fresh: bool = False,
) -> RunOutcome:
    """Apply the saved plan in one transaction, or raise StalePlan and change nothing.

    `fresh`: the plan was made against a database without attune-sync's tables, which this
    apply just created; there is no earlier state to compare, only the plan itself.
    """
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    options = saved_options(document)
    desired = read_tree(root, parsed_ahead(root))
    if revision is None:
        revision = detect_revision(desired.root)
    with engine.begin() as conn:
        # The same write lock as every apply: then read, so the check sees what is committed.
        take_write_lock(conn)
        plan = _checked_plan(conn, desired, document, options, fresh)
        applied = apply_plan(conn, plan, now=started_at)
        summary = RunSummary.of_plan(plan)
        saved = {**summary.details, "saved_plan": document["fingerprint"].get("tree")}
        summary = dataclasses.replace(summary, details=saved)
        run_id = record_summary(conn, summary, started_at=started_at, revision=revision)
    seconds = time.perf_counter() - clock
    return RunOutcome(plan, applied, revision, run_id, started_at, seconds, summary)


def _checked_plan(
    conn: Connection,
    desired: DesiredState,
    document: dict[str, Any],
    options: PlanOptions,
    fresh: bool,
) -> Plan:
    version = read_db_version(conn)
    actual = load_actual(conn)
    now = fingerprint(desired, actual, version)
    saved = document["fingerprint"]
    reasons = tree_moved(saved, now) + ([] if fresh else database_moved(saved, now))
    if reasons:
        raise StalePlan(reasons)
    plan = make_plan(desired, actual, options)
    if plan_document(plan) != document["plan"]:
        # Same inputs, another plan: an edited plan file, or another attune-sync version.
        raise StalePlan(["the plan made now differs from the saved one (was the file edited?)"])
    return plan
