"""The API benchmark: throughput and latency of `attune-sync serve` at 16 concurrent clients.

Run from the repository root::

    .venv/bin/python benchmarks/api.py                                  # standard tree, SQLite
    .venv/bin/python benchmarks/api.py --postgresql postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/api.py --packs 50 --requests 2000       # a quick run

The tree (benchmarks/generate.py; 41,000 objects by default) is applied with `attune-sync
apply`, then `attune-sync serve` runs in its own process on loopback and 16 client threads
(keep-alive connections, one each) send requests to one endpoint at a time until the request
count or the time bound is reached, whichever comes first. Every endpoint is measured beside
`/api/v1/ping`, which goes through the same stack (auth, logging, routing) and answers a
constant without touching the database: the stack's own ceiling in the same run.

Targets (issue 8): GET by ref >= 50 % of the bare endpoint's throughput, list pages >= 30 %,
and a page deep in the list (page 400) as fast as the first. A missed target is a figure,
not a failure; `--check` makes it exit 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
for path in (SRC, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from generate import generate_tree  # noqa: E402
from run import add_tree_options  # noqa: E402

TOKEN = "bench-" + uuid.uuid4().hex
DEEP_PAGE = 400


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_database(admin_url: str) -> tuple[str, str]:
    """(url of a fresh database, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"attune_sync_apibench_{uuid.uuid4().hex}"
    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), name


def _pg_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env() -> dict[str, str]:
    env = {**os.environ, "ATTUNE_SYNC_API_TOKENS": TOKEN}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def _apply(tree: Path, url: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "attune_sync.cli",
            "apply",
            str(tree),
            "--database",
            url,
            "--log-level",
            "warning",
            "--output",
            "json",
        ],
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _start_server(url: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "attune_sync.cli",
            "serve",
            "--database",
            url,
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-level",
            "warning",
        ],
        env={**_env(), "ATTUNE_SYNC_LOG_LEVEL": "warning"},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    # The "serving" line is logged at info; at warning the port comes from the socket table.
    return process, _wait_port(process)


def _wait_port(process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if f"pid={process.pid}," in line:
                return int(line.split()[3].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise RuntimeError("the server did not start listening")


def _load(
    port: int, paths: list[str], clients: int, requests: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads, keep-alive each, until `requests` were sent or `seconds` passed."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    stop_at = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad: list[int] = []
        while time.perf_counter() < stop_at:
            with lock:
                if next(counter, None) is None:
                    break
            path = paths[rng.randrange(len(paths))]
            begin = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - begin)
            if response.status != 200:
                bad.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "rps": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
    }


def _targets(port: int, url: str) -> dict[str, list[str]]:
    from sqlalchemy import create_engine, func, select

    from attune_sync.db import schema as t

    engine = create_engine(url.replace("sqlite:", "sqlite+pysqlite:", 1))
    with engine.connect() as conn:
        triggers = list(conn.execute(select(t.trigger.c.ref)).scalars())
        packs = list(conn.execute(select(t.pack.c.ref)).scalars())
        sensors = conn.execute(select(func.count()).select_from(t.sensor)).scalar_one()
    engine.dispose()
    deep = max(1, min(DEEP_PAGE, (sensors + 49) // 50))
    return {
        "bare GET /api/v1/ping": ["/api/v1/ping"],
        "GET /api/v1/triggers/:ref": [f"/api/v1/triggers/{ref}" for ref in triggers],
        "GET /api/v1/sensors?page=1&page_size=50": ["/api/v1/sensors?page=1&page_size=50"],
        f"GET /api/v1/sensors?page={deep}&page_size=50": [
            f"/api/v1/sensors?page={deep}&page_size=50"
        ],
        "GET /api/v1/packs/:ref/triggers": [f"/api/v1/packs/{ref}/triggers" for ref in packs],
    }


def _settle(url: str) -> None:
    """VACUUM ANALYZE after the bulk load: where autovacuum gets within a minute anyway.

    Without it PostgreSQL has neither statistics nor a visibility map for the fresh rows,
    and the first minute of queries measures that rather than the API.
    """
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def bench_backend(name: str, url: str, tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    applied = _apply(tree, url)
    _settle(url)
    process, port = _start_server(url)
    try:
        results = {}
        for label, paths in _targets(port, url).items():
            _load(port, paths, args.clients, min(200, args.requests), 5)  # warm-up
            results[label] = _load(port, paths, args.clients, args.requests, args.seconds)
            print(f"  {name}: {label}: {results[label]}", file=sys.stderr)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    bare = results["bare GET /api/v1/ping"]["rps"] or 1.0
    for figures in results.values():
        figures["share_of_bare"] = round(figures["rps"] / bare, 2)
    return {"apply_seconds": round(applied, 1), "endpoints": results}


def evaluate(report: dict[str, Any]) -> list[str]:
    missed = []
    for backend, found in report["backends"].items():
        endpoints = found["endpoints"]
        by_ref = endpoints["GET /api/v1/triggers/:ref"]["share_of_bare"]
        if by_ref < 0.5:
            missed.append(f"{backend}: GET by ref at {by_ref:.0%} of bare (target 50%)")
        lists = [k for k in endpoints if "sensors?" in k or "packs/:ref" in k]
        for label in lists:
            if endpoints[label]["share_of_bare"] < 0.3:
                missed.append(
                    f"{backend}: {label} at {endpoints[label]['share_of_bare']:.0%} of bare "
                    "(target 30%)"
                )
        first, deep = (endpoints[k]["rps"] for k in lists[:2])
        if deep < 0.9 * first:
            missed.append(f"{backend}: deep page {deep} rps vs first page {first} rps")
    return missed


def render(report: dict[str, Any]) -> str:
    lines = [
        f"attune-sync API benchmark: {report['tree']['objects']} objects, "
        f"{report['clients']} clients, up to {report['requests']} requests / "
        f"{report['seconds']} s per endpoint",
        f"machine: {report['machine']}",
    ]
    for backend, found in report["backends"].items():
        lines.append("")
        lines.append(f"{backend} (tree applied in {found['apply_seconds']} s)")
        lines.append(
            f"  {'endpoint':<46} {'req':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of bare':>8}"
        )
        for label, f in found["endpoints"].items():
            lines.append(
                f"  {label:<46} {f['requests']:>6} {f['rps']:>8} {f['p50_ms']:>8} "
                f"{f['p99_ms']:>8} {f['share_of_bare']:>8.0%}"
                + (f"  ({f['errors']} errors)" if f["errors"] else "")
            )
    lines.append("")
    lines.append("targets: " + ("all met" if not report["missed"] else "; ".join(report["missed"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_tree_options(parser)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000, help="per endpoint (5000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="bound per endpoint (20)")
    parser.add_argument("--postgresql", metavar="ADMIN_URL", help="also run on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="attune-sync-apibench-"))
    try:
        return _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path) -> int:
    tree = scratch / "packs"
    info = generate_tree(tree, args.packs, args.triggers, args.sensors, seed=args.seed)
    objects = args.packs * (1 + args.triggers + args.sensors)
    report: dict[str, Any] = {
        "tree": {"objects": objects, "files": info.files},
        "clients": args.clients,
        "requests": args.requests,
        "seconds": args.seconds,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "backends": {},
    }
    if not args.no_sqlite:
        url = f"sqlite:///{scratch / 'bench.db'}"
        report["backends"]["sqlite"] = bench_backend("sqlite", url, tree, args)
    if args.postgresql:
        url, name = _pg_database(args.postgresql)
        try:
            report["backends"]["postgresql"] = bench_backend("postgresql", url, tree, args)
        finally:
            _pg_drop(args.postgresql, name)
    report["missed"] = evaluate(report)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 1 if args.check and report["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
