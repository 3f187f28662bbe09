"""Packs: every endpoint and status code of the Pack Management API."""

from __future__ import annotations

import re
import time

from sqlalchemy import insert, select

from attune_sync.db import schema as t

from .conftest import Api

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

SLACK = {
    "ref": "slack.notifications",
    "label": "Slack Notifications Pack",
    "description": "Actions for sending Slack notifications",
    "version": "1.0.0",
    "tags": ["slack", "notifications"],
    "is_standard": False,
}


def test_create_answers_the_full_shape_with_201(api: Api) -> None:
    answer = api.post("/api/v1/packs", SLACK)
    assert answer.status_code == 201
    body = answer.json()
    assert body["message"] == "Pack created successfully"
    data = body["data"]
    assert list(data) == [
        "id",
        "ref",
        "label",
        "description",
        "version",
        "conf_schema",
        "config",
        "meta",
        "tags",
        "runtime_deps",
        "is_standard",
        "created",
        "updated",
    ]
    assert data["conf_schema"] is None
    assert data["config"] is None
    assert data["meta"] is None
    assert data["runtime_deps"] == []
    assert data["tags"] == ["slack", "notifications"]
    assert ISO_Z.match(data["created"])
    assert data["created"] == data["updated"]
    assert isinstance(data["id"], int)


def test_create_twice_is_a_409_in_the_seed_shape(api: Api) -> None:
    assert api.post("/api/v1/packs", SLACK).status_code == 201
    again = api.post("/api/v1/packs", SLACK)
    assert again.status_code == 409
    assert again.json() == {"error": "Pack with ref 'slack.notifications' already exists"}


def test_get_list_and_404(api: Api) -> None:
    api.post("/api/v1/packs", SLACK)
    api.post("/api/v1/packs", {**SLACK, "ref": "other", "runtime_deps": [1, 2]})
    one = api.get("/api/v1/packs/other").json()["data"]
    assert one["runtime_deps"] == [1, 2]
    listing = api.get("/api/v1/packs").json()
    assert [p["ref"] for p in listing["data"]] == ["slack.notifications", "other"]
    assert set(listing["data"][0]) == {
        "id",
        "ref",
        "label",
        "description",
        "version",
        "tags",
        "is_standard",
        "created",
        "updated",
    }
    assert listing["pagination"] == {"page": 1, "per_page": 50, "total": 2, "total_pages": 1}
    missing = api.get("/api/v1/packs/nonexistent.pack")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Pack 'nonexistent.pack' not found"}


def test_update_moves_updated_only_on_a_real_change(api: Api) -> None:
    created = api.post("/api/v1/packs", SLACK).json()["data"]
    time.sleep(1.05)  # timestamps are shown to the second
    same = api.put("/api/v1/packs/slack.notifications", {"version": "1.0.0"})
    assert same.status_code == 200
    assert same.json()["data"]["updated"] == created["updated"]
    changed = api.put(
        "/api/v1/packs/slack.notifications",
        {"version": "1.1.0", "description": "Enhanced Slack notifications with rich formatting"},
    )
    assert changed.status_code == 200
    body = changed.json()
    assert body["message"] == "Pack updated successfully"
    assert body["data"]["version"] == "1.1.0"
    assert body["data"]["created"] == created["created"]
    assert body["data"]["updated"] > created["updated"]
    assert api.put("/api/v1/packs/ghost", {"version": "1.0.0"}).status_code == 404


def test_update_cannot_change_ref(api: Api) -> None:
    api.post("/api/v1/packs", SLACK)
    answer = api.put("/api/v1/packs/slack.notifications", {"ref": "x"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Validation failed",
        "details": {"ref": ["Cannot be changed by an update"]},
    }


def test_delete_cascades_to_every_component(api: Api) -> None:
    api.post("/api/v1/packs", SLACK)
    api.post(
        "/api/v1/triggers",
        {"ref": "slack.notifications.t", "pack_ref": "slack.notifications", "label": "T"},
    )
    api.post(
        "/api/v1/sensors",
        {
            "ref": "slack.notifications.s",
            "pack_ref": "slack.notifications",
            "label": "S",
            "description": "d",
            "entrypoint": "s.py",
            "runtime_ref": "python3",
            "trigger_ref": "slack.notifications.t",
        },
    )
    with api.engine.begin() as conn:
        pack_id = conn.execute(select(t.pack.c.id)).scalar_one()
        trigger_id = conn.execute(select(t.trigger.c.id)).scalar_one()
        conn.execute(
            insert(t.action).values(
                ref="slack.notifications.send",
                pack=pack_id,
                pack_ref="slack.notifications",
                label="Send",
                runtime=2,
            )
        )
        action_id = conn.execute(select(t.action.c.id)).scalar_one()
        conn.execute(
            insert(t.rule).values(
                ref="slack.notifications.r",
                pack=pack_id,
                pack_ref="slack.notifications",
                label="R",
                action=action_id,
                action_ref="slack.notifications.send",
                trigger=trigger_id,
                trigger_ref="slack.notifications.t",
            )
        )
    actions = api.get("/api/v1/packs/slack.notifications/actions").json()
    assert actions["data"][0]["runtime"] == 2
    assert list(actions["data"][0]) == [
        "id",
        "ref",
        "pack_ref",
        "label",
        "description",
        "runtime",
        "created",
        "updated",
    ]
    rules = api.get("/api/v1/packs/slack.notifications/rules").json()["data"]
    assert rules[0]["action_ref"] == "slack.notifications.send"
    assert rules[0]["trigger_ref"] == "slack.notifications.t"
    answer = api.delete("/api/v1/packs/slack.notifications")
    assert answer.status_code == 200
    assert answer.json() == {
        "success": True,
        "message": "Pack 'slack.notifications' deleted successfully",
    }
    with api.engine.connect() as conn:
        for table in (t.pack, t.trigger, t.sensor, t.action, t.rule):
            assert conn.execute(select(table.c.id)).all() == []
    assert api.delete("/api/v1/packs/slack.notifications").status_code == 404


def test_delete_refused_while_another_pack_uses_its_trigger(api: Api) -> None:
    api.post("/api/v1/packs", {**SLACK, "ref": "a"})
    api.post("/api/v1/packs", {**SLACK, "ref": "b"})
    api.post("/api/v1/triggers", {"ref": "a.t", "pack_ref": "a", "label": "T"})
    api.post(
        "/api/v1/sensors",
        {
            "ref": "b.s",
            "pack_ref": "b",
            "label": "S",
            "description": "d",
            "entrypoint": "s.py",
            "runtime_ref": "shell",
            "trigger_ref": "a.t",
        },
    )
    answer = api.delete("/api/v1/packs/a")
    assert answer.status_code == 409
    assert "sensor 'b.s'" in answer.json()["error"]
    assert api.get("/api/v1/packs/a").status_code == 200


def test_per_pack_lists_404_for_a_missing_pack(api: Api) -> None:
    for what in ("actions", "triggers", "rules", "sensors"):
        answer = api.get(f"/api/v1/packs/ghost/{what}")
        assert answer.status_code == 404
        assert answer.json() == {"error": "Pack 'ghost' not found"}


def test_empty_component_lists_are_empty_arrays(api: Api) -> None:
    api.post("/api/v1/packs", SLACK)
    for what in ("actions", "triggers", "rules", "sensors"):
        body = api.get(f"/api/v1/packs/slack.notifications/{what}").json()
        assert body["data"] == []
        assert body["pagination"] == {
            "page": 1,
            "page_size": 50,
            "total_items": 0,
            "total_pages": 0,
        }


def test_config_secrets_are_masked_in_answers(api: Api) -> None:
    body = {
        **SLACK,
        "conf_schema": {
            "type": "object",
            "properties": {"token": {"type": "string", "secret": True}},
        },
        "config": {"token": "hunter2"},
    }
    created = api.post("/api/v1/packs", body)
    assert created.status_code == 201, created.text
    assert "hunter2" not in created.text
    assert "hunter2" not in api.get("/api/v1/packs/slack.notifications").text
