"""A tiny run of the benchmark, so it never rots. Asserts figures exist, never their speed.

The benchmark itself (benchmarks/run.py, 41,000 files) is not a timed test: see
benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "run.py"
GENERATE = REPO / "benchmarks" / "generate.py"
PG_ADMIN_URL = os.environ.get(
    "ATTUNE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PHASES = ("cold_sync", "noop_resync", "one_file_change")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
        check=False,
    )


def _benchmark(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    sizes = ("--packs", "3", "--triggers", "2", "--sensors", "2", "--repeat", "1")
    done = _run(str(RUN), *sizes, "--json", str(out), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cold_sync" in done.stdout  # the table was printed
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _check_backend(report: dict[str, Any], backend: str) -> None:
    figures = report["backends"][backend]
    for phase in PHASES:
        run = figures[phase]
        assert run["seconds"] > 0, (backend, phase)
        assert set(run["timings"]) >= {"read", "load", "plan", "apply"}, (backend, phase)
        assert all(value >= 0 for value in run["timings"].values()), (backend, phase)
    assert figures["peak_rss_mb"] > 0
    assert figures["cold_sync"]["created"] == 3 * (1 + 2 + 2)
    assert figures["noop_resync"]["files_parsed"] == 0
    edit = figures["one_file_change"]
    assert edit["files_parsed"] == 1
    assert edit["updated"] == 1
    assert edit["created"] == edit["deleted"] == 0
    assert [(c["action"], c["kind"]) for c in edit["changes"]] == [("update", "sensor")]
    assert edit["changes"][0]["ref"] == report["tree"]["edit_ref"]
    phases = {(row["phase"], row["backend"]) for row in report["results"]}
    assert {(phase, backend) for phase in PHASES} <= phases
    assert ("peak_rss_mb", backend) in phases


def _check_common(report: dict[str, Any]) -> None:
    assert report["failures"] == []
    assert report["floor"]["seconds"] > 0
    assert report["floor"]["files"] == report["tree"]["files"] == 15
    for row in report["results"]:
        if row["phase"] != "peak_rss_mb":
            assert row["seconds"] > 0
            assert row["ratio"] > 0


def test_tiny_benchmark_on_sqlite(tmp_path: Path) -> None:
    report = _benchmark(tmp_path)
    _check_common(report)
    assert set(report["backends"]) == {"sqlite"}
    _check_backend(report, "sqlite")


def test_tiny_benchmark_on_postgresql(tmp_path: Path) -> None:
    report = _benchmark(tmp_path, "--postgresql", PG_ADMIN_URL)
    _check_common(report)
    assert set(report["backends"]) == {"sqlite", "postgresql"}
    _check_backend(report, "sqlite")
    _check_backend(report, "postgresql")


def test_kept_tree_is_reused_and_left_as_generated(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    sizes = ("--packs", "3", "--triggers", "2", "--sensors", "2", "--repeat", "1")
    first = _run(str(RUN), *sizes, "--keep-tree", str(tree), "--json", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in tree.rglob("*.yaml")}
    second = _run(str(RUN), *sizes, "--keep-tree", str(tree), "--json", str(tmp_path / "b.json"))
    assert second.returncode == 0, second.stderr
    assert "reusing the tree" in second.stderr
    assert {p: p.read_bytes() for p in tree.rglob("*.yaml")} == before


def test_generated_tree_is_valid_and_deterministic(tmp_path: Path) -> None:
    trees = [tmp_path / "one", tmp_path / "two"]
    for tree in trees:
        done = _run(str(GENERATE), str(tree), "--packs", "5", "--triggers", "3", "--sensors", "3")
        assert done.returncode == 0, done.stderr
    files = sorted(p.relative_to(trees[0]) for p in trees[0].rglob("*.yaml"))
    assert len(files) == 5 * (1 + 3 + 3)
    assert all((trees[0] / f).read_bytes() == (trees[1] / f).read_bytes() for f in files)
    sizes = [(trees[0] / f).stat().st_size for f in files]
    assert min(sizes) > 300
    assert max(sizes) < 4096
    validate = _run(
        "-c",
        "import sys; from attune_sync.cli import main; sys.exit(main())",
        "validate",
        str(trees[0]),
        "--output",
        "json",
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    summary = json.loads(validate.stdout)
    assert summary["valid"] is True
    assert summary["errors"] == []
    assert summary["warnings"] == []
    assert len(summary["packs"]) == 5


def test_a_bad_repeat_is_refused() -> None:
    done = _run(str(RUN), "--repeat=0")
    assert done.returncode == 2
