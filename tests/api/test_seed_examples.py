"""Every curl example of both seed documents, sent as written (with a token header added).

Two settings: an empty database, where the seeds' own responses come back (prerequisites
the examples assume are created through the API first), and the bundled packs applied,
where reads work and writes to the synced packs are refused with the file to edit.
"""

from __future__ import annotations

from typing import Any

from . import seeds
from .conftest import WRITE_TOKEN, Api
from .curl import seed_body, send

VOLATILE = ("id", "created", "updated")


def _same(data: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: v for k, v in data.items() if k not in VOLATILE} == expected


def _run(api: Api, command: str, **variables: str) -> Any:
    return send(api.client, command, WRITE_TOKEN, **variables)


def _prerequisite(api: Api, path: str, body: dict[str, Any]) -> None:
    answer = api.post(path, body)
    assert answer.status_code == 201, answer.text


AWS_EC2 = {
    "ref": "aws.ec2",
    "label": "AWS EC2 Pack",
    "description": "Actions and triggers for AWS EC2 management",
    "version": "1.0.0",
    "conf_schema": {
        "type": "object",
        "properties": {"region": {"type": "string"}, "access_key_id": {"type": "string"}},
    },
    "config": {"region": "us-east-1"},
    "meta": {"author": "Attune Team"},
    "tags": ["aws", "ec2", "cloud"],
    "runtime_deps": [1],
    "is_standard": False,
}


def test_pack_seed_examples_on_an_empty_database(api: Api) -> None:
    listed = _run(api, seeds.LIST_PACKS)
    assert listed.status_code == 200
    assert listed.json() == {
        "data": [],
        "pagination": {"page": 1, "per_page": 20, "total": 0, "total_pages": 0},
    }
    _prerequisite(api, "/api/v1/packs", AWS_EC2)
    got = _run(api, seeds.GET_PACK)
    assert got.status_code == 200
    _same(got.json()["data"], AWS_EC2)

    created = _run(api, seeds.CREATE_PACK)
    assert created.status_code == 201
    assert created.json()["message"] == "Pack created successfully"
    _same(
        created.json()["data"],
        {
            **seed_body(seeds.CREATE_PACK),
            "conf_schema": None,
            "config": None,
            "meta": None,
            "runtime_deps": [],
        },
    )
    updated = _run(api, seeds.UPDATE_PACK)
    assert updated.status_code == 200
    assert updated.json()["message"] == "Pack updated successfully"
    assert updated.json()["data"]["version"] == "1.1.0"
    assert updated.json()["data"]["created"] == created.json()["data"]["created"]
    deleted = _run(api, seeds.DELETE_PACK)
    assert deleted.status_code == 200
    assert deleted.json() == {
        "success": True,
        "message": "Pack 'slack.notifications' deleted successfully",
    }
    for command in (seeds.PACK_ACTIONS, seeds.PACK_TRIGGERS, seeds.PACK_RULES):
        answer = _run(api, command)
        assert answer.status_code == 200
        assert answer.json()["data"] == []


def test_complete_pack_script_then_listing_script(api: Api) -> None:
    pack = _run(api, seeds.SCRIPT_PACK)
    assert pack.status_code == 201
    assert isinstance(pack.json()["data"]["id"], int)  # the script's `jq -r '.data.id'`
    for command in (seeds.SCRIPT_TRIGGER, seeds.SCRIPT_ACTION, seeds.SCRIPT_RULE):
        answer = _run(api, command)
        assert answer.status_code == 201, answer.text
    listing = [
        _run(api, command, PACK_REF="monitoring.healthcheck") for command in seeds.LISTING_SCRIPT
    ]
    assert all(answer.status_code == 200 for answer in listing)
    assert listing[0].json()["data"]["ref"] == "monitoring.healthcheck"
    assert [a["ref"] for a in listing[1].json()["data"]] == ["monitoring.healthcheck.send_alert"]
    assert [t["ref"] for t in listing[2].json()["data"]] == ["monitoring.healthcheck.endpoint_down"]
    rules = listing[3].json()["data"]
    assert [(r["ref"], r["enabled"]) for r in rules] == [
        ("monitoring.healthcheck.alert_on_down", True)
    ]


def test_trigger_seed_examples_on_an_empty_database(api: Api) -> None:
    base = {"label": "P", "description": "p"}
    for ref in ("myapp", "core", "monitoring", "system"):
        _prerequisite(api, "/api/v1/packs", {"ref": ref, **base})
    for ref in ("system.memory_alert", "system.cpu_alert"):
        _prerequisite(api, "/api/v1/triggers", {"ref": ref, "pack_ref": "system", "label": "A"})
    _prerequisite(
        api,
        "/api/v1/sensors",
        {
            "ref": "monitoring.cpu_sensor",
            "pack_ref": "monitoring",
            "label": "CPU Usage Monitor",
            "description": "Monitors CPU usage",
            "entrypoint": "/sensors/cpu_monitor.py",
            "runtime_ref": "python3",
            "trigger_ref": "system.cpu_alert",
        },
    )
    for command, kind in (
        (seeds.CUSTOM_TRIGGER, "Trigger"),
        (seeds.TIMER_TRIGGER, "Trigger"),
        (seeds.MEMORY_SENSOR, "Sensor"),
    ):
        answer = _run(api, command)
        assert answer.status_code == 201, answer.text
        assert answer.json()["message"] == f"{kind} created successfully"
        sent = seed_body(command)
        data = answer.json()["data"]
        assert {k: data[k] for k in sent} == sent
        assert data["enabled"] is True
        assert isinstance(data["pack"], int)
    sensor = api.get("/api/v1/sensors/monitoring.memory_sensor").json()["data"]
    assert sensor["runtime"] == 2
    assert sensor["runtime_ref"] == "python3"
    assert sensor["trigger_ref"] == "system.memory_alert"
    assert isinstance(sensor["trigger"], int)

    firing = _run(api, seeds.SENSORS_OF_TRIGGER)
    assert firing.status_code == 200
    assert [s["ref"] for s in firing.json()["data"]] == ["monitoring.cpu_sensor"]
    disabled = _run(api, seeds.DISABLE_SENSOR)
    assert disabled.status_code == 200
    assert disabled.json()["message"] == "Sensor disabled successfully"
    assert disabled.json()["data"]["enabled"] is False
    assert "override" not in disabled.json()["data"]  # made through the API: no file owns it


def test_seed_examples_after_applying_the_bundled_packs(api: Api) -> None:
    api.sync_packs()
    assert _run(api, seeds.LIST_PACKS).json()["pagination"]["total"] == 8
    got = _run(api, seeds.GET_PACK).json()["data"]
    assert got["ref"] == "aws.ec2"
    assert got["config"]["region"] == "us-east-1"
    exists = _run(api, seeds.CREATE_PACK)
    assert exists.status_code == 409
    assert exists.json() == {"error": "Pack with ref 'slack.notifications' already exists"}
    for command in (seeds.UPDATE_PACK, seeds.DELETE_PACK):
        refused = _run(api, command)
        assert refused.status_code == 409
        assert refused.json() == {
            "error": "Pack 'slack.notifications' is managed from files; change "
            "slack.notifications/pack.yaml instead",
            "details": {"path": "slack.notifications/pack.yaml"},
        }
    triggers = _run(api, seeds.PACK_TRIGGERS).json()["data"]
    assert [t["ref"] for t in triggers] == ["aws.ec2.instance_state_change"]
    actions = _run(api, seeds.PACK_ACTIONS)
    assert actions.status_code == 200
    assert "aws.ec2.start_instance" in [a["ref"] for a in actions.json()["data"]]
    assert all(
        list(a)
        == ["id", "ref", "pack_ref", "label", "description", "runtime", "created", "updated"]
        for a in actions.json()["data"]
    )
    rules = _run(api, seeds.PACK_RULES)
    assert rules.status_code == 200
    assert all(r["pack_ref"] == "aws.ec2" for r in rules.json()["data"])
    # Creating into a synced pack names the pack's file.
    into = _run(api, seeds.TIMER_TRIGGER)
    assert into.status_code == 409
    assert into.json()["details"] == {"path": "core/pack.yaml"}
    firing = _run(api, seeds.SENSORS_OF_TRIGGER).json()["data"]
    assert [s["ref"] for s in firing] == ["monitoring.cpu_sensor"]
    disabled = _run(api, seeds.DISABLE_SENSOR)
    assert disabled.status_code == 200
    data = disabled.json()["data"]
    assert data["enabled"] is False
    assert data["override"]["enabled"] is False
    assert data["override"]["file_enabled"] is True
    assert data["override"]["set_by"] == "alice"
