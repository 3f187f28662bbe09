"""A narrowed `diff` against a real database: read and compare only what a change can touch.

Whenever it answers, its plan must be the full plan (changes, holds, invalid packs with every
problem, warnings and notes); what it does not model, it must leave to the full plan (None).
The property test `tests/cli/test_read_cache_property.py` holds it to the same on random
scenarios.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, Table, insert, select, update

from attune_sync.db import schema as t
from attune_sync.db.narrow import load_narrowed, users_of
from attune_sync.db.reading import open_for_reading
from attune_sync.db.state import load_actual
from attune_sync.model import Plan
from attune_sync.narrow import narrowed_plan
from attune_sync.planner import PlanOptions, make_plan
from attune_sync.reader import DocumentCache, read_tree
from attune_sync.shortcut import settled_look
from attune_sync.sync import apply, plan_read_only


def narrowed(
    engine: Engine, root: Path, options: PlanOptions | None = None
) -> tuple[Plan | None, DocumentCache]:
    """What `diff` plans when it may narrow, and the cache it read into."""
    options = options or PlanOptions()
    database = open_for_reading(engine.url.render_as_string(hide_password=False))
    cache = DocumentCache()
    try:
        mark, light = settled_look(database, str(root), options)
        assert mark is not None, "the database is not settled"
        assert light is not None
        assert light.key != mark.tree, "nothing changed: the settled shortcut answers"
        return narrowed_plan(database, str(root), options, mark, light, cache), cache
    finally:
        database.dispose()


def full(engine: Engine, root: Path, options: PlanOptions | None = None) -> Plan:
    with engine.connect() as conn:
        return make_plan(read_tree(root), load_actual(conn), options or PlanOptions())


def same_or_none(engine: Engine, root: Path, options: PlanOptions | None = None) -> Plan | None:
    """The narrowed plan, checked: None, or the full plan in every reported part."""
    plan, _cache = narrowed(engine, root, options)
    if plan is not None:
        assert reported(plan) == reported(full(engine, root, options))
    return plan


def reported(plan: Plan) -> object:
    return (
        plan.changes,
        plan.held_back,
        [(p.folder, p.ref, p.problems) for p in plan.invalid],
        plan.warnings,
        plan.notes,
        plan.bookkeeping,
    )


def folders_read(cache: DocumentCache) -> set[str]:
    return {relpath.split("/", 1)[0] for relpath in cache.entries}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def write_ops(root: Path, more: str = "", **rules: str) -> None:
    """A pack folder `ops` (its pack.yaml ending in `more`) holding these rules (file stem
    -> YAML)."""
    ops = root / "ops"
    (ops / "rules").mkdir(parents=True)
    (ops / "pack.yaml").write_text("ref: ops\nlabel: Ops\ndescription: d\n" + more)
    for stem, text in rules.items():
        (ops / f"rules/{stem}.yaml").write_text(text)


def insert_theirs(engine: Engine, table: Table, **values: object) -> None:
    """A pack made outside attune-sync (`theirs`, as through the API) holding one
    component of `table`, run by the built-in `shell` runtime."""
    with engine.begin() as conn:
        conn.execute(insert(t.pack).values(ref="theirs", label="Theirs", description="api"))
        pack = conn.execute(select(t.pack.c.id).where(t.pack.c.ref == "theirs")).scalar_one()
        runtime = conn.execute(select(t.runtime.c.id).where(t.runtime.c.ref == "shell"))
        if "trigger_ref" in values:
            found = select(t.trigger.c.id).where(t.trigger.c.ref == values["trigger_ref"])
            values["trigger"] = conn.execute(found).scalar_one()
        conn.execute(
            insert(table).values(
                pack=pack,
                pack_ref="theirs",
                description="made through the API",
                runtime=runtime.scalar_one(),
                runtime_ref="shell",
                **values,
            )
        )


def test_one_changed_pack_is_read_and_compared_alone(engine: Engine, bundled: Path) -> None:
    assert apply(engine, str(bundled)).in_sync
    edit(bundled / "github/sensors/github_webhook.yaml", "label: ", "label: Edited ")
    plan, cache = narrowed(engine, bundled)
    assert plan is not None
    assert reported(plan) == reported(full(engine, bundled))
    assert [(c.action, c.kind, c.ref) for c in plan.changes] == [
        ("update", "sensor", "github.github_webhook")
    ]
    assert folders_read(cache) == {"github"}
    assert cache.parsed == 1


def test_the_packs_using_a_changed_one_are_read_with_it(engine: Engine, bundled: Path) -> None:
    """monitoring's sensors fire system's triggers: a change to system may break them."""
    assert apply(engine, str(bundled)).in_sync
    edit(bundled / "system/triggers/cpu_alert.yaml", "label: CPU Alert", "label: CPU alarm")
    plan, cache = narrowed(engine, bundled)
    assert plan is not None
    assert reported(plan) == reported(full(engine, bundled))
    assert folders_read(cache) == {"system", "monitoring"}
    assert cache.parsed == 1


def test_a_user_a_change_breaks_is_invalid_as_in_the_full_plan(
    engine: Engine, bundled: Path
) -> None:
    """A rule in another pack whose parameters the changed action's schema now refuses."""
    write_ops(
        bundled,
        "version: '1.0.0'\n",
        start="ref: ops.start\nlabel: Start\ntrigger_ref: aws.ec2.instance_state_change\n"
        "action_ref: aws.ec2.start_instance\naction_params:\n  instance_id: i-123\n",
    )
    assert apply(engine, str(bundled)).in_sync
    action = bundled / "aws.ec2/actions/start_instance.yaml"
    text = action.read_text()
    assert "instance_id:" in text
    action.write_text(text.replace("type: string", "type: integer", 1))
    plan, cache = narrowed(engine, bundled)
    assert plan is not None
    reference = full(engine, bundled)
    assert [pack.ref for pack in reference.invalid] == ["ops"]
    assert reported(plan) == reported(reference)
    assert {"aws.ec2", "ops"} <= folders_read(cache)


def test_a_pack_made_outside_attune_sync_that_uses_a_changed_one_stays_as_it_is(
    engine: Engine, bundled: Path
) -> None:
    """A sensor made through the API fires a trigger a folder declares: no folder to read."""
    assert apply(engine, str(bundled)).in_sync
    insert_theirs(
        engine,
        t.sensor,
        ref="theirs.watch",
        label="Watch",
        entrypoint="watch.py",
        trigger_ref="system.cpu_alert",
    )
    assert apply(engine, str(bundled)).in_sync  # settled again, their pack left alone
    edit(bundled / "system/triggers/cpu_alert.yaml", "label: CPU Alert", "label: CPU alarm")
    plan, cache = narrowed(engine, bundled)
    assert plan is not None
    assert reported(plan) == reported(full(engine, bundled))
    assert folders_read(cache) == {"system", "monitoring"}


def test_warnings_and_notes_of_unchanged_packs_are_reported_again(
    engine: Engine, bundled: Path
) -> None:
    (bundled / "core/notes.yaml").write_text("a: stray file, warned about\n")
    (bundled / "core/tests").mkdir()
    assert apply(engine, str(bundled)).in_sync
    edit(bundled / "github/sensors/github_webhook.yaml", "label: ", "label: Edited ")
    plan, cache = narrowed(engine, bundled)
    assert plan is not None
    reference = full(engine, bundled)
    assert reference.warnings
    assert reference.notes
    assert reported(plan) == reported(reference)
    assert folders_read(cache) == {"github", "core"}


def test_what_it_does_not_model_is_left_to_the_full_plan(
    engine: Engine, bundled: Path, tmp_path: Path
) -> None:
    away = tmp_path / "away"
    away.mkdir()
    pristine = {path: path.read_bytes() for path in bundled.rglob("*") if path.is_file()}
    changes = {
        # A pack folder gone: a delete, weighed by the guards against the whole database.
        "folder gone": lambda: (bundled / "logs").rename(away / "logs"),
        # A trigger another pack's sensor fires: its delete is held back, the user invalid.
        "used trigger gone": lambda: (bundled / "system/triggers/cpu_alert.yaml").unlink(),
        # A runtime: every pack resolves against them.
        "runtime added": lambda: _add_runtime(bundled / "github"),
        # A pack ref another folder already has.
        "ref taken": lambda: edit(bundled / "logs/pack.yaml", "ref: logs", "ref: github"),
    }
    for why, change in changes.items():
        assert apply(engine, str(bundled)).in_sync, why
        change()
        plan, _cache = narrowed(engine, bundled)
        assert plan is None, why
        # The command itself still plans in full, and right.
        database = open_for_reading(engine.url.render_as_string(hide_password=False))
        try:
            planned = plan_read_only(database, str(bundled))
        finally:
            database.dispose()
        assert reported(planned) == reported(full(engine, bundled)), why
        assert planned.changes or planned.held_back or planned.invalid, why
        _restore(bundled, away, pristine)


def _restore(root: Path, away: Path, pristine: dict[Path, bytes]) -> None:
    for moved in away.iterdir():
        moved.rename(root / moved.name)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in pristine:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for path, data in pristine.items():
        path.write_bytes(data)


def _add_runtime(pack: Path) -> None:
    (pack / "runtimes").mkdir()
    (pack / "runtimes/rt.yaml").write_text("ref: github.rt\nname: Custom\n")


def test_a_mark_that_does_not_say_per_folder_is_not_narrowed(engine: Engine, bundled: Path) -> None:
    assert apply(engine, str(bundled)).in_sync
    with engine.begin() as conn:
        report = conn.execute(select(t.sync_settled.c.report)).scalar_one()
        report.pop("folders")
        conn.execute(update(t.sync_settled).values(report=report))
    edit(bundled / "github/sensors/github_webhook.yaml", "label: ", "label: Edited ")
    plan, _cache = narrowed(engine, bundled)
    assert plan is None


def test_the_narrowed_load_is_the_full_load_for_the_packs_it_compares(
    engine: Engine, bundled: Path
) -> None:
    assert apply(engine, str(bundled)).in_sync
    with engine.connect() as conn:
        whole = load_actual(conn)
        assert users_of(conn, {"system"}) == {"monitoring"}
        assert users_of(conn, {"github"}) == set()
        part = load_narrowed(
            conn, {"monitoring"}, {"trigger": {"github.push_event"}}, {"action": {"aws.ec2.x"}}
        )
    assert part.outline == frozenset(whole.managed) - {"monitoring"}
    for kind in ("trigger", "sensor", "action", "rule"):
        rows, full_rows = part.objects(kind), whole.objects(kind)  # type: ignore[arg-type]
        assert rows.keys() == full_rows.keys(), kind
        for ref, row in rows.items():
            owner = full_rows[ref].values["pack_ref"]
            if owner == "monitoring" or ref == "github.push_event":
                assert row == full_rows[ref], ref
            else:
                assert row.values == {"pack_ref": owner} or kind in ("trigger", "action"), ref
                assert row.values["pack_ref"] == owner
    assert part.managed.keys() == whole.managed.keys()
    assert part.managed["monitoring"].sources == whole.managed["monitoring"].sources
    assert part.managed["github"].sources is None
    assert (part.runtimes, part.runtime_rows) == (whole.runtimes, whole.runtime_rows)


# --------------------------------------------------------------------------- adversarial cases


def test_a_component_also_declared_by_an_unchanged_pack_clashes_as_in_the_full_plan(
    engine: Engine, bundled: Path
) -> None:
    """monitoring may declare `monitoring.healthcheck.*` refs: a copy of a trigger that the
    unchanged monitoring.healthcheck/ folder still declares is a clash in both folders."""
    assert apply(engine, str(bundled)).in_sync
    (bundled / "monitoring/triggers").mkdir()
    (bundled / "monitoring/triggers/copy.yaml").write_text(
        "ref: monitoring.healthcheck.endpoint_down\nlabel: Copy\ndescription: d\n"
    )
    reference = full(engine, bundled)
    assert {pack.ref for pack in reference.invalid} == {"monitoring", "monitoring.healthcheck"}
    same_or_none(engine, bundled)


def _their_pack_with_an_action(engine: Engine) -> None:
    """A pack made outside attune-sync holding an action with a parameter schema."""
    insert_theirs(
        engine,
        t.action,
        ref="theirs.act",
        label="Act",
        entrypoint="act.sh",
        param_schema={"count": {"type": "string"}},
    )


def test_adopting_a_pack_whose_action_a_managed_rule_runs(engine: Engine, bundled: Path) -> None:
    """With --adopt, a new folder takes over a pack made outside attune-sync; an unchanged
    managed rule runs its action, whose schema the folder now makes refuse the rule."""
    adopt = PlanOptions(adopt=True)
    _their_pack_with_an_action(engine)
    write_ops(
        bundled,
        go="ref: ops.go\nlabel: Go\ntrigger_ref: core.timer\naction_ref: theirs.act\n"
        "action_params:\n  count: five\n",
    )
    assert apply(engine, str(bundled), adopt).in_sync
    theirs = bundled / "theirs"
    (theirs / "actions").mkdir(parents=True)
    (theirs / "pack.yaml").write_text("ref: theirs\nlabel: Theirs\ndescription: api\n")
    (theirs / "actions/act.yaml").write_text(
        "ref: theirs.act\nlabel: Act\ndescription: made through the API\nrunner_type: shell\n"
        "entry_point: act.sh\nparameters:\n  count:\n    type: integer\n"
    )
    reference = full(engine, bundled, adopt)
    assert [pack.ref for pack in reference.invalid] == ["ops"]
    same_or_none(engine, bundled, adopt)


def test_a_schema_number_jsonb_gives_back_otherwise_is_not_read_from_the_database(
    engine: Engine, bundled: Path
) -> None:
    """PostgreSQL's jsonb gives the float 1e23 back as the integer 10**23: a rule checked
    against a schema of a pack in outline would pass where the file's schema refuses it."""
    edit(
        bundled / "aws.ec2/actions/stop_instance.yaml",
        "parameters:\n",
        "parameters:\n  n:\n    type: integer\n    maximum: 1.0e+23\n",
    )
    assert apply(engine, str(bundled)).in_sync
    write_ops(
        bundled,
        stop="ref: ops.stop\nlabel: Stop\ntrigger_ref: core.timer\n"
        "action_ref: aws.ec2.stop_instance\n"
        "action_params:\n  instance_id: i-1\n  n: 100000000000000000000000\n",
    )
    assert [pack.ref for pack in full(engine, bundled).invalid] == ["ops"]
    same_or_none(engine, bundled)


def test_runtimes_sharing_an_alias_resolve_as_in_the_full_plan(
    engine: Engine, bundled: Path
) -> None:
    """Two runtimes with one alias: the first known takes it. The full read knows them in
    folder order (rt0's); made known from rows of packs in outline, they came in set order.
    (Before the fix this failed for most hash seeds, hence eight packs.)"""
    for index in range(8):
        pack = bundled / f"rt{index}"
        (pack / "runtimes").mkdir(parents=True)
        (pack / "pack.yaml").write_text(f"ref: rt{index}\nlabel: R\ndescription: d\n")
        (pack / "runtimes/a.yaml").write_text(
            f"ref: rt{index}.a\nname: A{index}\naliases: [shared]\n"
        )
    assert apply(engine, str(bundled)).in_sync
    edit(bundled / "github/sensors/github_webhook.yaml", "python3", "shared")
    changes = full(engine, bundled).changes
    assert [change.values for change in changes] == [{"runtime_ref": "rt0.a"}]
    same_or_none(engine, bundled)


def answered(engine: Engine, root: Path, options: PlanOptions | None = None) -> Plan:
    """The narrowed plan, which must answer, and be the full plan."""
    plan = same_or_none(engine, root, options)
    assert plan is not None
    return plan


def test_a_used_folder_that_turns_invalid_keeps_its_rows_as_in_the_full_plan(
    engine: Engine, bundled: Path
) -> None:
    assert apply(engine, str(bundled)).in_sync
    (bundled / "system/triggers/cpu_alert.yaml").write_text("ref: [\n")
    assert [pack.ref for pack in answered(engine, bundled).invalid] == ["system"]


def test_a_trigger_schema_that_now_refuses_a_rule_of_another_pack(
    engine: Engine, bundled: Path
) -> None:
    """The rule watches the trigger (not a sensor): its pack is read as a user too."""
    write_ops(
        bundled,
        hot="ref: ops.hot\nlabel: Hot\ntrigger_ref: system.cpu_alert\ntrigger_params:\n"
        "  min_percent: 50\naction_ref: aws.ec2.stop_instance\naction_params:\n"
        "  instance_id: i-1\n",
    )
    assert apply(engine, str(bundled)).in_sync
    edit(
        bundled / "system/triggers/cpu_alert.yaml",
        "    min_percent:\n      type: number",
        "    min_percent:\n      type: string",
    )
    assert [pack.ref for pack in answered(engine, bundled).invalid] == ["ops"]


def test_a_new_folder_whose_hints_name_what_packs_in_outline_hold(
    engine: Engine, bundled: Path
) -> None:
    """ "Did you mean" for a trigger, an action and a dependency; parameters checked against
    the schemas of packs in outline."""
    assert apply(engine, str(bundled)).in_sync
    write_ops(
        bundled,
        "dependencies: [aws.ec2, monitorng]\n",
        a="ref: a\nlabel: A\ntrigger_ref: github.push_evnt\naction_ref: aws.ec2.stop_instanc\n",
        b="ref: b\nlabel: B\ntrigger_ref: core.webhook\ntrigger_params:\n  method: PATCH\n"
        "action_ref: monitoring.healthcheck.send_alert\naction_params:\n  url: 5\n",
    )
    plan = answered(engine, bundled)
    hints = [problem.hint for pack in plan.invalid for problem in pack.problems]
    assert "did you mean `github.push_event`?" in hints
    assert any("monitoring" in str(problem.hint) for problem in plan.warnings)


def test_a_runner_naming_a_runtime_of_a_pack_in_outline_by_alias_and_name(
    engine: Engine, bundled: Path
) -> None:
    runtimes = bundled / "rtp"
    (runtimes / "runtimes").mkdir(parents=True)
    (runtimes / "pack.yaml").write_text("ref: rtp\nlabel: R\ndescription: d\n")
    (runtimes / "runtimes/custom.yaml").write_text(
        "ref: rtp.custom\nname: Custom\naliases: [CUSTOM]\n"
    )
    assert apply(engine, str(bundled)).in_sync
    edit(
        bundled / "github/sensors/github_webhook.yaml",
        "runner_type: python3",
        "runner_type: custom",
    )
    edit(bundled / "github/pack.yaml", "  - python3", "  - python3\n  - Custom>=1")
    edit(bundled / "aws.ec2/actions/stop_instance.yaml", "runner_type: shell", "runner_type: CUSTM")
    plan = answered(engine, bundled)
    assert plan.warnings  # the action's unknown runtime, with the runtimes it knows


def test_adopting_a_pack_nothing_managed_uses_is_narrowed(engine: Engine, bundled: Path) -> None:
    adopt = PlanOptions(adopt=True)
    _their_pack_with_an_action(engine)
    assert apply(engine, str(bundled), adopt).in_sync
    theirs = bundled / "theirs"
    (theirs / "actions").mkdir(parents=True)
    (theirs / "pack.yaml").write_text("ref: theirs\nlabel: Theirs\ndescription: api\n")
    (theirs / "actions/act.yaml").write_text(
        "ref: theirs.act\nlabel: Act\ndescription: made through the API\nrunner_type: shell\n"
        "entry_point: act.sh\nparameters:\n  count:\n    type: integer\n"
    )
    plan = answered(engine, bundled, adopt)
    first = plan.changes[0]
    assert (first.action, first.kind, first.ref, first.adopt) == ("update", "pack", "theirs", True)


def test_a_file_linked_from_another_pack_folder_changes_both(engine: Engine, bundled: Path) -> None:
    (bundled / "github/triggers/manual.yaml").symlink_to("../../core/triggers/manual.yaml")
    assert apply(engine, str(bundled)).in_sync
    edit(bundled / "core/triggers/manual.yaml", "label: Manual Trigger", "label: Manual")
    plan = answered(engine, bundled)
    assert [change.ref for change in plan.changes] == ["core.manual", "github.manual"]
