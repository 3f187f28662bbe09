"""The attune-sync benchmark: floor, cold sync, no-op re-sync, one-file change, peak RSS.

Run from the repository root::

    .venv/bin/python benchmarks/run.py                       # standard tree, SQLite
    .venv/bin/python benchmarks/run.py --postgresql postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/run.py --packs 3 --triggers 2 --sensors 2 --repeat 1

See benchmarks/README.md for what each figure means. Every measurement runs in a fresh child
process (this script re-invoked with a hidden ``_child-*`` command) that prints its figures as
one JSON object on standard output; logs go to standard error.

Exit status: 0 when the benchmark ran (a missed target is a figure, not a failure), 1 with
``--check`` when a target was missed, 2 when the benchmark itself failed (a child crashed, or a
sync did not plan what it should have).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # benchmark the checkout, installed or not
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from generate import DEFAULT_SEED, TreeInfo, existing_tree, generate_tree  # noqa: E402

DEFAULT_JSON = HERE / "out" / "latest.json"
YAML_SUFFIXES = (".yaml", ".yml")

# Targets, as a multiple of the floor measured in the same run (RSS in MB).
TARGETS: dict[tuple[str, str], float] = {
    ("cold_sync", "sqlite"): 1.5,
    ("noop_resync", "sqlite"): 0.1,
    ("one_file_change", "sqlite"): 0.02,
    ("cold_sync", "postgresql"): 2.0,
}
RSS_TARGET_MB: dict[str, float] = {"sqlite": 400.0}
PHASES = ("cold_sync", "noop_resync", "one_file_change")


class BenchmarkFailed(Exception):
    """The benchmark could not measure what it claims to: not a missed target."""


# =========================================================================== child processes


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def child_floor(root: str) -> dict[str, Any]:
    """Read every YAML file under `root` and parse it with CSafeLoader: the floor."""
    import yaml

    loader = yaml.CSafeLoader
    gc.collect()
    start = time.perf_counter()
    files = size = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(names):
            if not name.endswith(YAML_SUFFIXES):
                continue
            with open(os.path.join(folder, name), "rb") as handle:
                data = handle.read()
            yaml.load(data, Loader=loader)
            files += 1
            size += len(data)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": files, "bytes": size, "peak_rss_mb": _peak_rss_mb()}


def _changes(outcome: Any) -> list[dict[str, Any]]:
    return [
        {
            "action": change.action,
            "kind": change.kind,
            "ref": change.ref,
            "fields": [item.field for item in change.fields] if change.action == "update" else [],
        }
        for change in outcome.plan.changes
    ]


def _run_figures(outcome: Any, seconds: float, parsed: int) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "timings": dict(outcome.timings),
        "result": outcome.result,
        "created": outcome.plan.count("create"),
        "updated": outcome.plan.count("update"),
        "deleted": outcome.plan.count("delete"),
        "invalid": len(outcome.plan.invalid),
        "held_back": len(outcome.plan.held_back),
        "files_parsed": parsed,
    }


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = dict(min(runs, key=lambda run: float(run["seconds"])))
    best["all_seconds"] = [run["seconds"] for run in runs]
    return best


def _bump_mtime(path: Path) -> None:
    """Move the mtime forward by a second, so the edit is seen even on coarse clocks."""
    stat = path.stat()
    later = max(stat.st_mtime_ns + 1_000_000_000, time.time_ns())
    os.utime(path, ns=(later, later))


def child_sync(
    root: str, url: str, repeat: int, expected: int, edit_path: str | None, edit_ref: str | None
) -> dict[str, Any]:
    """Cold sync, no-op re-syncs and one-file changes through one `Reconciler`."""
    from attune_sync.db.engine import make_engine
    from attune_sync.db.migrate import upgrade
    from attune_sync.logs import configure_logging
    from attune_sync.reconciler import Reconciler

    configure_logging("json", "warning")
    failures: list[str] = []
    engine = make_engine(url)
    try:
        mark = time.perf_counter()
        upgrade(engine)
        migrate_seconds = time.perf_counter() - mark
        reconciler = Reconciler(engine, root)
        gc.collect()

        def timed(changed: set[str] | None = None) -> tuple[Any, float, int]:
            parsed = reconciler.cache.parsed
            start = time.perf_counter()
            outcome = reconciler.run(changed)
            return outcome, time.perf_counter() - start, reconciler.cache.parsed - parsed

        outcome, seconds, parsed = timed()
        cold = _run_figures(outcome, seconds, parsed)
        cold["migrate_seconds"] = migrate_seconds
        if cold["created"] != expected or cold["invalid"] or cold["updated"] or cold["deleted"]:
            failures.append(
                f"cold sync planned {cold['created']} creates (expected {expected}), "
                f"{cold['updated']} updates, {cold['deleted']} deletes, "
                f"{cold['invalid']} invalid packs: {outcome.plan.errors[:3]}"
            )

        noops = []
        for _ in range(repeat):
            outcome, seconds, parsed = timed()
            figures = _run_figures(outcome, seconds, parsed)
            noops.append(figures)
            if outcome.plan.changes or outcome.plan.invalid or parsed:
                failures.append(
                    f"no-op re-sync was not a no-op: {len(outcome.plan.changes)} changes, "
                    f"{parsed} files parsed"
                )

        edits = []
        if edit_path is not None and edit_ref is not None:
            path = Path(root) / edit_path
            original = path.read_bytes()
            try:
                for number in range(repeat):
                    label = f"Benchmark edit {number} {uuid.uuid4().hex[:12]}"
                    lines = original.decode().splitlines(keepends=True)
                    edited = [
                        f"label: {label}\n" if ln.startswith("label:") else ln for ln in lines
                    ]
                    path.write_text("".join(edited))
                    _bump_mtime(path)
                    # As the daemon does: the file event names the path that changed.
                    outcome, seconds, parsed = timed({str(path.absolute())})
                    figures = _run_figures(outcome, seconds, parsed)
                    figures["changes"] = _changes(outcome)
                    edits.append(figures)
                    wanted = [
                        {"action": "update", "kind": "sensor", "ref": edit_ref, "fields": ["label"]}
                    ]
                    if figures["changes"] != wanted or parsed != 1:
                        failures.append(
                            f"one-file change of {edit_path} planned {figures['changes'][:5]} "
                            f"with {parsed} files parsed; expected exactly {wanted}, 1 file parsed"
                        )
            finally:
                path.write_bytes(original)  # a kept tree stays the standard tree
                _bump_mtime(path)
    finally:
        engine.dispose()
    return {
        "url_backend": url.split(":", 1)[0],
        "cold_sync": cold,
        "noop_resync": _best(noops) if noops else None,
        "one_file_change": _best(edits) if edits else None,
        "peak_rss_mb": _peak_rss_mb(),
        "failures": failures,
    }


def child_main(argv: list[str]) -> int:
    command, *rest = argv
    if command == "_child-floor":
        figures = child_floor(rest[0])
    elif command == "_child-sync":
        (spec,) = rest
        figures = child_sync(**json.loads(spec))
    else:
        raise SystemExit(f"unknown child command {command!r}")
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()
    return 0


def _spawn(args: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkFailed(f"child {args[0]} exited with {done.returncode}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise BenchmarkFailed(f"child {args[0]} printed no figures")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


# =========================================================================== PostgreSQL


@dataclass(slots=True)
class PgDatabase:
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        from sqlalchemy.engine import make_url

        parsed = make_url(self.admin_url).set(drivername="postgresql+psycopg", database=self.name)
        return parsed.render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_create(admin_url: str) -> tuple[PgDatabase, str]:
    """A fresh database on the server at `admin_url`, and the server's version."""
    import psycopg

    name = f"attune_sync_bench_{uuid.uuid4().hex}"
    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        row = admin.execute("SHOW server_version").fetchone()
    return PgDatabase(admin_url, name), str(row[0]) if row else "?"


def pg_drop(database: PgDatabase) -> None:
    import psycopg

    with psycopg.connect(_libpq(database.admin_url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


# =========================================================================== parent


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    memory_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    import sqlite3

    import yaml

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_mb": memory_mb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "libyaml": bool(yaml.__with_libyaml__),
    }


def git_revision() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{' + uncommitted src changes' if dirty else ''}"


def evaluate(floor: float, backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure: seconds, ratio to the floor, target and whether it was met."""
    rows: list[dict[str, Any]] = [
        {
            "phase": "floor",
            "backend": "-",
            "seconds": floor,
            "ratio": 1.0,
            "target": None,
            "met": None,
        }
    ]
    for backend, figures in backends.items():
        for phase in PHASES:
            run = figures.get(phase)
            if run is None:
                continue
            seconds = float(run["seconds"])
            ratio = seconds / floor if floor > 0 else None
            target = TARGETS.get((phase, backend))
            met = None if target is None or ratio is None else ratio <= target
            rows.append(
                {
                    "phase": phase,
                    "backend": backend,
                    "seconds": seconds,
                    "ratio": ratio,
                    "target": target,
                    "met": met,
                }
            )
        rss = float(figures["peak_rss_mb"])
        rss_target = RSS_TARGET_MB.get(backend)
        rows.append(
            {
                "phase": "peak_rss_mb",
                "backend": backend,
                "mb": rss,
                "target": rss_target,
                "met": None if rss_target is None else rss <= rss_target,
            }
        )
    return rows


def _yes_no(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def render_table(report: dict[str, Any]) -> str:
    rows = [("phase", "backend", "seconds", "x floor", "target", "met?")]
    for row in report["results"]:
        if row["phase"] == "peak_rss_mb":
            target = "-" if row["target"] is None else f"<= {row['target']:.0f} MB"
            met = _yes_no(row["met"])
            rows.append(("peak RSS", row["backend"], f"{row['mb']:.0f} MB", "", target, met))
            continue
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        target = "-" if row["target"] is None else f"<= {row['target']:g}"
        rows.append(
            (
                row["phase"],
                row["backend"],
                f"{row['seconds']:.3f}",
                ratio,
                target,
                _yes_no(row["met"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    machine = report["machine"]
    tree = report["tree"]
    header = [
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"{machine['memory_mb']} MB, Python {machine['python']}, SQLite {machine['sqlite']}"
        + (
            f", PostgreSQL {report['postgresql_version']}"
            if report.get("postgresql_version")
            else ""
        ),
        f"tree: {tree['packs']} packs x {tree['triggers']} triggers x {tree['sensors']} sensors = "
        f"{tree['files']} files, {tree['bytes'] / 1e6:.1f} MB (seed {tree['seed']}); "
        f"repeat {report['repeat']}; src {report.get('git') or '?'}",
        f"floor runs: {', '.join(f'{s:.3f}' for s in report['floor']['all_seconds'])} s",
        "",
    ]
    breakdown = [
        "",
        "per-phase timings (RunOutcome.timings, seconds, best run; rest = record_run + commit):",
    ]
    for backend, figures in report["backends"].items():
        for phase in PHASES:
            run = figures.get(phase)
            if run is None:
                continue
            timings = run["timings"]
            rest = float(run["seconds"]) - sum(timings.values())
            parts = ", ".join(f"{key} {value:.3f}" for key, value in timings.items())
            parts += f", rest {rest:.3f}"
            every = run.get("all_seconds")
            extra = f"; all runs {', '.join(f'{s:.3f}' for s in every)}" if every else ""
            if phase == "cold_sync":
                extra += f"; migration (excluded) {run['migrate_seconds']:.3f}"
            breakdown.append(
                f"  {backend:<10} {phase:<16} {parts}; files parsed {run['files_parsed']}{extra}"
            )
    return "\n".join([*header, *lines, *breakdown])


def prepare_tree(args: argparse.Namespace, scratch: Path) -> TreeInfo:
    sizes = (args.packs, args.triggers, args.sensors)
    if args.keep_tree:
        root = Path(args.keep_tree)
        found = existing_tree(root, *sizes, args.seed)
        if found is not None:
            print(f"reusing the tree at {root}", file=sys.stderr)
            return found
        if root.exists() and any(root.iterdir()):
            raise BenchmarkFailed(f"--keep-tree {root} is not empty and not a matching tree")
    else:
        root = scratch / "packs"
    start = time.perf_counter()
    info = generate_tree(root, *sizes, seed=args.seed)
    print(
        f"generated {info.files} files ({info.bytes / 1e6:.1f} MB) in "
        f"{time.perf_counter() - start:.1f} s at {root}",
        file=sys.stderr,
    )
    return info


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="attune-sync-bench-"))
    try:
        tree = prepare_tree(args, scratch)
        expected = tree.packs * (1 + tree.triggers + tree.sensors)

        print(f"floor: {args.repeat} run(s)...", file=sys.stderr)
        floors = [_spawn(["_child-floor", tree.root]) for _ in range(args.repeat)]
        floor = min(float(run["seconds"]) for run in floors)
        if floors[0]["files"] != tree.files:
            raise BenchmarkFailed(f"floor read {floors[0]['files']} files, not {tree.files}")

        spec = {
            "root": tree.root,
            "repeat": args.repeat,
            "expected": expected,
            "edit_path": tree.edit_path,
            "edit_ref": tree.edit_ref,
        }
        backends: dict[str, dict[str, Any]] = {}
        failures: list[str] = []
        print("sqlite: cold sync, no-op re-sync, one-file change...", file=sys.stderr)
        url = f"sqlite:///{scratch / 'bench.db'}"
        backends["sqlite"] = _spawn(["_child-sync", json.dumps({**spec, "url": url})])
        pg_version = None
        if args.postgresql:
            database, pg_version = pg_create(args.postgresql)
            try:
                print(f"postgresql ({database.name}): ...", file=sys.stderr)
                backends["postgresql"] = _spawn(
                    ["_child-sync", json.dumps({**spec, "url": database.url})]
                )
            finally:
                pg_drop(database)
        for backend, figures in backends.items():
            failures.extend(f"{backend}: {failure}" for failure in figures.pop("failures"))
            figures.pop("url_backend", None)

        results = evaluate(floor, backends)
        return {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": git_revision(),
            "machine": machine_info(),
            "postgresql_version": pg_version,
            "repeat": args.repeat,
            "tree": {key: value for key, value in tree.as_json().items() if key != "root"},
            "floor": {
                "seconds": floor,
                "all_seconds": [run["seconds"] for run in floors],
                "files": floors[0]["files"],
                "bytes": floors[0]["bytes"],
                "peak_rss_mb": max(float(run["peak_rss_mb"]) for run in floors),
            },
            "backends": backends,
            "targets": {
                "ratio_to_floor": {
                    f"{phase}/{backend}": t for (phase, backend), t in TARGETS.items()
                },
                "peak_rss_mb": RSS_TARGET_MB,
            },
            "results": results,
            "all_met": all(row["met"] is not False for row in results),
            "failures": failures,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def add_tree_options(parser: argparse.ArgumentParser) -> None:
    """The tree's size and seed: shared by every benchmark that generates the standard tree."""
    parser.add_argument("--packs", type=int, default=1000, help="packs (default 1000)")
    parser.add_argument("--triggers", type=int, default=20, help="triggers per pack (20)")
    parser.add_argument("--sensors", type=int, default=20, help="sensors per pack (20)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")


def save_report(path: Path, report: dict[str, Any], table: str) -> None:
    """Write the figures as JSON and print the table: every benchmark ends this way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(table)
    print(f"\nJSON: {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Benchmark attune-sync against the floor of reading + parsing the tree.",
    )
    add_tree_options(parser)
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="also run on PostgreSQL: a server URL where the user may CREATE DATABASE "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"figures as JSON (default {DEFAULT_JSON})"
    )
    parser.add_argument(
        "--keep-tree",
        metavar="DIR",
        help="generate the tree in DIR and keep it; a matching tree already there is reused",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the floor, no-op and one-file phases (3)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("_child-"):
        return child_main(argv)
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        print("error: --repeat must be at least 1", file=sys.stderr)
        return 2
    try:
        report = run_benchmark(args)
    except BenchmarkFailed as error:
        print(f"BENCHMARK FAILED: {error}", file=sys.stderr)
        return 2
    save_report(args.json, report, render_table(report))
    if report["failures"]:
        print("\n!!! BENCHMARK FAILED: a sync did not plan what it should have:", file=sys.stderr)
        for failure in report["failures"]:
            print(f"!!!   {failure}", file=sys.stderr)
        return 2
    if args.check and not report["all_met"]:
        missed = [f"{r['phase']}/{r['backend']}" for r in report["results"] if r["met"] is False]
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
