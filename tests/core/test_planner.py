"""The planner, pure: desired and actual states built by hand."""

from __future__ import annotations

from typing import Any

import pytest

from attune_sync.model import (
    ActualObject,
    ActualState,
    DesiredState,
    InvalidPack,
    ManagedInfo,
    PackBundle,
    PackSpec,
    Plan,
    Problem,
    SensorSpec,
    TriggerSpec,
)
from attune_sync.planner import PlanOptions, json_equal, make_plan, settle_for_plan
from attune_sync.render import render_plan
from attune_sync.secrets import SECRET_MASK, Secret, masked
from attune_sync.settle import settle

RUNTIMES = {"shell": 1, "python3": 2}
_ids = iter(range(1000, 100000))


def trigger(pack: str, name: str, label: str = "T", **kw: Any) -> TriggerSpec:
    return TriggerSpec(
        ref=f"{pack}.{name}",
        pack_ref=pack,
        label=label,
        source=f"{pack}/triggers/{name}.yaml",
        **kw,
    )


def sensor(pack: str, name: str, trigger_ref: str, label: str = "S") -> SensorSpec:
    return SensorSpec(
        ref=f"{pack}.{name}",
        pack_ref=pack,
        label=label,
        description="d",
        entrypoint="/s.py",
        runtime_ref="shell",
        trigger_refs=(trigger_ref,),
        source=f"{pack}/sensors/{name}.yaml",
    )


def bundle(
    ref: str,
    triggers: list[TriggerSpec] = (),  # type: ignore[assignment]
    sensors: list[SensorSpec] = (),  # type: ignore[assignment]
    folder: str | None = None,
    **pack: Any,
) -> PackBundle:
    spec = PackSpec(ref=ref, label=pack.pop("label", ref.title()), description="d", **pack)
    return PackBundle(
        pack=spec,
        folder=folder or ref,
        triggers={t.ref: t for t in triggers},
        sensors={s.ref: s for s in sensors},
        content_hash=f"hash-{ref}",
    )


def desired(*bundles: PackBundle, invalid: list[InvalidPack] = ()) -> DesiredState:  # type: ignore[assignment]
    return DesiredState(
        root="/packs", packs={b.pack.ref: b for b in bundles}, invalid=list(invalid)
    )


def actual_of(*bundles: PackBundle, unmanaged: tuple[str, ...] = ()) -> ActualState:
    """The database as an apply of `bundles` would leave it."""
    state = ActualState(runtimes=dict(RUNTIMES))
    for b in bundles:
        p = b.pack
        state.packs[p.ref] = ActualObject(
            next(_ids),
            p.ref,
            {
                "label": p.label,
                "description": p.description,
                "version": p.version,
                "conf_schema": p.conf_schema,
                "config": p.config,
                "meta": p.meta,
                "tags": list(p.tags),
                "runtime_deps": [RUNTIMES[r] for r in p.runtime_deps],
                "is_standard": p.is_standard,
            },
        )
        if p.ref not in unmanaged:
            state.managed[p.ref] = ManagedInfo(b.folder, b.content_hash, b.sources())
        for t in b.triggers.values():
            state.triggers[t.ref] = ActualObject(
                next(_ids),
                t.ref,
                {
                    "pack_ref": t.pack_ref,
                    "label": t.label,
                    "description": t.description,
                    "enabled": t.enabled,
                    "param_schema": t.param_schema,
                    "out_schema": t.out_schema,
                },
            )
        for s in b.sensors.values():
            state.sensors[s.ref] = ActualObject(
                next(_ids),
                s.ref,
                {
                    "pack_ref": s.pack_ref,
                    "label": s.label,
                    "description": s.description,
                    "entrypoint": s.entrypoint,
                    "runtime_ref": s.runtime_ref,
                    "trigger_refs": list(s.trigger_refs),
                    "enabled": s.enabled,
                    "param_schema": s.param_schema,
                    "config": s.config,
                },
            )
    return state


def summary(plan) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(c.action, c.kind, c.ref) for c in plan.changes]


A = bundle("a", [trigger("a", "t1"), trigger("a", "t2")], [sensor("a", "s1", "a.t1")])
B = bundle("b", [trigger("b", "t")])
C = bundle("c")
D = bundle("d")


def test_empty_database_creates_everything_in_order() -> None:
    plan = make_plan(desired(A, B), ActualState(runtimes=dict(RUNTIMES)))
    assert summary(plan) == [
        ("create", "pack", "a"),
        ("create", "pack", "b"),
        ("create", "trigger", "a.t1"),
        ("create", "trigger", "a.t2"),
        ("create", "trigger", "b.t"),
        ("create", "sensor", "a.s1"),
    ]
    create = plan.changes[0]
    assert create.folder == "a"
    assert create.content_hash == "hash-a"
    shown = {f.field: f.new for f in create.shown}
    assert shown == {"label": "A", "description": "d", "is_standard": False}
    assert all(f.old is None for f in create.shown)


def test_in_sync_is_an_empty_plan() -> None:
    plan = make_plan(desired(A, B), actual_of(A, B))
    assert plan.is_empty
    assert plan.held_back == []
    assert plan.invalid == []
    assert plan.bookkeeping == {}


def test_update_lists_only_changed_fields_old_to_new() -> None:
    changed = bundle(
        "a",
        [trigger("a", "t1", label="New"), trigger("a", "t2", enabled=False)],
        [sensor("a", "s1", "a.t2")],
    )
    plan = make_plan(desired(changed), actual_of(A))
    assert summary(plan) == [
        ("update", "trigger", "a.t1"),
        ("update", "trigger", "a.t2"),
        ("update", "sensor", "a.s1"),
    ]
    t1, t2, s1 = plan.changes
    assert [(f.field, f.old, f.new) for f in t1.fields] == [("label", "T", "New")]
    assert [(f.field, f.old, f.new) for f in t2.fields] == [("enabled", True, False)]
    assert [(f.field, f.old, f.new) for f in s1.fields] == [("trigger_refs", ["a.t1"], ["a.t2"])]
    assert t1.values == {"label": "New"}


def test_pack_update_shows_runtime_refs_not_ids() -> None:
    old = bundle("a", runtime_deps=("shell",))
    new = bundle("a", runtime_deps=("shell", "python3"), label="Renamed")
    [change] = make_plan(desired(new), actual_of(old)).changes
    assert change.action == "update"
    fields = {f.field: (f.old, f.new) for f in change.fields}
    assert fields == {"label": ("A", "Renamed"), "runtime_deps": (["shell"], ["shell", "python3"])}
    assert change.values == {"label": "Renamed", "runtime_deps": [1, 2]}


def test_removed_components_of_a_managed_pack_are_deleted() -> None:
    smaller = bundle("a", [trigger("a", "t1")])
    plan = make_plan(desired(smaller, B), actual_of(A, B))
    assert summary(plan) == [("delete", "sensor", "a.s1"), ("delete", "trigger", "a.t2")]


def test_pack_delete_with_cascade_counts() -> None:
    actual = actual_of(A, B, C, D)
    actual.action_counts["a"] = 4
    actual.rule_counts["a"] = 1
    plan = make_plan(desired(B, C, D), actual)
    assert summary(plan) == [("delete", "pack", "a")]
    assert plan.changes[0].cascade == {
        "triggers": 2,
        "sensors": 1,
        "actions": 4,
        "rules": 1,
        "runtimes": 0,  # issue 12: runtimes are counted too
    }


def test_unmanaged_pack_is_never_deleted() -> None:
    plan = make_plan(desired(B), actual_of(A, B, unmanaged=("a",)))
    assert plan.is_empty
    assert plan.held_back == []


def test_tree_pack_existing_unmanaged_is_a_clash_without_adopt() -> None:
    plan = make_plan(desired(A), actual_of(A, unmanaged=("a",)))
    assert plan.changes == []
    [invalid] = plan.invalid
    assert (invalid.folder, invalid.ref) == ("a", "a")
    [problem] = invalid.problems
    assert problem.field == "ref"
    assert "not made by attune-sync" in problem.message
    assert "--adopt" in (problem.hint or "")


def test_tree_pack_existing_unmanaged_is_adopted() -> None:
    plan = make_plan(desired(A), actual_of(A, unmanaged=("a",)), PlanOptions(adopt=True))
    [change] = plan.changes
    assert (change.action, change.kind, change.ref, change.adopt) == ("update", "pack", "a", True)
    assert change.fields == ()
    assert change.folder == "a"
    assert change.as_json()["adopt"] is True


def test_rename_folder_is_bookkeeping_only() -> None:
    moved = bundle("a", list(A.triggers.values()), list(A.sensors.values()), folder="renamed")
    plan = make_plan(desired(moved, B), actual_of(A, B))
    assert plan.is_empty
    assert plan.bookkeeping == {"a": ManagedInfo("renamed", "hash-a")}


def test_invalid_pack_is_untouched_and_not_deleted() -> None:
    broken = InvalidPack("a", "a", (Problem("a/pack.yaml", "bad"),))
    plan = make_plan(desired(B, invalid=[broken]), actual_of(A, B))
    assert plan.is_empty
    assert plan.held_back == []
    assert plan.invalid == [broken]
    assert [p.message for p in plan.errors] == ["bad"]


def test_unparsable_pack_yaml_of_a_known_folder_is_not_deleted() -> None:
    broken = InvalidPack("a", None, (Problem("a/pack.yaml", "invalid YAML"),))
    plan = make_plan(desired(B, C, D, invalid=[broken]), actual_of(A, B, C, D))
    assert plan.is_empty
    assert plan.held_back == []


def test_unparsable_pack_yaml_of_an_unknown_folder_holds_back_deletes() -> None:
    broken = InvalidPack("new-folder", None, (Problem("new-folder/pack.yaml", "invalid YAML"),))
    plan = make_plan(desired(B, C, D, invalid=[broken]), actual_of(A, B, C, D))
    assert plan.is_empty
    [held] = plan.held_back
    assert (held.action, held.kind, held.ref) == ("delete", "pack", "a")
    assert "new-folder" in held.reason
    assert "no pack is deleted" in held.reason


def test_sensor_referencing_trigger_of_an_invalid_new_pack_is_invalid() -> None:
    user = bundle("u", sensors=[sensor("u", "s", "x.t")])
    broken = InvalidPack("x", "x", (Problem("x/pack.yaml", "bad"),))
    plan = make_plan(desired(user, invalid=[broken]), ActualState(runtimes=dict(RUNTIMES)))
    assert plan.changes == []
    refs = {pack.ref: pack for pack in plan.invalid}
    assert set(refs) == {"u", "x"}
    [problem] = refs["u"].problems
    assert problem.path == "u/sensors/s.yaml"
    assert problem.field == "trigger_types[0]"
    assert problem.message == "trigger 'x.t' does not exist in the packs folder or the database"


def test_sensor_referencing_trigger_of_an_invalid_existing_pack_is_fine() -> None:
    x = bundle("x", [trigger("x", "t")])
    user = bundle("u", sensors=[sensor("u", "s", "x.t")])
    broken = InvalidPack("x", "x", (Problem("x/pack.yaml", "bad"),))
    plan = make_plan(desired(user, invalid=[broken]), actual_of(x))
    assert [p.ref for p in plan.invalid] == ["x"]
    assert ("create", "sensor", "u.s") in summary(plan)


def test_unknown_runtime_makes_the_pack_invalid() -> None:
    odd = bundle("r", runtime_deps=("perl",))
    plan = make_plan(desired(odd), ActualState(runtimes=dict(RUNTIMES)))
    [invalid] = plan.invalid
    assert invalid.problems[0].message == "unknown runtime 'perl'"
    assert invalid.problems[0].field == "runtime_deps[0]"


def test_deleting_a_trigger_used_by_a_staying_sensor_is_held_back() -> None:
    user = bundle("u", sensors=[sensor("u", "s", "a.t2")])
    smaller = bundle("a", [trigger("a", "t1")], [sensor("a", "s1", "a.t1")])
    plan = make_plan(desired(smaller, user), actual_of(A, user))
    # The user pack's sensor is settled as invalid (its trigger would vanish)...
    assert [p.ref for p in plan.invalid] == ["u"]
    # ...and the delete of a.t2 is held back, because the sensor stays in the database.
    [held] = plan.held_back
    assert (held.action, held.kind, held.ref) == ("delete", "trigger", "a.t2")
    assert held.reason == "still used by sensor 'u.s', which stays"
    assert ("delete", "trigger", "a.t2") not in summary(plan)


def test_deleting_a_trigger_used_by_an_unmanaged_rule_is_held_back() -> None:
    actual = actual_of(A, B)
    actual.rule_trigger_refs["a.t2"] = [("other.rule", "other")]
    smaller = bundle("a", [trigger("a", "t1")], [sensor("a", "s1", "a.t1")])
    plan = make_plan(desired(smaller, B), actual)
    [held] = plan.held_back
    assert held.ref == "a.t2"
    assert held.reason == "still used by rule 'other.rule', which stays"
    assert plan.changes == []


def test_pack_delete_held_back_when_its_trigger_is_used_by_a_staying_pack() -> None:
    x = bundle("x", [trigger("x", "t")])
    unmanaged = bundle("u", sensors=[sensor("u", "s", "x.t")])
    plan = make_plan(desired(B, C, D), actual_of(x, B, C, D, unmanaged, unmanaged=("u",)))
    [held] = plan.held_back
    assert (held.kind, held.ref) == ("pack", "x")
    assert held.reason == "its trigger 'x.t': still used by sensor 'u.s', which stays"
    assert plan.changes == []


def test_sensor_retargeted_frees_its_old_trigger() -> None:
    new_a = bundle("a", [trigger("a", "t1")], [sensor("a", "s1", "a.t1")])
    old_a = bundle("a", [trigger("a", "t1"), trigger("a", "t2")], [sensor("a", "s1", "a.t2")])
    plan = make_plan(desired(new_a), actual_of(old_a))
    assert plan.held_back == []
    assert summary(plan) == [("update", "sensor", "a.s1"), ("delete", "trigger", "a.t2")]


def test_deleting_all_managed_packs_is_refused() -> None:
    plan = make_plan(desired(), actual_of(A, B))
    assert plan.changes == []
    assert [(h.kind, h.ref) for h in plan.held_back] == [("pack", "a"), ("pack", "b")]
    assert (
        "would delete 2 of 2 managed packs (100%, over the 50% limit)" in plan.held_back[0].reason
    )
    assert "--allow-mass-delete" in plan.held_back[0].reason


def test_deleting_the_only_managed_pack_is_refused_even_with_high_share() -> None:
    plan = make_plan(desired(), actual_of(A), PlanOptions(max_delete_share=1.0))
    assert plan.changes == []
    assert [h.ref for h in plan.held_back] == ["a"]


def test_deleting_over_the_share_is_refused_but_the_rest_applies() -> None:
    e = bundle("e")
    new_e = bundle("e", label="Changed")
    plan = make_plan(desired(D, new_e), actual_of(A, B, C, D, e))
    assert summary(plan) == [("update", "pack", "e")]
    assert sorted(h.ref for h in plan.held_back) == ["a", "b", "c"]
    assert "3 of 5 managed packs (60%" in plan.held_back[0].reason


def test_deleting_below_the_share_is_allowed() -> None:
    plan = make_plan(desired(B, C, D), actual_of(A, B, C, D))
    assert summary(plan) == [("delete", "pack", "a")]
    assert plan.held_back == []


def test_deleting_exactly_the_share_is_allowed() -> None:
    # Packs without components: half the packs is also exactly half the managed objects.
    e, f = bundle("e"), bundle("f")
    plan = make_plan(desired(C, D), actual_of(e, f, C, D))
    assert summary(plan) == [("delete", "pack", "e"), ("delete", "pack", "f")]


def test_deleting_half_the_packs_but_most_objects_is_refused() -> None:
    # a and b are half the packs but 6 of the 8 managed objects (with their components).
    plan = make_plan(desired(C, D), actual_of(A, B, C, D))
    assert plan.changes == []
    assert sorted(h.ref for h in plan.held_back) == ["a", "b"]
    assert {h.code for h in plan.held_back} == {"mass_delete"}
    assert "6 of the 8 managed objects" in plan.held_back[0].reason


def test_component_folders_gone_holds_every_component_delete() -> None:
    # A sparse checkout: every pack.yaml is there, no triggers/ or sensors/ folder is.
    many = [bundle(f"p{i}", [trigger(f"p{i}", "t")]) for i in range(6)]
    bare = [bundle(f"p{i}") for i in range(6)]
    plan = make_plan(desired(*bare), actual_of(*many), PlanOptions(max_delete_share=0.4))
    assert plan.changes == []
    assert sorted(h.ref for h in plan.held_back) == [f"p{i}.t" for i in range(6)]
    assert {h.code for h in plan.held_back} == {"mass_delete"}
    assert "6 of the 12 managed objects" in plan.held_back[0].reason
    allowed = make_plan(
        desired(*bare), actual_of(*many), PlanOptions(allow_mass_delete=True, max_delete_share=0.4)
    )
    assert len(allowed.changes) == 6
    # With several components each, every pack is held as emptied.
    full = [
        bundle(f"p{i}", [trigger(f"p{i}", "t")], [sensor(f"p{i}", "s", f"p{i}.t")])
        for i in range(6)
    ]
    plan = make_plan(desired(*bare), actual_of(*full))
    assert plan.changes == []
    assert len(plan.held_back) == 12
    assert {h.code for h in plan.held_back} == {"pack_emptied"}


def test_a_pack_losing_all_its_components_is_held() -> None:
    bare_a = bundle("a")
    plan = make_plan(desired(bare_a, B, C, D, bundle("e"), bundle("f")), actual_of(A, B, C, D))
    assert summary(plan) == [("create", "pack", "e"), ("create", "pack", "f")]
    assert sorted((h.kind, h.ref) for h in plan.held_back) == [
        ("sensor", "a.s1"),
        ("trigger", "a.t1"),
        ("trigger", "a.t2"),
    ]
    assert {h.code for h in plan.held_back} == {"pack_emptied"}
    assert "all 3 components of pack 'a'" in plan.held_back[0].reason
    allowed = make_plan(desired(bare_a, B, C, D), actual_of(A, B, C, D), PlanOptions(True))
    assert len(allowed.changes) == 3


def test_a_pack_losing_its_only_component_is_not_held() -> None:
    plan = make_plan(desired(A, bundle("b"), C, D), actual_of(A, B, C, D))
    assert summary(plan) == [("delete", "trigger", "b.t")]
    assert plan.held_back == []


def test_mass_delete_held_pack_keeps_its_triggers_usable() -> None:
    # u's sensor uses a.t1; a's folder and most others are gone: a's delete is held, so u
    # stays valid instead of being told a.t1 is being removed.
    user = bundle("u", sensors=[sensor("u", "s", "a.t1")])
    plan = make_plan(desired(user), actual_of(A, B, C, D, user))
    assert plan.invalid == []
    assert {h.ref for h in plan.held_back} == {"a", "b", "c", "d"}


def test_allow_mass_delete_permits_it() -> None:
    plan = make_plan(desired(), actual_of(A, B), PlanOptions(allow_mass_delete=True))
    assert summary(plan) == [("delete", "pack", "a"), ("delete", "pack", "b")]
    assert plan.held_back == []


def test_custom_share() -> None:
    plan = make_plan(desired(B, C, D), actual_of(A, B, C, D), PlanOptions(max_delete_share=0.2))
    assert plan.changes == []
    assert "over the 20% limit" in plan.held_back[0].reason


def test_ordering_creates_then_deletes_reversed() -> None:
    new = bundle("n", [trigger("n", "t")], [sensor("n", "s", "n.t")])
    smaller_a = bundle("a", [trigger("a", "t1")])
    plan = make_plan(desired(new, smaller_a, C, D), actual_of(A, B, C, D))
    assert summary(plan) == [
        ("create", "pack", "n"),
        ("create", "trigger", "n.t"),
        ("create", "sensor", "n.s"),
        ("delete", "sensor", "a.s1"),
        ("delete", "trigger", "a.t2"),
        ("delete", "pack", "b"),
    ]


def test_secret_config_is_masked_in_changes_but_kept_in_values() -> None:
    # Issue 7 item 9: one copy, with the secret wrapped, instead of masked and raw copies.
    schema = {"type": "object", "properties": {"key": {"type": "string", "secret": True}}}
    old = bundle("s", conf_schema=schema, config={"key": "old-secret", "region": "eu"})
    new = bundle("s", conf_schema=schema, config={"key": "new-secret", "region": "us"})
    [create] = make_plan(desired(new), ActualState(runtimes=dict(RUNTIMES))).changes
    shown = {f.field: f.new for f in create.shown}["config"]
    assert masked(shown) == {"key": SECRET_MASK, "region": "us"}
    assert create.values is not None
    assert create.values["config"] == {"key": Secret("new-secret"), "region": "us"}
    assert create.written_values()["config"]["key"] == "new-secret"
    assert "new-secret" not in repr(create) + str(create.values) + f"{create.values}"
    [update] = make_plan(desired(new), actual_of(old)).changes
    [config] = [f for f in update.fields if f.field == "config"]
    assert masked(config.old) == {"key": SECRET_MASK, "region": "eu"}
    assert masked(config.new) == {"key": SECRET_MASK, "region": "us"}
    assert "secret" not in repr(update.as_json()).replace("'secret': True", "")
    assert "secret" not in render_plan(Plan(changes=[update])).replace('"secret": true', "")


def test_a_secret_equal_to_the_database_is_no_change() -> None:
    schema = {"type": "object", "properties": {"key": {"type": "string", "secret": True}}}
    same = bundle("s", conf_schema=schema, config={"key": "k", "region": "eu"})
    assert make_plan(desired(same), actual_of(same)).is_empty


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (True, 1, False),
        # One JSON number type; jsonb returns large floats as integers.
        (1, 1.0, True),
        (10**17, 1e17, True),
        (1, 1.5, False),
        (0, False, False),
        (1.0, True, False),
        (1, 1, True),
        ({"a": [1, True]}, {"a": [1, True]}, True),
        ({"a": [1, True]}, {"a": [1, 1]}, False),
        ({"a": 1}, {"a": 1, "b": 1}, False),
        ([1, 2], [2, 1], False),
        (None, None, True),
        ("1", 1, False),
    ],
)
def test_json_equal(left: object, right: object, equal: bool) -> None:
    assert json_equal(left, right) is equal


def test_true_versus_one_in_meta_is_an_update() -> None:
    old = bundle("m", meta={"flag": 1})
    new = bundle("m", meta={"flag": True})
    [change] = make_plan(desired(new), actual_of(old)).changes
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("meta", {"flag": 1}, {"flag": True})
    ]


def test_trigger_owned_by_unmanaged_pack_cannot_be_claimed() -> None:
    other = bundle("a.b", [trigger("a.b", "x")])
    claimer = bundle("a", [TriggerSpec("a.b.x", "a", "X", source="a/triggers/x.yaml")])
    plan = make_plan(desired(claimer), actual_of(other, unmanaged=("a.b",)))
    [invalid] = plan.invalid
    assert invalid.ref == "a"
    assert "belongs to pack 'a.b', which attune-sync does not manage" in invalid.problems[0].message


def test_a_trigger_moved_to_a_nested_pack_is_updated_not_deleted() -> None:
    """`a.x.t` may live in pack `a` or in pack `a.x`; moving the file moves the trigger."""
    before = bundle("a", [trigger("a", "x.t")])
    nested = bundle("a.x")
    after_a = bundle("a")
    after_nested = bundle("a.x", [TriggerSpec("a.x.t", "a.x", "T", source="a.x/triggers/t.yaml")])
    plan = make_plan(desired(after_a, after_nested, B), actual_of(before, nested, B))
    assert summary(plan) == [("update", "trigger", "a.x.t")]
    [change] = plan.changes
    assert [(f.field, f.old, f.new) for f in change.fields] == [("pack_ref", "a", "a.x")]


def test_a_broken_pack_that_declares_another_ref_keeps_the_pack_of_its_folder() -> None:
    """Folder a/ held pack 'a'; its pack.yaml now says `ref: a2` and has an error."""
    broken = InvalidPack("a", "a2", (Problem("a/pack.yaml", "unknown field"),))
    plan = make_plan(desired(B, C, D, invalid=[broken]), actual_of(A, B, C, D))
    assert plan.is_empty
    assert plan.held_back == []


def test_a_valid_pack_cannot_take_a_trigger_from_an_invalid_pack() -> None:
    old = bundle("a", [trigger("a", "x.t")])
    broken = InvalidPack("a", "a", (Problem("a/pack.yaml", "bad"),))
    grabbing = bundle("a.x", [TriggerSpec("a.x.t", "a.x", "T", source="a.x/triggers/t.yaml")])
    plan = make_plan(desired(grabbing, B, invalid=[broken]), actual_of(old, B))
    assert plan.changes == []
    refused = next(pack for pack in plan.invalid if pack.ref == "a.x")
    assert "belongs to pack 'a', which is invalid and stays as it is" in refused.problems[0].message


def test_pack_delete_held_back_when_a_staying_rule_uses_its_actions() -> None:
    actual = actual_of(A, B, C, D)
    actual.rule_action_packs["a"] = [("api.rule", "api")]
    plan = make_plan(desired(B, C, D), actual)
    [held] = plan.held_back
    assert (held.kind, held.ref) == ("pack", "a")
    assert held.reason == "its actions: still used by rule 'api.rule', which stays"
    assert plan.changes == []


def test_a_held_trigger_and_the_sensor_using_it_tell_one_story() -> None:
    user = bundle("u", sensors=[sensor("u", "s", "a.t2")])
    smaller = bundle("a", [trigger("a", "t1")], [sensor("a", "s1", "a.t1")])
    plan = make_plan(desired(smaller, user), actual_of(A, user))
    [held] = plan.held_back
    assert (held.ref, held.code) == ("a.t2", "still_used")
    [problem] = plan.invalid[0].problems
    assert "being removed" not in problem.message
    assert "pack 'a' no longer declares it" in problem.message
    assert "its delete is held back while it is used here" in problem.message


def test_held_back_json_carries_the_code() -> None:
    plan = make_plan(desired(), actual_of(A, B))
    assert [h.as_json()["code"] for h in plan.held_back] == ["mass_delete", "mass_delete"]


def test_a_folder_that_now_declares_another_ref_and_settles_invalid_keeps_its_pack() -> None:
    # Folder a used to hold pack a; it now declares a2, whose sensor needs a missing trigger.
    renamed = bundle("a2", sensors=[sensor("a2", "s", "nowhere.t")], folder="a")
    plan = make_plan(desired(renamed, B, C, D), actual_of(A, B, C, D))
    assert [pack.ref for pack in plan.invalid] == ["a2"]
    assert plan.changes == []
    assert plan.held_back == []


# --------------------------------------------------------------------------- settle, then plan


def test_a_plan_from_a_settled_tree_is_the_plan_that_settles_itself() -> None:
    user = bundle("u", sensors=[sensor("u", "s", "a.t1")])
    cases = [
        (desired(A, B), actual_of(A, C), None),
        # a's delete is held before settling, and u may still use a's trigger
        (desired(user), actual_of(A, B, C, D, user), None),
        (desired(user, B), actual_of(A, B, C, D, user), {"a", "u"}),
    ]
    for tree, state, scope in cases:
        settled = settle_for_plan(tree, state, None, scope)
        assert make_plan(tree, state, None, scope, settled=settled) == make_plan(
            tree, state, None, scope
        )


def test_a_tree_settled_with_other_holds_is_refused() -> None:
    user = bundle("u", sensors=[sensor("u", "s", "a.t1")])
    tree, state = desired(user), actual_of(A, B, C, D, user)
    with pytest.raises(ValueError, match="settle_for_plan"):
        make_plan(tree, state, settled=settle(tree, state))  # settled without the guards' holds
    with pytest.raises(ValueError, match="settle_for_plan"):
        make_plan(tree, state, PlanOptions(adopt=True), settled=settle_for_plan(tree, state))
