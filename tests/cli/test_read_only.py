"""`diff`, `validate` and `status` never write; foreign and newer schemas are refused clearly;
--db-schema keeps attune-sync's tables in a PostgreSQL schema of their own."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from attune_sync.cli import main
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from cli.helpers import assert_untouched, run


def _stderr(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_and_validate_create_nothing(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _stderr(capsys, "diff", str(bundled), "--database", db_url)
    assert code == 1
    assert "to add, 0 to change, 0 to destroy." in out
    assert "note: " in err
    assert "compared against an empty database" in err
    code, out, _ = _stderr(capsys, "diff", str(bundled), "--database", db_url, "--output", "json")
    assert code == 1
    [note] = json.loads(out)["notes"]
    assert "compared against an empty database" in note["message"]
    code, _, err = _stderr(capsys, "validate", str(bundled), "--database", db_url)
    assert code == 0
    assert "compared against an empty database" in err
    code, _, _ = _stderr(capsys, "status", "--database", db_url)
    assert code == 2
    assert_untouched(db_url)


def _previous_revision() -> str:
    """The revision just before this version's newest."""
    script = ScriptDirectory.from_config(alembic_config())
    previous = script.get_revision(head_revision()).down_revision
    assert isinstance(previous, str)
    return previous


def test_diff_does_not_migrate(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    previous = _previous_revision()
    try:
        upgrade(engine, previous)
        code, out, err = _stderr(capsys, "diff", str(bundled), "--database", db_url)
        # Read as it is (1: changes pending), or, when that schema lacks what this version
        # reads, refused saying apply upgrades it (2); never migrated either way.
        assert code in (1, 2), (out, err)
        assert f"upgrade it to {head_revision()!r}" in err or "upgrades it" in err
        assert "Traceback" not in err
        assert current_revision(engine) == previous
    finally:
        engine.dispose()


def test_sqlite_diff_leaves_the_file_as_it_was(
    bundled: Path, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", sqlite_url)[0] == 0
    database = tmp_path / "attune-sync.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    assert run(capsys, "diff", str(bundled), "--database", sqlite_url)[0] == 0
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_tables_of_the_same_names_are_refused_by_name(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE pack (id INTEGER PRIMARY KEY, name TEXT)"))
            conn.execute(text('CREATE TABLE "trigger" (id INTEGER PRIMARY KEY)'))
            conn.execute(text("INSERT INTO pack VALUES (1, 'theirs')"))
    finally:
        engine.dispose()
    for command, exit_code in (("diff", 2), ("validate", 2), ("apply", 1)):
        code, out, err = _stderr(capsys, command, str(bundled), "--database", db_url)
        assert code == exit_code, (command, out, err)
        assert "already holds tables named pack, trigger that attune-sync did not create" in err
        assert "--db-schema" in err
    engine = make_engine(db_url)
    try:
        assert sorted(inspect(engine).get_table_names()) == ["pack", "trigger"]
    finally:
        engine.dispose()


def test_a_database_of_a_newer_attune_sync_is_refused(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    for argv in (
        ["diff", str(bundled)],
        ["validate", str(bundled)],
        ["apply", str(bundled)],
        ["status"],
    ):
        code, out, err = _stderr(capsys, *argv, "--database", db_url)
        assert code == 2, (argv, out, err)
        assert "is newer than this attune-sync" in err + out
        assert "'0099'" in err + out
        assert "Traceback" not in err


def test_db_schema_keeps_the_tables_apart(
    bundled: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:  # Attune's own table of the same name, in public
            conn.execute(text("CREATE TABLE pack (id INTEGER PRIMARY KEY, name TEXT)"))
        schema = ("--database", pg_url, "--db-schema", "sync")
        assert run(capsys, "diff", str(bundled), *schema)[0] == 1
        assert run(capsys, "apply", str(bundled), *schema)[0] == 0
        assert run(capsys, "diff", str(bundled), *schema)[0] == 0
        code, out = run(capsys, "status", *schema)
        assert code == 0, out
        inspector = inspect(engine)
        assert inspector.get_table_names() == ["pack"]
        assert "alembic_version" in inspector.get_table_names(schema="sync")
        with engine.connect() as conn:
            assert len(conn.execute(text("SELECT ref FROM sync.pack")).all()) == 8
            assert conn.execute(text("SELECT name FROM public.pack")).all() == []
    finally:
        engine.dispose()


def test_db_schema_needs_postgresql(
    bundled: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _stderr(
        capsys, "diff", str(bundled), "--database", sqlite_url, "--db-schema", "sync"
    )
    assert code == 2
    assert "needs PostgreSQL" in err
    assert_untouched(sqlite_url)


@pytest.mark.parametrize("name", ["Sync", "1sync", "a-b", "x" * 64, ""])
def test_a_bad_schema_name_is_a_usage_error(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["diff", "packs", "--db-schema", name])
    assert caught.value.code == 64
    assert "--db-schema" in capsys.readouterr().err
    if name:
        monkeypatch.setenv("ATTUNE_SYNC_DB_SCHEMA", name)
        with pytest.raises(SystemExit) as caught:
            main(["diff", "packs"])
        assert caught.value.code == 64
        assert "ATTUNE_SYNC_DB_SCHEMA" in capsys.readouterr().err


def test_downgraded_database_reads_after_the_note(
    bundled: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", str(bundled), "--database", pg_url)[0] == 0
    engine = make_engine(pg_url)
    try:
        downgrade(engine, _previous_revision())
    finally:
        engine.dispose()
    code, out, err = _stderr(capsys, "diff", str(bundled), "--database", pg_url)
    assert code in (0, 2), (out, err)  # read as it is, or refused saying apply upgrades it
    assert f"revision {_previous_revision()!r}" in err, err


def test_an_old_schema_that_cannot_be_read_says_apply_upgrades_it(
    bundled: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")  # before the pack format's columns
    finally:
        engine.dispose()
    code, out, err = _stderr(capsys, "diff", str(bundled), "--database", db_url)
    assert code == 2, (out, err)
    assert "older than this attune-sync" in err
    assert "`attune-sync apply` upgrades it" in err
    assert "Traceback" not in err
