"""`attune-sync apply` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from cli.helpers import copy_bundled, rows, run, run_json, run_with_workers
from core.trees import many_files_tree, pack_doc, sensor_doc, trigger_doc, write_tree


def test_apply_bundled_then_in_sync(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "apply", str(bundled), "--database", db_url)
    assert code == 0
    assert "Apply complete: 32 added, 0 changed, 0 destroyed" in out
    packs, triggers, sensors = (rows(db_url, n) for n in ("pack", "trigger", "sensor"))
    assert (len(packs), len(triggers), len(sensors)) == (8, 13, 6)
    assert triggers["github.pull_request"]["enabled"] is False
    assert sensors["monitoring.disk_space"]["pack_ref"] == "monitoring"
    assert packs["core"]["is_standard"] is True
    actions, rules = rows(db_url, "action"), rows(db_url, "rule")
    assert sorted(actions) == [
        "aws.ec2.start_instance",
        "aws.ec2.stop_instance",
        "monitoring.healthcheck.send_alert",
    ]
    assert rules["aws.ec2.auto_stop_idle"]["action_ref"] == "aws.ec2.stop_instance"
    assert rules["monitoring.healthcheck.alert_on_down"]["trigger_ref"] == (
        "monitoring.healthcheck.endpoint_down"
    )
    assert run(capsys, "diff", str(bundled), "--database", db_url)[0] == 0


def test_apply_twice_changes_nothing(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", db_url)[0] == 0
    before = {n: rows(db_url, n) for n in ("pack", "trigger", "sensor")}
    code, document = run_json(capsys, "apply", str(bundled), "--database", db_url)
    assert code == 0
    assert document["changes"] == []
    assert document["result"] == "noop"
    after = {n: rows(db_url, n) for n in ("pack", "trigger", "sensor")}
    assert after == before
    for name, table in before.items():
        for ref, row in table.items():
            assert after[name][ref]["updated"] == row["updated"], (name, ref)
            assert after[name][ref]["id"] == row["id"]


def test_update_keeps_id_and_created(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    before_t = rows(db_url, "trigger")
    before_p = rows(db_url, "pack")
    path = root / "logs" / "triggers" / "error_found.yaml"
    path.write_text(path.read_text() + "enabled: false\n")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 0
    assert "~ trigger logs.error_found" in out
    assert "    enabled: true → false" in out
    after_t = rows(db_url, "trigger")
    changed, old = after_t["logs.error_found"], before_t["logs.error_found"]
    assert changed["enabled"] is False
    assert changed["id"] == old["id"]
    assert changed["created"] == old["created"]
    assert changed["updated"] > old["updated"]
    untouched = after_t["core.timer"]
    assert untouched == before_t["core.timer"]
    assert rows(db_url, "pack") == before_p


def test_rename_folder_changes_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    before = rows(db_url, "pack")
    (root / "github").rename(root / "gh-renamed")
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 0, out
    assert "No changes" in out
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    assert rows(db_url, "pack") == before
    managed = rows_managed(db_url)
    assert managed["github"] == "gh-renamed"


def rows_managed(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            query = select(t.pack.c.ref, t.sync_managed_pack.c.folder).join(
                t.pack, t.sync_managed_pack.c.pack_id == t.pack.c.id
            )
            return {row.ref: row.folder for row in conn.execute(query)}
    finally:
        engine.dispose()


def test_invalid_pack_exits_2_and_others_are_applied(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    logs = root / "logs" / "pack.yaml"
    logs.write_text(logs.read_text() + "lable: typo\n")
    code, document = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert document["result"] == "invalid"
    assert document["invalid_packs"] == [{"folder": "logs", "ref": "logs", "errors": 1}]
    assert document["errors"][0]["path"] == "logs/pack.yaml"
    packs = rows(db_url, "pack")
    assert sorted(packs) == sorted(
        [
            "aws.ec2",
            "core",
            "github",
            "monitoring",
            "monitoring.healthcheck",
            "slack.notifications",
            "system",
        ]
    )
    assert "logs.error_found" not in rows(db_url, "trigger")


def test_invalid_pack_that_was_applied_stays(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    before = rows(db_url, "sensor")["logs.error_detector"]
    (root / "logs" / "pack.yaml").write_text("ref: logs\nlabel: [broken\n")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert "Plan: 0 to add, 0 to change, 0 to destroy; 1 invalid pack." in out
    assert rows(db_url, "sensor")["logs.error_detector"] == before
    assert "logs" in rows(db_url, "pack")


def test_mass_delete_is_held_back_exit_3(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    for folder in ("core", "system", "github", "logs", "aws.ec2"):
        shutil.rmtree(root / folder)
    # monitoring's sensors fire system triggers: remove that pack too.
    shutil.rmtree(root / "monitoring")
    code, document = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 3
    assert document["result"] == "held_back"
    assert {h["ref"] for h in document["held_back"]} == {
        "core",
        "system",
        "github",
        "logs",
        "aws.ec2",
        "monitoring",
    }
    assert "over the 50% limit" in document["held_back"][0]["reason"]
    assert len(rows(db_url, "pack")) == 8
    code, document = run_json(
        capsys, "apply", str(root), "--database", db_url, "--allow-mass-delete"
    )
    assert code == 0
    assert sorted(rows(db_url, "pack")) == ["monitoring.healthcheck", "slack.notifications"]


def test_held_back_trigger_exit_3(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "a/pack.yaml": pack_doc("a"),
        "a/triggers/t.yaml": trigger_doc(),
        "u/pack.yaml": pack_doc("u"),
        "u/sensors/s.yaml": sensor_doc("a.t"),
        "x/pack.yaml": pack_doc("x"),
    }
    root = write_tree(tmp_path / "packs", files)
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    (root / "a" / "triggers" / "t.yaml").unlink()
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2  # u's sensor now points at a trigger that would vanish
    assert "  ! delete trigger a.t: still used by sensor 'u.s', which stays" in out
    assert "a.t" in rows(db_url, "trigger")


def test_held_back_only_exit_3(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "packs", {"a/pack.yaml": pack_doc("a")})
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    shutil.rmtree(root / "a")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 3
    assert "  ! delete pack a: would delete 1 of 1 managed packs" in out
    assert "a" in rows(db_url, "pack")
    assert run(capsys, "diff", str(root), "--database", db_url)[0] == 1


def test_missing_root_apply_exits_1_db_untouched(
    bundled: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", db_url)[0] == 0
    before = {n: rows(db_url, n) for n in ("pack", "trigger", "sensor")}
    code, document = run_json(capsys, "apply", str(tmp_path / "gone"), "--database", db_url)
    assert code == 1
    assert "does not exist" in document["error"]
    assert "nothing was applied" in document["error"]
    assert {n: rows(db_url, n) for n in ("pack", "trigger", "sensor")} == before
    assert run(capsys, "diff", str(tmp_path / "gone"), "--database", db_url)[0] == 2


def test_apply_records_runs(bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "apply", str(bundled), "--database", db_url)
    assert code == 0
    assert document["result"] == "applied"
    assert document["summary"]["create"] == 32
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.sync_run)).scalar_one() == 1
    finally:
        engine.dispose()


def test_unmanaged_pack_adopted_and_unmanaged_others_kept(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "packs", {"a/pack.yaml": pack_doc("a"), "b/pack.yaml": pack_doc("b")}
    )
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(t.sync_managed_pack.delete())
    finally:
        engine.dispose()
    shutil.rmtree(root / "b")
    # Adoption is asked for: without --adopt the pack is a clash and is left alone.
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert "pack 'a' already exists in the database and was not made by attune-sync" in out
    assert rows_managed(db_url) == {}
    code, out = run(capsys, "apply", str(root), "--database", db_url, "--adopt")
    assert code == 0
    assert "~ pack a  (adopted:" in out
    assert sorted(rows(db_url, "pack")) == ["a", "b"]
    assert rows_managed(db_url) == {"a": "a"}


def _without_times(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        ref: {k: v for k, v in row.items() if k not in ("id", "created", "updated")}
        for ref, row in table.items()
    }


def test_a_cold_apply_parsed_on_every_core_applies_what_one_process_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = many_files_tree(tmp_path / "packs")
    results = {}
    for workers, expected in (("0", []), ("2", [320])):
        url = f"sqlite:///{tmp_path / f'workers{workers}.db'}"
        argv = ("apply", str(packs), "--database", url, "--output", "json")
        code, out, ahead = run_with_workers(capsys, workers, *argv)
        assert ahead == expected
        tables = {name: _without_times(rows(url, name)) for name in ("pack", "trigger", "sensor")}
        results[workers] = (code, json.loads(out), tables)
    code, document, _ = results["2"]
    assert (code, len(document["invalid_packs"])) == (2, 4)
    assert results["0"] == results["2"]
