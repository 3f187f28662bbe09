"""`watch` against a database migrated by a newer attune-sync: a clear message, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade

from .helpers import REPO, write_pack


def test_watch_refuses_a_newer_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'attune-sync.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    write_pack(tmp_path / "packs" / "a", "a", {"t": "T"})
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "ATTUNE_SYNC_LISTEN": "off"}
    # Before: the daemon retried the failing migration forever, with Alembic's message.
    done = subprocess.run(
        [sys.executable, "-m", "attune_sync.cli", "watch", "packs", "--database", url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "is newer than this attune-sync" in done.stderr
    assert "Traceback" not in done.stderr
