"""`plan_with_drift`: the planner tags drift itself and report mode plans once.

Report mode used to plan twice: a full plan to find the drift, then `make_plan` again with
the packs whose files changed as its scope. `plan_with_drift` makes that second plan from
the first pass's settle and per-pack comparisons; these tests hold it to exactly what the
two calls made (held-backs, guards, invalid packs and settled references included).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

import pytest

from attune_sync import planner
from attune_sync.drift import DriftSplit, split_drift
from attune_sync.model import ActualObject, ActualState, DesiredState, InvalidPack, Problem
from attune_sync.planner import PlanOptions, make_plan, plan_with_drift
from core.test_planner import A, B, C, D, actual_of, bundle, desired, sensor, trigger

Scenario = tuple[DesiredState, ActualState, dict[str, str]]


def _recorded(state: ActualState, *gone: str) -> dict[str, str]:
    """The hashes the packs were last applied with; `gone` were deleted behind our back."""
    found = {ref: info.content_hash for ref, info in state.managed.items()}
    found.update((ref, f"hash-{ref}") for ref in gone)
    return found


def _drifted(state: ActualState, kind: str = "trigger", ref: str = "a.t1") -> ActualState:
    state.objects(kind)[ref].values["label"] = "by hand"  # type: ignore[arg-type]
    return state


def _edited(ref: str, **changes: Any) -> Any:
    return replace(bundle(ref, **changes), content_hash=f"hash-{ref}-edited")


B_EDITED = replace(bundle("b", [trigger("b", "t", label="edited")]), content_hash="hash-b-2")
USER = bundle("u", sensors=[sensor("u", "s", "a.t1")])


def drift_and_an_edit() -> Scenario:
    state = _drifted(actual_of(A, B))
    return desired(A, B_EDITED), state, _recorded(state)


def only_drift() -> Scenario:
    state = _drifted(actual_of(A, B))
    return desired(A, B), state, _recorded(state)


def drift_and_a_deleted_folder() -> Scenario:
    state = _drifted(actual_of(A, B, C, D))
    return desired(A, B, C), state, _recorded(state)


def drift_and_an_edit_no_field_shows() -> Scenario:
    state = _drifted(actual_of(A, B, C))
    return desired(A, B, replace(C, content_hash="hash-c-2")), state, _recorded(state)


def drift_while_a_mass_delete_is_held() -> Scenario:
    # a's delete is held before settling, which keeps a.t1 usable for u's sensor.
    state = _drifted(actual_of(A, B, C, D, USER), "sensor", "u.s")
    return desired(USER), state, _recorded(state)


def drift_while_a_folder_of_unknown_ref_holds_deletes() -> Scenario:
    state = _drifted(actual_of(A, B, C, D))
    broken = InvalidPack("x", None, (Problem("x/pack.yaml", "cannot be read"),))
    return desired(A, B, C, invalid=[broken]), state, _recorded(state)


def drift_in_a_delete_something_still_uses() -> Scenario:
    state = _drifted(actual_of(A, B, bundle("u", sensors=[sensor("u", "s", "a.t9")])))
    state.triggers["a.t9"] = ActualObject(9, "a.t9", {"pack_ref": "a", "label": "made by hand"})
    del state.managed["u"]  # u is unmanaged: its sensor stays and keeps a.t9
    return desired(A, B_EDITED), state, _recorded(state)


def drift_of_a_pack_deleted_behind_the_syncs_back() -> Scenario:
    state = actual_of(A)
    return desired(_edited("a", label="Edited"), B), state, _recorded(state, "b")


def drift_beside_an_emptied_pack() -> Scenario:
    state = _drifted(actual_of(A, B), "trigger", "b.t")
    return desired(_edited("a"), B), state, _recorded(state)


SCENARIOS: list[Callable[[], Scenario]] = [
    drift_and_an_edit,
    only_drift,
    drift_and_a_deleted_folder,
    drift_and_an_edit_no_field_shows,
    drift_while_a_mass_delete_is_held,
    drift_while_a_folder_of_unknown_ref_holds_deletes,
    drift_in_a_delete_something_still_uses,
    drift_of_a_pack_deleted_behind_the_syncs_back,
    drift_beside_an_emptied_pack,
]


TWO_PASSES_WERE_WRONG = (
    drift_while_a_mass_delete_is_held,
    drift_while_a_folder_of_unknown_ref_holds_deletes,
    drift_and_an_edit_no_field_shows,
    drift_beside_an_emptied_pack,
)
"""In report mode the second pass planned a smaller world: the packs with changes. A pack
whose files changed but whose deletes were all held, or that changed in no field's way, was
outside it (its holds and bookkeeping went unreported), and so was a pack held before
settling (its components then stopped counting for the others)."""


def _planned_twice(
    tree: DesiredState,
    state: ActualState,
    scope: Collection[str] | None,
    recorded: dict[str, str],
    report: bool,
) -> tuple[Any, DriftSplit]:
    """What the reconciler did before: plan, split, and in report mode plan again."""
    plan = make_plan(tree, state, PlanOptions(), scope)
    split = split_drift(plan, tree, recorded)
    if report and split.drift:
        plan = make_plan(tree, state, PlanOptions(), split.tree_packs())
    return plan, split


@pytest.mark.parametrize(
    ("scenario", "report"),
    [(s, False) for s in SCENARIOS]
    + [(s, True) for s in SCENARIOS if s not in TWO_PASSES_WERE_WRONG],
    ids=lambda value: value.__name__ if callable(value) else ("report" if value else "revert"),
)
@pytest.mark.parametrize("scoped", [False, True], ids=["all", "scoped"])
def test_one_pass_plans_what_two_passes_planned(
    scenario: Callable[[], Scenario], report: bool, scoped: bool
) -> None:
    """Where two passes were right; where they were not, the test below says what changed."""
    tree, state, recorded = scenario()
    scope = set(tree.packs) | set(state.managed) if scoped else None
    once = plan_with_drift(tree, state, PlanOptions(), scope, recorded, report=report)
    assert once[1].drift, "every scenario has drift"
    assert once == _planned_twice(tree, state, scope, recorded, report)


def test_the_scenarios_reach_what_they_name() -> None:
    def planned(scenario: Callable[[], Scenario], report: bool) -> Any:
        tree, state, recorded = scenario()
        return plan_with_drift(tree, state, None, None, recorded, report=report)[0]

    def codes(scenario: Callable[[], Scenario], report: bool = False) -> set[str]:
        return {item.code for item in planned(scenario, report).held_back}

    edit = planned(drift_and_an_edit, report=True)
    assert [(c.action, c.ref) for c in edit.changes] == [("update", "b.t")]
    assert planned(only_drift, report=True).changes == []
    assert codes(drift_in_a_delete_something_still_uses) == {"still_used"}
    assert codes(drift_beside_an_emptied_pack) == {"pack_emptied"}
    assert codes(drift_while_a_folder_of_unknown_ref_holds_deletes) == {"unknown_folder"}
    assert "c" in planned(drift_and_an_edit_no_field_shows, report=False).bookkeeping
    mass = planned(drift_while_a_mass_delete_is_held, report=False)
    assert (codes(drift_while_a_mass_delete_is_held), mass.invalid) == ({"mass_delete"}, [])
    # Report mode narrows the whole plan, it does not plan a smaller world: a pack whose
    # files changed in no field's way still gets its bookkeeping, and a pack delete a guard
    # held before settling stays held and keeps its components usable (u's sensor keeps
    # a.t1). Two passes lost both (the second pass's scope had no held pack in it).
    assert "c" in planned(drift_and_an_edit_no_field_shows, report=True).bookkeeping
    mass = planned(drift_while_a_mass_delete_is_held, report=True)
    assert ({item.code for item in mass.held_back}, mass.invalid) == ({"mass_delete"}, [])
    assert codes(drift_beside_an_emptied_pack, report=True) == {"pack_emptied"}
    assert codes(drift_while_a_folder_of_unknown_ref_holds_deletes, report=True) == {
        "unknown_folder"
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_report_mode_settles_once_and_compares_each_pack_once(
    scenario: Callable[[], Scenario], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, list[Any]] = {"settle": [], "compare": []}

    def counted(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name].append(args[0])
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(planner, "settle", counted("settle", planner.settle))
    monkeypatch.setattr(planner, "compare_pack", counted("compare", planner.compare_pack))
    tree, state, recorded = scenario()
    _, split = plan_with_drift(tree, state, None, None, recorded, report=True)
    assert split.drift
    assert len(calls["settle"]) == 1
    refs = [bundle.pack.ref for bundle in calls["compare"]]
    assert sorted(refs) == sorted(set(refs))
