"""docs/ci.md promises that a pull request's plan needs only SELECT on the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cli.helpers import copy_bundled, run
from core.trees import trigger_doc


@pytest.fixture
def readonly_url(pg_url: str) -> Iterator[tuple[str, str]]:
    """(owner URL, URL of a role that may only SELECT) on one fresh database."""
    url = make_url(pg_url)
    role = f"attune_sync_ro_{uuid.uuid4().hex[:12]}"
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        yield pg_url, url.set(username=role).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def _grant_select(owner_url: str, role_url: str) -> None:
    role = make_url(role_url).username
    libpq = make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")


def test_diff_and_a_saved_plan_need_only_select(
    readonly_url: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    owner, readonly = readonly_url
    root = copy_bundled(tmp_path / "packs")
    assert run(capsys, "apply", str(root), "--database", owner)[0] == 0  # the sidecar's role
    _grant_select(owner, readonly)
    (root / "core/triggers/timer.yaml").write_text(trigger_doc("Cron timer"))
    plan_file = tmp_path / "plan.json"
    code, out = run(
        capsys,
        "diff",
        str(root),
        "--database",
        readonly,
        "--output",
        "markdown",
        "--out",
        str(plan_file),
    )
    assert code == 1, out
    assert "| trigger | 0 | 1 | 0 | 0 | 0 |" in out
    assert json.loads(plan_file.read_text())["plan"]["summary"]["update"] == 1
    # The role really cannot write: applying with it fails and changes nothing.
    code, _ = run(capsys, "apply", str(root), "--database", readonly, "--plan", str(plan_file))
    assert code == 1
    assert run(capsys, "apply", str(root), "--database", owner, "--plan", str(plan_file))[0] == 0
