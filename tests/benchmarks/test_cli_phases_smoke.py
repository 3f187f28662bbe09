"""A tiny run of the whole-process benchmark, so it never rots. Asserts figures, never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "cli_phases.py"
PG_ADMIN_URL = os.environ.get(
    "ATTUNE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PHASES = {"cold_apply", "noop_apply", "noop_diff", "one_file_diff"}


def _benchmark(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "cli.json"
    sizes = ("--packs", "3", "--triggers", "2", "--sensors", "2", "--repeat", "1")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *sizes, "--json", str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    # Exit 0: every command ran with the exit code it should have (2 would mean it did not).
    assert done.returncode == 0, done.stdout + done.stderr
    assert "one_file_diff" in done.stdout
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_every_phase_is_measured_on_both_backends(tmp_path: Path) -> None:
    report = _benchmark(tmp_path, "--postgresql", PG_ADMIN_URL)
    rows = report["results"]
    assert {(row["phase"], row["backend"]) for row in rows} == {("help", "-")} | {
        (phase, backend) for phase in PHASES for backend in ("sqlite", "postgresql")
    }
    for row in rows:
        assert row["seconds"] > 0
        assert row["peak_rss_mb"] > 0
        assert row["lines"] > 0
    by_phase = {(row["phase"], row["backend"]): row for row in rows}
    # A cold apply prints its plan; the one-file diff prints the one change and exits 1.
    assert by_phase["cold_apply", "sqlite"]["lines"] > by_phase["noop_apply", "sqlite"]["lines"]
    assert by_phase["one_file_diff", "sqlite"]["exit_code"] == 1
    assert report["failures"] == []
