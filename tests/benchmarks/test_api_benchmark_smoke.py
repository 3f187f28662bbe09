"""A tiny run of the API benchmark, so it never rots. Asserts figures exist, never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_api_benchmark_prints_figures_for_every_endpoint() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "api.py"),
            *("--packs", "2", "--triggers", "2", "--sensors", "2"),
            *("--requests", "40", "--seconds", "10", "--clients", "4", "--json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    endpoints = report["backends"]["sqlite"]["endpoints"]
    assert set(endpoints) == {
        "bare GET /api/v1/ping",
        "GET /api/v1/triggers/:ref",
        "GET /api/v1/sensors?page=1&page_size=50",
        "GET /api/v1/packs/:ref/triggers",
    } | {k for k in endpoints if k.startswith("GET /api/v1/sensors?page=")}
    for figures in endpoints.values():
        assert figures["requests"] > 0
        assert figures["errors"] == 0
        assert figures["p50_ms"] is not None
