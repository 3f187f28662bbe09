"""Issue 10 (content): guards, adoption, secrets and hostile schemas, end to end on SQLite and
PostgreSQL through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.yamlload import MAX_DEPTH
from cli.helpers import rows, run, run_json
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree


def tree(root: Path, packs: int = 3) -> Path:
    files = {}
    for number in range(packs):
        ref = f"p{number}"
        files[f"{ref}/pack.yaml"] = pack_doc(ref)
        files[f"{ref}/triggers/t.yaml"] = trigger_doc()
        files[f"{ref}/triggers/u.yaml"] = trigger_doc()
        files[f"{ref}/sensors/s.yaml"] = sensor_doc(f"{ref}.t")
    return write_tree(root, files)


def test_a_tree_of_bare_pack_yaml_files_deletes_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    for number in range(3):  # a sparse checkout: only pack.yaml survives
        shutil.rmtree(root / f"p{number}" / "triggers")
        shutil.rmtree(root / f"p{number}" / "sensors")
    code, document = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 3
    assert document["changes"] == []
    assert {item["code"] for item in document["held_back"]} == {"pack_emptied"}
    assert len(document["held_back"]) == 9
    assert len(rows(db_url, "trigger")) == 6
    assert len(rows(db_url, "sensor")) == 3
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert out.count("--allow-mass-delete") == 3  # once per pack, not once per object
    code, _ = run(capsys, "apply", str(root), "--database", db_url, "--allow-mass-delete")
    assert code == 0
    assert rows(db_url, "trigger") == {}


def test_mass_delete_reason_is_printed_once(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path / "packs", packs=4)
    assert run(capsys, "apply", str(root), "--database", db_url)[0] == 0
    for number in range(3):
        shutil.rmtree(root / f"p{number}")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 3
    assert out.count("would delete 3 of 4 managed packs") == 1
    assert "  ! 3 changes: would delete 3 of 4 managed packs" in out
    assert len(rows(db_url, "pack")) == 4


def test_an_api_made_pack_is_adopted_only_when_asked(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(t.pack.insert().values(ref="api", label="API", description="theirs"))
            pack_id = conn.execute(t.pack.select().where(t.pack.c.ref == "api")).one().id
            conn.execute(
                t.trigger.insert().values(ref="api.made", pack=pack_id, pack_ref="api", label="M")
            )
    finally:
        engine.dispose()
    root = write_tree(tmp_path / "packs", {"api/pack.yaml": pack_doc("api", "Ours")})
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert "pack 'api' already exists in the database and was not made by attune-sync" in out
    assert "--adopt" in out
    assert rows(db_url, "pack")["api"]["label"] == "API"
    assert "api.made" in rows(db_url, "trigger")
    monkeypatch.setenv("ATTUNE_SYNC_ADOPT", "1")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 0
    assert "(adopted:" in out
    assert rows(db_url, "pack")["api"]["label"] == "Ours"


SECRETS = (
    "conf_schema:\n  type: object\n  additionalProperties: false\n  properties:\n"
    "    creds:\n      type: object\n      maxProperties: 1\n      properties:\n"
    "        pw: {type: string, secret: true}\n"
    "    when: {type: string}\n"
    "  if: {properties: {when: {const: now}}}\n"
    "  then: {properties: {token: {type: string, secret: true}}}\n"
)


def test_secrets_never_reach_output_or_history(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "back\\\\slash\\nSECRET-1"  # YAML double-quoted: a backslash and a newline
    good = pack_doc("s", extra=SECRETS + f'config:\n  creds: {{pw: "{secret}"}}\n')
    root = write_tree(tmp_path / "packs", {"s/pack.yaml": good})
    for argv in (("diff",), ("apply",), ("diff", "--output", "json")):
        code, out = run(capsys, *argv, str(root), "--database", db_url)
        assert "SECRET-1" not in out, argv
        assert "slash" not in out, argv
    stored = rows(db_url, "pack")["s"]["config"]
    assert stored["creds"]["pw"] == "back\\slash\nSECRET-1"  # the database has it in clear
    # creds allows one property: the error is on the object that holds the secret.
    bad = pack_doc("s", extra=SECRETS + f'config:\n  creds: {{pw: "{secret}", other: 1}}\n')
    (root / "s" / "pack.yaml").write_text(bad)
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert "holding secrets" in out
    assert "SECRET-1" not in out
    code, out = run(capsys, "status", "--database", db_url, "--output", "json")
    assert "SECRET-1" not in out
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            history = [json.dumps(row.details) for row in conn.execute(t.sync_run.select())]
    finally:
        engine.dispose()
    assert history
    assert not any("SECRET-1" in details for details in history)


def test_hostile_schemas_make_one_pack_invalid_and_the_rest_sync(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "{a: " * (MAX_DEPTH - 2) + "{}" + "}" * (MAX_DEPTH - 2)
    files = {
        "ok/pack.yaml": pack_doc("ok", extra=f"meta: {deep}\n"),
        "cycle/pack.yaml": pack_doc(
            "cycle",
            extra="conf_schema:\n  $defs: {a: {$ref: '#/$defs/b'}, b: {$ref: '#/$defs/a'}}\n"
            "  $ref: '#/$defs/a'\nconfig: {x: 1}\n",
        ),
        "badre/pack.yaml": pack_doc(
            "badre", extra="conf_schema:\n  properties: {x: {pattern: '('}}\nconfig: {x: a}\n"
        ),
        "remote/pack.yaml": pack_doc(
            "remote", extra="conf_schema:\n  $schema: 'file:///dev/zero'\n"
        ),
        "toodeep/pack.yaml": pack_doc("toodeep", extra="meta: " + "[" * 300 + "]" * 300 + "\n"),
    }
    root = write_tree(tmp_path / "packs", files)
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2
    assert "$ref cycle" in out
    assert "is not a valid regular expression" in out
    assert "unknown $schema" in out
    assert "nested more than" in out
    assert sorted(rows(db_url, "pack")) == ["ok"]
    assert run(capsys, "diff", str(root), "--database", db_url)[0] == 2
    code, out = run(capsys, "validate", str(root))
    assert code == 1
    assert "Traceback" not in out


def test_validate_with_a_database_reports_the_clash_unless_adopt(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(t.pack.insert().values(ref="api", label="API", description="theirs"))
    finally:
        engine.dispose()
    root = write_tree(tmp_path / "packs", {"api/pack.yaml": pack_doc("api")})
    code, out = run(capsys, "validate", str(root), "--database", db_url)
    assert code == 1
    assert "not made by attune-sync" in out
    assert run(capsys, "validate", str(root), "--database", db_url, "--adopt")[0] == 0
