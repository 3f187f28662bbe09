"""GitOps-aware writes: refusals naming the file, and the override's whole life with real
syncs in between (the one-shot `sync` and a long-lived Reconciler, as the daemon runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from attune_sync.cli import main
from attune_sync.db import schema as t
from attune_sync.planner import PlanOptions
from attune_sync.reconciler import Reconciler

from .conftest import Api

CPU = "/api/v1/sensors/monitoring.cpu_sensor"


def _enabled(api: Api, ref: str) -> bool:
    with api.engine.connect() as conn:
        return bool(
            conn.execute(select(t.sensor.c.enabled).where(t.sensor.c.ref == ref)).scalar_one()
        )


def _overrides(api: Api) -> list[tuple[str, str, bool, bool]]:
    o = t.sync_override
    with api.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(o.c.kind, o.c.ref, o.c.enabled, o.c.file_enabled))
        ]


def _set_file_enabled(path: Path, enabled: bool) -> None:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("enabled:")]
    path.write_text("\n".join([*lines, f"enabled: {str(enabled).lower()}"]) + "\n")


@pytest.mark.parametrize(
    ("method", "path", "body", "file"),
    [
        ("PUT", CPU, {"label": "x"}, "monitoring/sensors/cpu_sensor.yaml"),
        ("DELETE", CPU, None, "monitoring/sensors/cpu_sensor.yaml"),
        (
            "PUT",
            "/api/v1/triggers/system.cpu_alert",
            {"label": "x"},
            "system/triggers/cpu_alert.yaml",
        ),
        ("DELETE", "/api/v1/triggers/system.cpu_alert", None, "system/triggers/cpu_alert.yaml"),
        ("PUT", "/api/v1/packs/aws.ec2", {"label": "x"}, "aws.ec2/pack.yaml"),
        ("DELETE", "/api/v1/packs/aws.ec2", None, "aws.ec2/pack.yaml"),
        # A sensor whose ref comes from its file name: the recorded file, not a guess.
        (
            "DELETE",
            "/api/v1/sensors/monitoring.disk_space",
            None,
            "monitoring/sensors/disk_space.yaml",
        ),
    ],
)
def test_managed_objects_are_refused_with_their_file(
    api: Api, method: str, path: str, body: object, file: str
) -> None:
    api.sync_packs()
    answer = api.client.request(method, path, json=body)
    assert answer.status_code == 409
    assert answer.json()["details"] == {"path": file}
    assert answer.json()["error"].endswith(f"is managed from files; change {file} instead")


def test_the_path_follows_a_renamed_folder_and_pack_yml(api: Api) -> None:
    (api.packs / "system").rename(api.packs / "alerts")
    (api.packs / "aws.ec2" / "pack.yaml").rename(api.packs / "aws.ec2" / "pack.yml")
    api.sync_packs()
    trigger = api.put("/api/v1/triggers/system.cpu_alert", {"label": "x"})
    assert trigger.json()["details"] == {"path": "alerts/triggers/cpu_alert.yaml"}
    pack = api.delete("/api/v1/packs/aws.ec2")
    assert pack.json()["details"] == {"path": "aws.ec2/pack.yml"}


def test_unmanaged_objects_beside_managed_ones_are_never_drift(api: Api) -> None:
    api.sync_packs()
    reconciler = Reconciler(api.engine, str(api.packs), PlanOptions())
    reconciler.run()
    assert (
        api.post("/api/v1/packs", {"ref": "adhoc", "label": "A", "description": "d"}).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/triggers", {"ref": "adhoc.t", "pack_ref": "adhoc", "label": "T"}
        ).status_code
        == 201
    )
    assert api.post(f"{CPU}/disable").status_code == 200
    outcome = reconciler.run()
    assert outcome.plan.changes == []
    assert outcome.compared_all  # the change counter made the run compare everything
    assert outcome.drift == []
    assert api.get("/api/v1/triggers/adhoc.t").status_code == 200


def test_override_life(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.sync_packs()
    reconciler = Reconciler(api.engine, str(api.packs), PlanOptions())
    reconciler.run()
    answer = api.post(f"{CPU}/disable")
    assert answer.status_code == 200
    override = answer.json()["data"]["override"]
    assert (override["enabled"], override["file_enabled"], override["set_by"]) == (
        False,
        True,
        "alice",
    )
    assert api.get(CPU).json()["data"]["override"] == override

    # Syncs keep it, whether nothing changed or another field of the same file did.
    assert reconciler.run().plan.changes == []
    assert _enabled(api, "monitoring.cpu_sensor") is False
    source = api.packs / "monitoring" / "sensors" / "cpu_sensor.yaml"
    source.write_text(source.read_text().replace("label: CPU Usage Monitor", "label: CPU Monitor"))
    plan = reconciler.run().plan
    assert [(c.ref, [f.field for f in c.fields]) for c in plan.changes] == [
        ("monitoring.cpu_sensor", ["label"])
    ]
    assert _enabled(api, "monitoring.cpu_sensor") is False
    assert [o.ref for o in plan.overrides_kept] == ["monitoring.cpu_sensor"]

    # diff, status and `override list` show it.
    db = str(api.engine.url.render_as_string(hide_password=False))
    capsys.readouterr()
    assert main(["diff", str(api.packs), "--database", db]) == 0
    assert "disabled by alice" in capsys.readouterr().out
    main(["status", "--database", db, "--output", "json"])
    status = json.loads(capsys.readouterr().out)
    assert [o["ref"] for o in status["overrides"]] == ["monitoring.cpu_sensor"]
    assert main(["override", "list", "--database", db, "--output", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["overrides"]
    assert [(o["kind"], o["ref"], o["enabled"]) for o in listed] == [
        ("sensor", "monitoring.cpu_sensor", False)
    ]

    # The file's author changes `enabled`: the override ends and the file applies.
    _set_file_enabled(source, False)
    plan = reconciler.run().plan
    assert plan.ended_overrides == [("sensor", "monitoring.cpu_sensor")]
    assert _overrides(api) == []
    _set_file_enabled(source, True)
    reconciler.run()
    assert _enabled(api, "monitoring.cpu_sensor") is True


def test_override_clear_puts_the_file_value_back(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    api.sync_packs()
    api.post("/api/v1/triggers/system.cpu_alert/disable")
    db = str(api.engine.url.render_as_string(hide_password=False))
    assert main(["override", "clear", "trigger", "system.cpu_alert", "--database", db]) == 0
    assert "enabled again" in capsys.readouterr().out
    assert api.get("/api/v1/triggers/system.cpu_alert").json()["data"]["enabled"] is True
    assert "override" not in api.get("/api/v1/triggers/system.cpu_alert").json()["data"]
    assert main(["override", "clear", "trigger", "system.cpu_alert", "--database", db]) == 1
    assert api.sync_packs().plan.changes == []


def test_setting_the_file_value_again_ends_the_override(api: Api) -> None:
    api.sync_packs()
    api.post(f"{CPU}/disable")
    assert len(_overrides(api)) == 1
    back = api.post(f"{CPU}/enable").json()["data"]
    assert back["enabled"] is True
    assert "override" not in back
    assert _overrides(api) == []


def test_put_of_enabled_alone_on_a_managed_sensor_is_an_override(api: Api) -> None:
    api.sync_packs()
    answer = api.put(CPU, {"enabled": False})
    assert answer.status_code == 200
    assert answer.json()["data"]["override"]["enabled"] is False
    assert api.sync_packs().plan.changes == []
    assert _enabled(api, "monitoring.cpu_sensor") is False


def test_an_override_ends_with_its_object(api: Api) -> None:
    api.sync_packs()
    api.post(f"{CPU}/disable")
    (api.packs / "monitoring" / "sensors" / "cpu_sensor.yaml").unlink()
    api.sync_packs()
    assert _overrides(api) == []


def test_a_disabled_file_object_enabled_through_the_api(api: Api) -> None:
    api.sync_packs()
    # github.pull_request ships with enabled: false.
    answer = api.post("/api/v1/triggers/github.pull_request/enable")
    assert answer.json()["data"]["override"] == {
        **answer.json()["data"]["override"],
        "enabled": True,
        "file_enabled": False,
    }
    assert api.sync_packs().plan.changes == []
    assert api.get("/api/v1/triggers/github.pull_request").json()["data"]["enabled"] is True


def test_a_sensor_fires_every_trigger_it_lists(api: Api) -> None:
    folder = api.packs / "multi"
    (folder / "triggers").mkdir(parents=True)
    (folder / "sensors").mkdir()
    (folder / "pack.yaml").write_text("ref: multi\nlabel: Multi\ndescription: d\n")
    for name in ("first", "second"):
        (folder / "triggers" / f"{name}.yaml").write_text(f"label: {name}\n")
    (folder / "sensors" / "watch.yaml").write_text(
        "label: Watch\ndescription: d\nentry_point: w.py\nrunner_type: python3\n"
        "trigger_types: [multi.first, multi.second]\n"
    )
    outcome = api.sync_packs()
    assert outcome.plan.invalid == [], outcome.plan.invalid
    for trigger in ("multi.first", "multi.second"):
        firing = api.get(f"/api/v1/triggers/{trigger}/sensors").json()["data"]
        assert [s["ref"] for s in firing] == ["multi.watch"], trigger


def test_a_toggle_through_the_api_ends_the_settled_shortcut(api: Api) -> None:
    """The API's writes are counted like anyone's: a fresh diff or apply plans again."""
    from attune_sync.db.reading import open_for_reading
    from attune_sync.shortcut import settled_plan

    def shortcut() -> object:
        database = open_for_reading(api.engine.url.render_as_string(hide_password=False))
        try:
            return settled_plan(database, str(api.packs), PlanOptions())
        finally:
            database.dispose()

    assert api.sync_packs().in_sync
    assert shortcut() is not None
    assert api.post(f"{CPU}/disable").status_code == 200
    assert shortcut() is None
    outcome = api.sync_packs()
    assert "settled" not in outcome.timings
    assert [o.ref for o in outcome.plan.overrides_kept] == ["monitoring.cpu_sensor"]
    assert not _enabled(api, "monitoring.cpu_sensor")
    assert shortcut() is None  # an override in force is not a settled state
