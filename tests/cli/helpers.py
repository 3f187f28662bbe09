"""Running the CLI in-process and reading the database back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from attune_sync.cli import main
from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine

BUNDLED = Path(__file__).resolve().parents[2] / "packs"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out = run(capsys, *argv, "--output", "json")
    return code, json.loads(out)


def copy_bundled(dest: Path) -> Path:
    shutil.copytree(BUNDLED, dest, ignore=shutil.ignore_patterns("*.md"))
    return dest


def rows(db_url: str, table: str) -> dict[str, dict[str, Any]]:
    """Every row of `table`, by ref."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            tab = getattr(t, table)
            return {row.ref: dict(row._mapping) for row in conn.execute(select(tab))}
    finally:
        engine.dispose()


def assert_untouched(db_url: str) -> None:
    """Nothing was created: no SQLite file, no PostgreSQL table or schema beyond the default."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert not Path(str(url.database)).exists()
        return
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            assert inspector.get_table_names() == []
            assert set(inspector.get_schema_names()) == {"public", "information_schema"}
    finally:
        engine.dispose()


def run_with_workers(
    capsys: pytest.CaptureFixture[str], workers: str, *argv: str
) -> tuple[int, str, list[int]]:
    """Run argv with `--read-workers`: exit code, output, and the files each "parsed ahead"
    log line says went through worker processes."""
    capsys.readouterr()
    code = main([*argv, "--log-format", "json", "--read-workers", workers])
    out, err = capsys.readouterr()
    ahead = [json.loads(line)["files"] for line in err.splitlines() if '"parsed ahead"' in line]
    return code, out, ahead
