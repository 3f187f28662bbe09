"""Rows left behind by a delete without its cascade (the sqlite3 shell runs with foreign keys
off; PostgreSQL with session_replication_role = replica) no longer break a pack forever."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from attune_sync.cli import main
from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from cli.helpers import rows, run_json
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree


def _tree(root: Path) -> Path:
    return write_tree(
        root,
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": trigger_doc(),
            "p/sensors/s.yaml": sensor_doc("p.t"),
        },
    )


def _without_cascade(db_url: str, statement: str) -> None:
    """Run `statement` the way a person with a shell would, foreign keys not enforced."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database))  # the sqlite3 shell's default: FKs off
        conn.execute(statement)
        conn.commit()
        conn.close()
        return
    engine = make_engine(db_url)
    try:
        with engine.begin() as db:
            db.exec_driver_sql("SET LOCAL session_replication_role = replica")
            db.execute(text(statement))
    finally:
        engine.dispose()


def _count(db_url: str, table: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(t.metadata.tables[table])
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_pack_deleted_without_its_cascade_is_recreated(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "packs")
    assert run_json(capsys, "apply", str(root), "--database", db_url)[0] == 0
    old_trigger = rows(db_url, "trigger")["p.t"]["id"]
    _without_cascade(db_url, "DELETE FROM pack")
    # Before: "trigger 'p.t' already exists ... belongs to no pack", the pack invalid forever.
    code, plan = run_json(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert plan["invalid_packs"] == []
    assert sorted(c["ref"] for c in plan["changes"]) == ["p", "p.s", "p.t"]
    code, applied = run_json(capsys, "apply", str(root), "--database", db_url)
    assert (code, applied["result"]) == (0, "applied")
    assert rows(db_url, "trigger")["p.t"]["id"] != old_trigger
    assert (_count(db_url, "trigger"), _count(db_url, "sensor")) == (1, 1)
    assert _count(db_url, "sync_managed_pack") == 1
    code, again = run_json(capsys, "apply", str(root), "--database", db_url)
    assert (code, again["result"]) == (0, "noop")


def test_leftovers_of_a_pack_gone_from_the_tree_are_removed(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "packs")
    write_tree(root, {"q/pack.yaml": pack_doc("q")})
    assert run_json(capsys, "apply", str(root), "--database", db_url)[0] == 0
    _without_cascade(db_url, "DELETE FROM pack WHERE ref = 'p'")
    shutil.rmtree(root / "p")
    code, applied = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 0, applied
    assert (_count(db_url, "trigger"), _count(db_url, "sensor")) == (0, 0)
    assert _count(db_url, "sync_managed_pack") == 1  # q's


def test_a_sensor_whose_trigger_row_vanished_is_recreated(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "packs")
    assert run_json(capsys, "apply", str(root), "--database", db_url)[0] == 0
    _without_cascade(db_url, 'DELETE FROM "trigger"')
    code, applied = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 0, applied
    assert sorted(c["ref"] for c in applied["changes"]) == ["p.s", "p.t"]
    sensor = rows(db_url, "sensor")["p.s"]
    assert sensor["trigger"] == rows(db_url, "trigger")["p.t"]["id"]


def test_a_leftover_still_used_elsewhere_is_kept_and_explained(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "packs")
    write_tree(root, {"q/pack.yaml": pack_doc("q"), "q/sensors/uses.yaml": sensor_doc("p.t")})
    assert run_json(capsys, "apply", str(root), "--database", db_url)[0] == 0
    _without_cascade(db_url, "DELETE FROM pack WHERE ref = 'p'")
    shutil.rmtree(root / "p")
    capsys.readouterr()
    code = main(["apply", str(root), "--database", db_url, "--log-format", "json"])
    # q's sensor still needs p.t: the leftover stays, reported with the fix; nothing crashes.
    assert code == 0
    assert "another pack's sensor or rule still uses it" in capsys.readouterr().err
    assert "p.t" in rows(db_url, "trigger")
    assert "q.uses" in rows(db_url, "sensor")
