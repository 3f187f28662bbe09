"""`attune-sync diff` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.helpers import assert_untouched, copy_bundled, rows, run, run_json, run_with_workers
from core.trees import many_files_tree, pack_doc, trigger_doc, write_tree


def test_diff_on_empty_db_lists_every_object(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "diff", str(bundled), "--database", db_url)
    assert code == 1
    lines = out.splitlines()
    packs = [line for line in lines if line.startswith("+ pack ")]
    triggers = [line for line in lines if line.startswith("+ trigger ")]
    sensors = [line for line in lines if line.startswith("+ sensor ")]
    assert (len(packs), len(triggers), len(sensors)) == (8, 13, 6)
    assert "+ trigger core.manual" in lines
    assert "+ sensor monitoring.disk_space" in lines
    assert lines[-1] == "Plan: 32 to add, 0 to change, 0 to destroy."
    # A diff never writes: not even the schema (issue 10), let alone a row.
    assert_untouched(db_url)


def test_diff_json_on_empty_db(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, "diff", str(bundled), "--database", db_url)
    assert code == 1
    kinds = [(c["action"], c["kind"]) for c in document["changes"]]
    assert kinds.count(("create", "pack")) == 8
    assert kinds.count(("create", "trigger")) == 13
    assert kinds.count(("create", "sensor")) == 6
    aws = next(c for c in document["changes"] if c["ref"] == "aws.ec2")
    assert aws["fields"]["runtime_deps"] == ["python3"]


def test_diff_after_apply_is_empty(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", db_url)[0] == 0
    code, out = run(capsys, "diff", str(bundled), "--database", db_url)
    assert code == 0
    assert out.splitlines() == [
        "No changes: the database matches the packs folder.",
        "Plan: 0 to add, 0 to change, 0 to destroy.",
    ]


def test_diff_json_update_has_old_and_new(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    timer = root / "core" / "triggers" / "timer.yaml"
    timer.write_text(timer.read_text().replace("label: Timer", "label: Cron timer"))
    code, document = run_json(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert document["changes"] == [
        {
            "action": "update",
            "kind": "trigger",
            "ref": "core.timer",
            "pack_ref": "core",
            "fields": [{"field": "label", "old": "Timer", "new": "Cron timer"}],
        }
    ]
    assert rows(db_url, "trigger")["core.timer"]["label"] == "Timer"


def test_secrets_masked_in_diff_text_and_json(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        "conf_schema:\n  type: object\n  properties:\n    token:\n      type: string\n"
        "      secret: true\nconfig:\n  token: tok-SECRET-123\n  region: eu\n"
    )
    root = write_tree(tmp_path / "packs", {"s/pack.yaml": pack_doc("s", extra=extra)})
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert "tok-SECRET-123" not in out
    assert 'config: {"region": "eu", "token": "********"}' in out
    code, document = run_json(capsys, "diff", str(root), "--database", db_url)
    assert "tok-SECRET-123" not in str(document)
    assert document["changes"][0]["fields"]["config"]["token"] == "********"
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    assert rows(db_url, "pack")["s"]["config"]["token"] == "tok-SECRET-123"
    (root / "s" / "pack.yaml").write_text(
        pack_doc("s", extra=extra.replace("tok-SECRET-123", "tok-NEW-456"))
    )
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert "SECRET" not in out
    assert "NEW-456" not in out
    assert (
        '    config: {"region": "eu", "token": "********"} → {"region": "eu", "token": "********"}'
        in out
    )


def test_diff_of_missing_root_is_trouble_and_changes_nothing(
    bundled: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", db_url)[0] == 0
    code, document = run_json(capsys, "diff", str(tmp_path / "gone"), "--database", db_url)
    assert code == 2
    assert "does not exist" in document["error"]
    assert "nothing was compared" in document["error"]


def test_diff_with_invalid_pack_exits_2(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "packs",
        {"a/pack.yaml": pack_doc("a"), "b/pack.yaml": pack_doc("b", extra="lable: x\n")},
    )
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 2
    assert "+ pack a" in out
    assert "✗ pack 'b' in b/ is invalid and stays as it is:" in out
    assert (
        # Issue 10: an unknown key's column points at the key (it pointed at the value).
        "b/pack.yaml:4:1: error: lable: unknown field 'lable' (hint: did you mean `label`?)" in out
    )


def test_diff_shows_cascade_of_pack_delete(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f"{n}/pack.yaml": pack_doc(n) for n in ("a", "b", "c")}
    files["a/triggers/t.yaml"] = trigger_doc()
    root = write_tree(tmp_path / "packs", files)
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    (root / "a" / "triggers" / "t.yaml").unlink()
    (root / "a" / "triggers").rmdir()
    (root / "a" / "pack.yaml").unlink()
    (root / "a").rmdir()
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert "- pack a  (with 1 trigger)" in out
    assert out.splitlines()[-1] == "Plan: 0 to add, 0 to change, 1 to destroy."


def test_a_cold_diff_parsed_on_every_core_plans_what_one_process_plans(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = many_files_tree(tmp_path / "packs")
    argv = ("diff", str(packs), "--database", db_url, "--output", "json")
    alone = run_with_workers(capsys, "0", *argv)
    assert alone[2] == []
    assert run_with_workers(capsys, "2", *argv) == (*alone[:2], [320])
    assert_untouched(db_url)
