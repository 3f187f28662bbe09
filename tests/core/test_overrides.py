"""The planner keeps API overrides while the file's `enabled` is unchanged (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from attune_sync.model import ActualState, PackBundle
from attune_sync.overrides import Override
from attune_sync.planner import make_plan
from attune_sync.runs import plan_details
from attune_sync.standing import pack_standing

from .test_planner import actual_of, bundle, desired, sensor, trigger

AT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _tree(sensor_enabled: bool = True) -> PackBundle:
    probe = replace(sensor("mon", "cpu", "mon.alert"), enabled=sensor_enabled)
    return bundle("mon", [trigger("mon", "alert")], [probe])


def _with_override(state: ActualState, enabled: bool, file_enabled: bool) -> ActualState:
    state.sensors["mon.cpu"].values["enabled"] = enabled
    override = Override("sensor", "mon.cpu", enabled, file_enabled, "ops", AT)
    state.overrides[("sensor", "mon.cpu")] = override
    return state


def test_an_override_is_kept_while_the_file_says_what_it_said() -> None:
    state = _with_override(actual_of(_tree()), enabled=False, file_enabled=True)
    plan = make_plan(desired(_tree()), state)
    assert plan.changes == []
    assert [o.ref for o in plan.overrides_kept] == ["mon.cpu"]
    assert plan.ended_overrides == []
    states = pack_standing({"mon": {}}, plan_details(plan))
    assert states["mon"]["overrides"][0]["enabled"] is False
    assert states["mon"]["overrides"][0]["set_at"] == "2026-11-28T03:00:00Z"


def test_other_fields_still_sync_under_an_override() -> None:
    state = _with_override(actual_of(_tree()), enabled=False, file_enabled=True)
    edited = _tree()
    edited.sensors["mon.cpu"] = replace(edited.sensors["mon.cpu"], label="New")
    plan = make_plan(desired(edited), state)
    assert [(c.ref, [f.field for f in c.fields]) for c in plan.changes] == [("mon.cpu", ["label"])]


def test_the_file_changing_enabled_ends_the_override() -> None:
    state = _with_override(actual_of(_tree()), enabled=False, file_enabled=True)
    plan = make_plan(desired(_tree(sensor_enabled=False)), state)
    assert plan.ended_overrides == [("sensor", "mon.cpu")]
    assert plan.overrides_kept == []
    assert plan.changes == []  # the database already holds what the file now says
    state = _with_override(actual_of(_tree()), enabled=True, file_enabled=False)
    plan = make_plan(desired(_tree(sensor_enabled=False)), state)
    assert plan.ended_overrides == []
    assert plan.changes == []


def test_an_override_without_its_pack_in_the_plan_stays() -> None:
    state = _with_override(actual_of(_tree()), enabled=False, file_enabled=True)
    plan = make_plan(desired(_tree()), state, scope=set())
    assert [o.ref for o in plan.overrides_kept] == ["mon.cpu"]
    assert plan.changes == []
