"""Deletes and hold-backs for actions, rules and runtimes (pure planner tests)."""

from __future__ import annotations

from typing import Any

from attune_sync.model import (
    ActualObject,
    ActualState,
    DesiredState,
    ManagedInfo,
    PackBundle,
    PackSpec,
)
from attune_sync.planner import PlanOptions, make_plan

_ids = iter(range(1, 100000))


def _row(ref: str, **values: Any) -> ActualObject:
    return ActualObject(next(_ids), ref, values)


def _state() -> ActualState:
    """Managed packs a and b, unmanaged pack u; a owns runtime a.rt, trigger a.t, action a.act."""
    state = ActualState(runtimes={"shell": 1, "a.rt": 5})
    for ref in ("a", "b", "u"):
        state.packs[ref] = _row(
            ref,
            label=ref,
            description="d",
            tags=[],
            runtime_deps=[],
            is_standard=False,
            runtime_constraints=None,
        )
    for ref in ("a", "b"):
        state.managed[ref] = ManagedInfo(ref, f"hash-{ref}")
    state.runtime_rows["a.rt"] = _row("a.rt", pack_ref="a", name="rt", aliases=[])
    state.triggers["a.t"] = _row("a.t", pack_ref="a", label="T")
    state.actions["a.act"] = _row("a.act", pack_ref="a", label="A", runtime_ref="a.rt")
    return state


def _bundle(ref: str) -> PackBundle:
    return PackBundle(PackSpec(ref, ref, "d"), ref, {}, {}, f"hash-{ref}")


def _desired(*refs: str) -> DesiredState:
    return DesiredState(root="/packs", packs={ref: _bundle(ref) for ref in refs})


def test_an_action_a_staying_rule_runs_is_held_back() -> None:
    state = _state()
    state.rules["u.r"] = _row("u.r", pack_ref="u", trigger_ref="a.t", action_ref="a.act")
    plan = make_plan(_desired("a", "b"), state)
    held = {(h.kind, h.ref): h.reason for h in plan.held_back}
    assert held == {
        ("action", "a.act"): "still used by rule 'u.r', which stays",
        ("trigger", "a.t"): "still used by rule 'u.r', which stays",
        # The action stays, so the runtime it runs on stays too.
        ("runtime", "a.rt"): "still used by action 'a.act', which stays",
    }
    assert plan.changes == []


def test_a_pack_whose_runtime_a_staying_sensor_runs_on_is_held_back() -> None:
    state = _state()
    state.sensors["u.s"] = _row("u.s", pack_ref="u", runtime_ref="a.rt", trigger_refs=["u.t"])
    plan = make_plan(_desired("b"), state, PlanOptions(allow_mass_delete=True))
    [held] = plan.held_back
    assert (held.kind, held.ref) == ("pack", "a")
    assert held.reason == "its runtime 'a.rt': still used by sensor 'u.s', which stays"
    assert plan.changes == []


def test_deleting_a_pack_takes_its_runtimes_after_it() -> None:
    plan = make_plan(_desired("b"), _state(), PlanOptions(allow_mass_delete=True))
    assert [(c.action, c.kind, c.ref) for c in plan.changes] == [
        ("delete", "pack", "a"),
        ("delete", "runtime", "a.rt"),
    ]
    assert plan.changes[0].cascade == {
        "triggers": 1,
        "sensors": 0,
        "actions": 1,
        "rules": 0,
        "runtimes": 1,
    }


def test_components_are_deleted_users_first() -> None:
    state = _state()
    state.rules["a.r"] = _row("a.r", pack_ref="a", trigger_ref="a.t", action_ref="a.act")
    state.sensors["a.s"] = _row("a.s", pack_ref="a", runtime_ref="a.rt", trigger_refs=["a.t"])
    # Pack a loses all its components: allowed explicitly (issue 10's emptied-pack guard).
    plan = make_plan(_desired("a", "b"), state, PlanOptions(allow_mass_delete=True))
    assert [(c.kind, c.ref) for c in plan.changes] == [
        ("rule", "a.r"),
        ("sensor", "a.s"),
        ("action", "a.act"),
        ("trigger", "a.t"),
        ("runtime", "a.rt"),
    ]
    assert plan.held_back == []


def test_a_scoped_plan_updates_an_unchanged_pack_whose_action_loses_its_runtime() -> None:
    from attune_sync.desired import ActionSpec

    state = _state()
    state.actions["b.act"] = _row(
        "b.act",
        pack_ref="b",
        label="B",
        description=None,
        runtime_ref="a.rt",
        entrypoint=None,
        param_schema=None,
        out_schema=None,
        parameter_delivery="stdin",
        parameter_format="json",
        output_format="text",
        workflow_file=None,
    )
    b = _bundle("b")
    b.actions["b.act"] = ActionSpec("b.act", "b", "B", runtime_ref="a.rt")
    desired = DesiredState(root="/packs", packs={"b": b})
    # Only pack a's folder changed (it is gone): b is unchanged on disk, yet its action's
    # runtime no longer resolves, so b is compared too and the runtime delete can go ahead.
    plan = make_plan(desired, state, PlanOptions(allow_mass_delete=True), scope={"a"})
    assert [(c.action, c.kind, c.ref) for c in plan.changes] == [
        ("update", "action", "b.act"),
        ("delete", "pack", "a"),
        ("delete", "runtime", "a.rt"),
    ]
    assert plan.held_back == []
