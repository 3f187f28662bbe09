"""Settle the desired state once, before planning: which packs can be applied as they are.

A pack is held as invalid when it references something that will not exist after the run
(a trigger, an action, a runtime), claims a component that belongs to a pack the sync must
leave alone, or gives a rule parameters its trigger's or action's schema refuses. Making one
pack invalid can strand a reference in another, so this runs to a fixpoint. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing
import referencing.exceptions

from .documents import locate_problem
from .flatschema import as_json_schema
from .guards import adoption_problems
from .model import (
    COMPONENT_KINDS,
    ActualState,
    DesiredState,
    InvalidPack,
    PackBundle,
    Problem,
)
from .runtimes import RuntimeIndex, split_constraint


@dataclass(slots=True)
class Settled:
    valid: dict[str, PackBundle]
    invalid: list[InvalidPack]
    kept: set[str]
    """Pack refs the run leaves exactly as the database has them."""
    runtimes: RuntimeIndex
    warnings: list[Problem] = field(default_factory=list)
    # What it was settled with: `planner.make_plan` takes a Settled only when these are what
    # its own guards and options would settle with.
    held: frozenset[str] = frozenset()
    """The packs a guard held back before settling: they stay, and so do their components."""
    adopt: bool = False
    """Whether a folder may take over a pack made outside attune-sync."""
    database: bool = True
    """Whether `actual` came from a database (problems then say "or the database")."""


def settle(
    desired: DesiredState,
    actual: ActualState,
    *,
    database: bool = True,
    held: Collection[str] = (),
    adopt: bool = False,
) -> Settled:
    """Settle `desired` against `actual`; `database` says whether `actual` came from one.

    `held`: packs whose delete a guard held back; they stay, so their components remain
    usable. Unless `adopt`, a folder declaring the ref of a pack made outside attune-sync is
    invalid (`guards.adoption_problems`).
    """
    valid = dict(desired.packs)
    invalid = list(desired.invalid)
    dropped: dict[str, list[Problem]] = {}
    """Warnings of packs made invalid here: still reported."""
    while True:
        kept = kept_pack_refs(invalid, actual) | set(held)
        world = _World.of(valid, kept, actual)
        world.database = database
        failed: list[InvalidPack] = []
        warnings: list[Problem] = []
        for ref in sorted(valid):
            problems = adoption_problems(valid[ref], actual, adopt)
            problems += _reference_problems(valid[ref], valid, kept, world, actual)
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                failed.append(InvalidPack(valid[ref].folder, ref, tuple(errors)))
                dropped[ref] = [p for p in problems if p.severity == "warning"]
            else:
                warnings.extend(p for p in problems if p.severity == "warning")
        if not failed:
            invalid = [
                _with_reference_problems(pack, valid, kept, world, actual, warnings)
                for pack in invalid
            ]
            invalid = [_located(desired.root, pack) for pack in invalid]
            warnings += [problem for found in dropped.values() for problem in found]
            invalid.sort(key=lambda pack: pack.folder)
            warnings = [locate_problem(desired.root, problem) for problem in warnings]
            return Settled(
                valid, invalid, kept, world.runtimes, warnings, frozenset(held), adopt, database
            )
        for pack in failed:
            del valid[pack.ref or ""]
            invalid.append(pack)


def settle_references(
    desired: DesiredState, actual: ActualState
) -> tuple[dict[str, PackBundle], list[InvalidPack]]:
    settled = settle(desired, actual)
    return settled.valid, settled.invalid


def _by_place(problem: Problem) -> tuple[str, int, int]:
    return (problem.path, problem.line or 0, problem.column or 0)


def _with_reference_problems(
    pack: InvalidPack,
    valid: dict[str, PackBundle],
    kept: set[str],
    world: _World,
    actual: ActualState,
    warnings: list[Problem],
) -> InvalidPack:
    """A pack invalid for its fields also hears about its references, in the same run."""
    if pack.partial is None:
        return pack
    found = _reference_problems(pack.partial, valid, kept, world.with_bundle(pack.partial), actual)
    warnings.extend(problem for problem in found if problem.severity == "warning")
    errors = [problem for problem in found if problem.severity == "error"]
    extra = tuple(problem for problem in errors if problem not in pack.problems)
    return InvalidPack(pack.folder, pack.ref, pack.problems + extra, pack.partial)


def _located(root: str, pack: InvalidPack) -> InvalidPack:
    problems = sorted((locate_problem(root, problem) for problem in pack.problems), key=_by_place)
    return InvalidPack(pack.folder, pack.ref, tuple(problems), pack.partial)


def kept_pack_refs(invalid: Iterable[InvalidPack], actual: ActualState) -> set[str]:
    """Packs in the database that this run leaves exactly as they are."""
    kept = {pack.ref for pack in invalid if pack.ref is not None}
    kept |= {ref for ref in actual.packs if ref not in actual.managed}
    # The pack last synced from a folder that is now invalid stays too, whatever ref the
    # broken file declares: a broken pack never causes a deletion.
    broken = {pack.folder for pack in invalid}
    kept |= {ref for ref, info in actual.managed.items() if info.folder in broken}
    return kept


@dataclass(slots=True)
class _World:
    """What will exist after the run: component ref -> owning pack ref, and the runtimes."""

    owners: dict[str, dict[str, str | None]]
    params: dict[str, dict[str, Any]]
    """Kind -> ref -> parameter schema, for triggers and actions."""
    runtimes: RuntimeIndex
    database: bool = True

    @classmethod
    def of(cls, valid: dict[str, PackBundle], kept: set[str], actual: ActualState) -> _World:
        owners: dict[str, dict[str, str | None]] = {kind: {} for kind in COMPONENT_KINDS}
        params: dict[str, dict[str, Any]] = {"trigger": {}, "action": {}}
        index = RuntimeIndex()
        # A pack held in outline stands as its files say: its rows are what it brings.
        standing = kept | actual.outline
        for ref in actual.runtimes.keys() | actual.runtime_rows.keys():
            row = actual.runtime_rows.get(ref)
            owner = row.values.get("pack_ref") if row is not None else None
            if owner is None or owner in standing:
                index.add(ref, row.values.get("name") if row else None, _aliases(row))
        for kind in COMPONENT_KINDS:
            for ref, row in actual.objects(kind).items():
                owner = row.values.get("pack_ref")
                if owner is None or owner in standing:
                    owners[kind][ref] = owner
                    if kind in params:
                        params[kind][ref] = row.values.get("param_schema")
        world = cls(owners, params, index)
        for bundle in valid.values():
            world._add(bundle)
        return world

    def with_bundle(self, bundle: PackBundle) -> _World:
        """This world plus `bundle`'s own components, to check a pack that is not applied."""
        owners = {kind: dict(refs) for kind, refs in self.owners.items()}
        params = {kind: dict(refs) for kind, refs in self.params.items()}
        index = RuntimeIndex(set(self.runtimes.refs), dict(self.runtimes.aliases))
        index.names.update(self.runtimes.names)
        world = _World(owners, params, index, self.database)
        world._add(bundle)
        return world

    def _add(self, bundle: PackBundle) -> None:
        """`bundle`'s components and runtimes exist after the run, owned by its pack."""
        for kind in COMPONENT_KINDS:
            for ref, spec in bundle.components(kind).items():
                self.owners[kind][ref] = bundle.pack.ref
                if kind in self.params:
                    self.params[kind][ref] = spec.param_schema
        for ref, runtime in bundle.runtimes.items():
            self.runtimes.add(ref, runtime.name, runtime.aliases)


def _aliases(row: Any) -> tuple[str, ...]:
    found = row.values.get("aliases") if row is not None else None
    return tuple(found) if isinstance(found, list) else ()


def _reference_problems(
    bundle: PackBundle,
    valid: dict[str, PackBundle],
    kept: set[str],
    world: _World,
    actual: ActualState,
) -> list[Problem]:
    problems: list[Problem] = []
    pack_file = f"{bundle.folder}/pack.yaml"
    runtimes = world.runtimes
    for index, entry in enumerate(bundle.pack.runtime_deps):
        name = split_constraint(entry)[0]
        if runtimes.resolve(name) is None:
            problems.append(_unknown_runtime(pack_file, name, f"runtime_deps[{index}]", runtimes))
    for index, entry in enumerate(bundle.pack.dependencies):
        name = entry.split("@", 1)[0].strip()
        if name not in valid and name not in actual.packs and name not in kept:
            problems.append(
                Problem(
                    pack_file,
                    f"depends on pack {name!r}, which is not in the packs folder"
                    + (" or the database" if world.database else ""),
                    field=f"dependencies[{index}]",
                    hint=_did_you_mean(name, set(valid) | set(actual.packs))
                    or "add that pack, or remove the dependency",
                    severity="warning",
                )
            )
    for sensor in bundle.sensors.values():
        if runtimes.resolve(sensor.runtime_ref) is None:
            problems.append(
                _unknown_runtime(sensor.source, sensor.runtime_ref, "runner_type", runtimes)
            )
        for index, ref in enumerate(sensor.trigger_refs):
            problems.extend(
                _missing(sensor.source, "trigger", ref, f"trigger_types[{index}]", world, actual)
            )
    for action in bundle.actions.values():
        if action.runtime_ref is not None and runtimes.resolve(action.runtime_ref) is None:
            problem = _unknown_runtime(action.source, action.runtime_ref, "runner_type", runtimes)
            problems.append(
                Problem(
                    problem.path,
                    problem.message + "; the action is stored without a runtime, as Attune does",
                    field=problem.field,
                    hint=problem.hint,
                    severity="warning",
                )
            )
    for rule in bundle.rules.values():
        for kind, ref, params in (
            ("trigger", rule.trigger_ref, "trigger_params"),
            ("action", rule.action_ref, "action_params"),
        ):
            missing = _missing(rule.source, kind, ref, f"{kind}_ref", world, actual)
            problems.extend(missing)
            if not missing:
                schema = world.params[kind].get(ref)
                problems.extend(_param_problems(rule.source, params, getattr(rule, params), schema))
    problems.extend(_ownership_problems(bundle, valid, kept, actual))
    return problems


def _unknown_runtime(path: str, name: str, where: str, runtimes: RuntimeIndex) -> Problem:
    return Problem(
        path,
        f"unknown runtime {name!r}",
        field=where,
        hint=_did_you_mean(name, runtimes.refs)
        or f"known runtimes: {', '.join(sorted(runtimes.refs))}",
    )


def _did_you_mean(name: str, known: Collection[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else None


def _missing(
    path: str, kind: str, ref: str, where: str, world: _World, actual: ActualState
) -> list[Problem]:
    if ref in world.owners[kind]:
        return []
    row = actual.objects(kind).get(ref)  # type: ignore[arg-type]
    if row is None:
        why = " in the packs folder" + (" or the database" if world.database else "")
    else:
        # Its delete is then held back, since what uses it stays (invalid): say so here too,
        # so this message and the plan's held-back line tell one story.
        why = (
            f" in the packs folder: pack {row.values.get('pack_ref')!r} no longer declares it "
            "(its delete is held back while it is used here)"
        )
    return [
        Problem(
            path,
            f"{kind} {ref!r} does not exist" + why,
            field=where,
            hint=_did_you_mean(ref, world.owners[kind])
            or f"define it in a pack's {kind}s/ folder, or fix the ref",
        )
    ]


def _param_problems(path: str, where: str, params: Any, schema: Any) -> list[Problem]:
    """Rule parameters against the schema; values holding `{{ }}` templates are accepted."""
    if not isinstance(params, dict) or not isinstance(schema, dict) or not schema:
        return []
    converted = as_json_schema(schema)
    try:
        validator = jsonschema.Draft202012Validator(converted, registry=_NO_REMOTE_REFS)
        errors = list(validator.iter_errors(params))
    except (
        jsonschema.SchemaError,
        jsonschema.exceptions.UnknownType,
        referencing.exceptions.Unresolvable,
        ValueError,
        TypeError,
    ):
        return []  # a broken schema is reported by its own file; never a crash here
    problems = []
    for error in errors:
        if _is_template(error.instance):
            continue
        steps = "".join(
            f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.absolute_path
        )
        problems.append(
            Problem(
                path,
                f"does not match the parameter schema: {error.message}",
                field=where + steps,
                hint="change the value, or use a {{ template }} filled in when the rule fires",
            )
        )
    return problems


_NO_REMOTE_REFS: referencing.Registry[Any] = referencing.Registry()
"""An empty registry: a schema's remote `$ref` is never fetched."""


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value and "}}" in value


def _ownership_problems(
    bundle: PackBundle, valid: dict[str, PackBundle], kept: set[str], actual: ActualState
) -> list[Problem]:
    problems = []
    for kind in COMPONENT_KINDS:
        existing = actual.objects(kind)
        for ref, spec in bundle.components(kind).items():
            row = existing.get(ref)
            if row is None:
                continue
            owner = row.values.get("pack_ref")
            # Taking over is fine from a pack this run applies or deletes, never from one
            # that stays as it is (unmanaged, or invalid).
            if owner == bundle.pack.ref or owner in valid:
                continue
            if owner in actual.managed and owner not in kept:
                continue
            if owner is None:
                whose = "no pack (it is system-wide)"
            elif owner in actual.managed:
                whose = f"pack {owner!r}, which is invalid and stays as it is"
            else:
                whose = f"pack {owner!r}, which attune-sync does not manage"
            problems.append(
                Problem(
                    spec.source,
                    f"{kind} {ref!r} already exists in the database and belongs to {whose}",
                    field="ref",
                    hint="choose another ref, or remove the existing one through the API",
                )
            )
    return problems
