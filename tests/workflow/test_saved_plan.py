"""`diff --out PLAN` and `apply --plan PLAN` against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from attune_sync.db.engine import make_engine
from attune_sync.saved_plan import Fingerprint, database_moved, tree_moved
from cli.helpers import BUNDLED, copy_bundled, rows, run, run_json
from core.trees import pack_doc, trigger_doc, write_tree

SECRET = "tok-SECRET-123"
SECRET_PACK = (
    "conf_schema:\n  type: object\n  properties:\n    token:\n      type: string\n"
    f"      secret: true\nconfig:\n  token: {SECRET}\n  region: eu\n"
)


def _tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "packs",
        {
            "s/pack.yaml": pack_doc("s", extra=SECRET_PACK),
            "s/triggers/fired.yaml": trigger_doc("Fired"),
        },
    )


def test_saved_plan_applies_exactly_and_holds_no_secret(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    plan_file = tmp_path / "plan.json"
    code, out = run(capsys, "diff", str(root), "--database", db_url, "--out", str(plan_file))
    assert code == 1  # changes pending, as without --out
    assert "+ pack s" in out
    saved = plan_file.read_text()
    assert SECRET not in saved
    document = json.loads(saved)
    assert document["plan"]["summary"]["create"] == 2
    assert document["fingerprint"]["packs"].keys() == {"s"}

    code, out = run(capsys, "apply", str(root), "--database", db_url, "--plan", str(plan_file))
    assert code == 0, out
    assert "Apply complete (saved plan" in out
    assert SECRET not in out
    # The values came from the tree: the secret is stored in clear where it belongs.
    assert rows(db_url, "pack")["s"]["config"] == {"token": SECRET, "region": "eu"}
    assert set(rows(db_url, "trigger")) == {"s.fired"}
    assert run(capsys, "diff", str(root), "--database", db_url)[0] == 0


def test_saved_plan_is_refused_when_a_pack_changed(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    plan_file = tmp_path / "plan.json"
    run(capsys, "diff", str(root), "--database", db_url, "--out", str(plan_file))
    (root / "s" / "triggers" / "fired.yaml").write_text(trigger_doc("Fired twice"))
    code, document = run_json(
        capsys, "apply", str(root), "--database", db_url, "--plan", str(plan_file)
    )
    assert code == 1
    assert "stale" in document["error"]
    assert "the files of pack s changed" in document["error"]
    assert rows(db_url, "pack") == {}


def test_saved_plan_is_refused_when_the_database_moved(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    (root / "core" / "triggers" / "timer.yaml").write_text(trigger_doc("Cron timer"))
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "diff", str(root), "--database", db_url, "--out", str(plan_file))[0] == 1
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # someone edits a row behind the sync's back
            conn.execute(text("UPDATE trigger SET label = 'Changed' WHERE ref = 'core.event'"))
    finally:
        engine.dispose()
    code, answer = run_json(
        capsys, "apply", str(root), "--database", db_url, "--plan", str(plan_file)
    )
    assert code == 1
    assert "the database was written since the plan" in answer["error"]
    assert "the rows the plan was made from differ" in answer["error"]
    assert rows(db_url, "trigger")["core.timer"]["label"] == "Timer"


def test_a_saved_plan_applies_once(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    run(capsys, "diff", str(BUNDLED), "--database", db_url, "--out", str(plan_file))
    argv = ("apply", str(BUNDLED), "--database", db_url, "--plan", str(plan_file))
    assert run(capsys, *argv)[0] == 0
    code, document = run_json(capsys, *argv)
    assert code == 1
    # Planned against a database without tables: the first apply created them.
    assert "had no attune-sync tables when the plan was made" in document["error"]


def test_an_edited_plan_file_is_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    plan_file = tmp_path / "plan.json"
    run(capsys, "diff", str(root), "--database", db_url, "--out", str(plan_file))
    document = json.loads(plan_file.read_text())
    document["plan"]["changes"].pop()
    plan_file.write_text(json.dumps(document))
    code, answer = run_json(
        capsys, "apply", str(root), "--database", db_url, "--plan", str(plan_file)
    )
    assert code == 1
    assert "differs from the saved one" in answer["error"]
    assert rows(db_url, "pack") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the plan file"),
        ("not json", "is not a plan file (not JSON"),
        ('{"format": "terraform"}', "expected format 'attune-sync-plan/1'"),
    ],
)
def test_a_bad_plan_file_is_a_clear_error(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    plan_file = tmp_path / "plan.json"
    if content is not None:
        plan_file.write_text(content)
    code, answer = run_json(
        capsys, "apply", str(BUNDLED), "--database", sqlite_url, "--plan", str(plan_file)
    )
    assert code == 1
    assert message in answer["error"]
    assert "nothing was applied" in answer["error"]


def test_saved_plan_keeps_its_deletion_guard(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f"{n}/pack.yaml": pack_doc(n) for n in ("a", "b", "c")}
    root = write_tree(tmp_path / "packs", files)
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    for name in ("a", "b"):
        (root / name / "pack.yaml").unlink()
        (root / name).rmdir()
    plan_file = tmp_path / "plan.json"
    code, _ = run(capsys, "diff", str(root), "--database", db_url, "--out", str(plan_file))
    assert code == 1
    # The plan was made with the guard on: --allow-mass-delete at apply time cannot widen it.
    argv = ("apply", str(root), "--database", db_url, "--plan", str(plan_file))
    code, _ = run(capsys, *argv, "--allow-mass-delete")
    assert code == 3
    assert set(rows(db_url, "pack")) == {"a", "b", "c"}


def test_a_plan_file_that_cannot_be_written_is_a_clear_error(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "plan.json"
    code, answer = run_json(
        capsys, "diff", str(BUNDLED), "--database", sqlite_url, "--out", str(target)
    )
    assert code == 2
    assert answer["error"] == f"cannot write the plan file {target}: No such file or directory"


def test_what_moved_is_named_per_pack_and_per_invalid_folder() -> None:
    saved = Fingerprint({"a": "1", "b": "2"}, {"x": "p"}, "tree", 5, "rows").as_json()
    now = Fingerprint({"a": "1", "b": "3", "c": "4"}, {"x": "q"}, "other", 5, "rows")
    assert tree_moved(saved, now) == [
        "the files of pack b changed",
        "pack c is new or newly valid in the tree",
        "the problems of invalid folder x/ changed",
    ]
    assert database_moved(saved, now) == []
    moved = Fingerprint({}, {}, "tree", 6, "other")
    assert database_moved(saved, moved) == [
        "the database was written since the plan (change counter 5 → 6)",
        "the rows the plan was made from differ",
    ]
    assert tree_moved(saved, Fingerprint({"a": "1"}, {"x": "p"}, "t", 5, "rows")) == [
        "pack b is no longer a valid pack in the tree"
    ]
