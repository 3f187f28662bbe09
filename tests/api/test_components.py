"""Triggers and sensors: shapes, lists, enable/disable, updates, deletes and references."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, update

from attune_sync.db import schema as t

from .conftest import Api

SENSOR = {
    "ref": "mon.cpu",
    "pack_ref": "mon",
    "label": "CPU",
    "description": "Watches CPU",
    "entrypoint": "/sensors/cpu.py",
    "runtime_ref": "python3",
    "trigger_ref": "mon.alert",
}


@pytest.fixture
def mon(api: Api) -> Api:
    assert (
        api.post("/api/v1/packs", {"ref": "mon", "label": "M", "description": "m"}).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/triggers", {"ref": "mon.alert", "pack_ref": "mon", "label": "A"}
        ).status_code
        == 201
    )
    return api


def test_trigger_shapes(mon: Api) -> None:
    full = mon.get("/api/v1/triggers/mon.alert").json()["data"]
    assert list(full) == [
        "id",
        "ref",
        "pack",
        "pack_ref",
        "label",
        "description",
        "enabled",
        "param_schema",
        "out_schema",
        "created",
        "updated",
    ]
    summary = mon.get("/api/v1/triggers").json()["data"][0]
    assert list(summary) == [
        "id",
        "ref",
        "pack_ref",
        "label",
        "description",
        "enabled",
        "created",
        "updated",
    ]
    assert mon.get("/api/v1/triggers/nope").json() == {"error": "Trigger 'nope' not found"}


def test_system_wide_trigger_has_no_pack(api: Api) -> None:
    answer = api.post("/api/v1/triggers", {"ref": "global_event", "label": "G"})
    assert answer.status_code == 201
    assert answer.json()["data"]["pack"] is None
    assert answer.json()["data"]["pack_ref"] is None


def test_sensor_shapes_and_references(mon: Api) -> None:
    created = mon.post("/api/v1/sensors", SENSOR)
    assert created.status_code == 201
    data = created.json()["data"]
    assert list(data) == [
        "id",
        "ref",
        "pack",
        "pack_ref",
        "label",
        "description",
        "entrypoint",
        "runtime",
        "runtime_ref",
        "trigger",
        "trigger_ref",
        "enabled",
        "param_schema",
        "created",
        "updated",
    ]
    assert data["runtime"] == 2
    summary = mon.get("/api/v1/sensors").json()["data"][0]
    assert list(summary) == [
        "id",
        "ref",
        "pack_ref",
        "label",
        "description",
        "trigger_ref",
        "enabled",
        "created",
        "updated",
    ]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"pack_ref": "ghost", "ref": "ghost.s"}, 404, "Pack 'ghost' not found"),
        ({"runtime_ref": "cobol"}, 404, "Runtime 'cobol' not found"),
        ({"trigger_ref": "mon.nothing"}, 404, "Trigger 'mon.nothing' not found"),
    ],
)
def test_sensor_references_must_exist(
    mon: Api, change: dict[str, Any], status: int, error: str
) -> None:
    answer = mon.post("/api/v1/sensors", {**SENSOR, **change})
    assert answer.status_code == status
    assert answer.json() == {"error": error}


def test_enable_disable_and_enabled_lists(mon: Api) -> None:
    mon.post("/api/v1/sensors", SENSOR)
    mon.post("/api/v1/sensors", {**SENSOR, "ref": "mon.mem"})
    off = mon.post("/api/v1/sensors/mon.cpu/disable")
    assert off.status_code == 200
    assert off.json()["message"] == "Sensor disabled successfully"
    assert off.json()["data"]["enabled"] is False
    enabled = mon.get("/api/v1/sensors/enabled").json()
    assert [s["ref"] for s in enabled["data"]] == ["mon.mem"]
    assert enabled["pagination"]["total_items"] == 1
    on = mon.post("/api/v1/sensors/mon.cpu/enable")
    assert on.json()["message"] == "Sensor enabled successfully"
    assert on.json()["data"]["enabled"] is True
    mon.post("/api/v1/triggers/mon.alert/disable")
    assert mon.get("/api/v1/triggers/enabled").json()["data"] == []
    assert mon.post("/api/v1/triggers/ghost/enable").status_code == 404
    assert mon.post("/api/v1/sensors/ghost/disable").json() == {"error": "Sensor 'ghost' not found"}


def test_updates_change_only_what_they_may(mon: Api) -> None:
    mon.post("/api/v1/sensors", SENSOR)
    answer = mon.put(
        "/api/v1/sensors/mon.cpu",
        {"label": "Updated CPU Monitor", "entrypoint": "/sensors/cpu_v2.py", "enabled": False},
    )
    assert answer.status_code == 200
    assert answer.json()["message"] == "Sensor updated successfully"
    data = answer.json()["data"]
    assert (data["label"], data["entrypoint"], data["enabled"]) == (
        "Updated CPU Monitor",
        "/sensors/cpu_v2.py",
        False,
    )
    for field in ("ref", "pack_ref", "runtime_ref", "trigger_ref"):
        refused = mon.put("/api/v1/sensors/mon.cpu", {field: "x"})
        assert refused.status_code == 400
        assert refused.json()["details"] == {field: ["Cannot be changed by an update"]}
    for field in ("ref", "pack_ref"):
        refused = mon.put("/api/v1/triggers/mon.alert", {field: "x"})
        assert refused.json()["details"] == {field: ["Cannot be changed by an update"]}
    assert mon.put("/api/v1/triggers/ghost", {"label": "x"}).status_code == 404


def test_sensors_of_a_trigger(mon: Api) -> None:
    mon.post("/api/v1/triggers", {"ref": "mon.other", "pack_ref": "mon", "label": "O"})
    mon.post("/api/v1/sensors", SENSOR)
    mon.post("/api/v1/sensors", {**SENSOR, "ref": "mon.b", "trigger_ref": "mon.other"})
    firing = mon.get("/api/v1/triggers/mon.alert/sensors").json()
    assert [s["ref"] for s in firing["data"]] == ["mon.cpu"]
    assert firing["pagination"] == {"page": 1, "page_size": 50, "total_items": 1, "total_pages": 1}
    missing = mon.get("/api/v1/triggers/ghost/sensors")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Trigger 'ghost' not found"}


def test_deletes(mon: Api) -> None:
    mon.post("/api/v1/sensors", SENSOR)
    used = mon.delete("/api/v1/triggers/mon.alert")
    assert used.status_code == 409
    assert "sensor 'mon.cpu'" in used.json()["error"]
    gone = mon.delete("/api/v1/sensors/mon.cpu")
    assert gone.json() == {"success": True, "message": "Sensor 'mon.cpu' deleted successfully"}
    assert mon.delete("/api/v1/sensors/mon.cpu").status_code == 404
    assert mon.delete("/api/v1/triggers/mon.alert").json() == {
        "success": True,
        "message": "Trigger 'mon.alert' deleted successfully",
    }


def test_per_pack_lists_page(mon: Api) -> None:
    for index in range(5):
        mon.post("/api/v1/triggers", {"ref": f"mon.t{index}", "pack_ref": "mon", "label": "T"})
    page = mon.get("/api/v1/packs/mon/triggers?page=2&page_size=2").json()
    assert [t["ref"] for t in page["data"]] == ["mon.t1", "mon.t2"]
    assert page["pagination"] == {"page": 2, "page_size": 2, "total_items": 6, "total_pages": 3}
    same = mon.get("/api/v1/packs/mon/triggers?page=2&per_page=2").json()
    assert same["data"] == page["data"]


def test_trigger_creates_refused(mon: Api) -> None:
    missing = mon.post("/api/v1/triggers", {"ref": "ghost.t", "pack_ref": "ghost", "label": "T"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "Pack 'ghost' not found"}
    again = mon.post("/api/v1/triggers", {"ref": "mon.alert", "pack_ref": "mon", "label": "A"})
    assert again.status_code == 409
    assert again.json() == {"error": "Trigger with ref 'mon.alert' already exists"}
    invalid = mon.put("/api/v1/triggers/mon.alert", {"label": "", "param_schema": []})
    assert invalid.status_code == 400
    assert set(invalid.json()["details"]) == {"label", "param_schema"}


def test_actions_and_rules_are_created_and_listed(mon: Api) -> None:
    action = {"ref": "mon.page", "pack_ref": "mon", "label": "Page", "runtime": 1}
    created = mon.post("/api/v1/actions", action)
    assert created.status_code == 201
    assert created.json()["message"] == "Action created successfully"
    assert created.json()["data"]["runtime"] == 1
    assert mon.post("/api/v1/actions", action).status_code == 409
    assert mon.post("/api/v1/actions", {**action, "ref": "mon.x", "runtime": 9}).json() == {
        "error": "Runtime 9 not found"
    }
    rule = {
        "ref": "mon.on_alert",
        "pack_ref": "mon",
        "label": "On alert",
        "action_ref": "mon.page",
        "trigger_ref": "mon.alert",
    }
    made = mon.post("/api/v1/rules", rule)
    assert made.status_code == 201
    assert made.json()["data"]["enabled"] is True
    missing = mon.post("/api/v1/rules", {**rule, "ref": "mon.r2", "action_ref": "mon.none"})
    assert missing.json() == {"error": "Action 'mon.none' not found"}
    assert mon.post("/api/v1/rules", {**rule, "label": ""}).status_code == 400
    # The rule now holds the trigger and the action: deleting the trigger is refused.
    used = mon.delete("/api/v1/triggers/mon.alert")
    assert used.status_code == 409
    assert "rule 'mon.on_alert'" in used.json()["error"]


def test_creates_into_a_synced_pack_name_its_file(api: Api) -> None:
    api.sync_packs()
    for path, body in (
        ("/api/v1/actions", {"ref": "system.a", "pack_ref": "system", "label": "A"}),
        ("/api/v1/triggers", {"ref": "system.t", "pack_ref": "system", "label": "T"}),
    ):
        answer = api.post(path, body)
        assert answer.status_code == 409
        assert answer.json()["details"] == {"path": "system/pack.yaml"}
        assert "system/" in answer.json()["error"]


def test_whole_lists_follow_every_write_including_ones_the_api_did_not_make(mon: Api) -> None:
    assert mon.get("/api/v1/triggers").json()["pagination"]["total_items"] == 1
    assert mon.get("/api/v1/packs").json()["pagination"]["total"] == 1
    mon.post("/api/v1/triggers", {"ref": "mon.b", "pack_ref": "mon", "label": "B"})
    assert mon.get("/api/v1/triggers").json()["pagination"]["total_items"] == 2
    with mon.engine.begin() as conn:  # another writer: the change counter tells the API
        conn.execute(insert(t.trigger).values(ref="direct", label="D"))
        conn.execute(update(t.trigger).where(t.trigger.c.ref == "mon.b").values(enabled=False))
    listed = mon.get("/api/v1/triggers").json()
    assert [x["ref"] for x in listed["data"]] == ["mon.alert", "mon.b", "direct"]
    enabled = mon.get("/api/v1/triggers/enabled").json()["data"]
    assert [x["ref"] for x in enabled] == ["mon.alert", "direct"]
    mon.sync_packs()
    assert mon.get("/api/v1/packs").json()["pagination"]["total"] == 9
