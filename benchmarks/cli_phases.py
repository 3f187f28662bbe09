"""The one-shot commands as a user runs them: whole `attune-sync` processes, timed.

`benchmarks/run.py` measures the daemon's path inside one long-lived process. CI jobs and
hand-runs start a fresh process for every command, so this measures those, each as a ratio to
the floor (reading and parsing every file once with CSafeLoader) measured in the same run:

* ``help``: ``attune-sync --help`` (absolute seconds: imports only);
* ``cold_apply``: ``apply`` into an empty database;
* ``noop_apply`` and ``noop_diff``: the same tree again, nothing to change;
* ``one_file_diff``: ``diff`` after editing one sensor's label.

Each phase reports wall seconds, the child's own peak RSS (``wait4``), the lines it printed
and its exit code. Run from the repository root::

    .venv/bin/python benchmarks/cli_phases.py
    .venv/bin/python benchmarks/cli_phases.py --postgresql postgresql+psycopg://postgres@127.0.0.1/postgres

Exit status: 0 when it ran (a missed target is a figure), 1 with ``--check`` and a missed
target, 2 when a command did not do what it should (wrong exit code or plan).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    SRC,
    BenchmarkFailed,
    _spawn,
    add_tree_options,
    machine_info,
    pg_create,
    pg_drop,
    prepare_tree,
    save_report,
)

DEFAULT_JSON = HERE / "out" / "cli-latest.json"
CLI_CODE = "import sys; from attune_sync.cli import main; sys.exit(main())"
"""The console script's body; works whether or not the checkout is pip-installed."""

RATIO_TARGETS: dict[str, float] = {
    "cold_apply": 1.3,
    "noop_apply": 0.1,
    "noop_diff": 0.1,
    "one_file_diff": 0.1,
}
"""Targets of the speed issue, as a multiple of the floor, on SQLite; PostgreSQL may take up to
POSTGRESQL_SLACK times the SQLite ratio."""
POSTGRESQL_SLACK = 1.5
HELP_TARGET_S = 0.3
RSS_TARGET_MB = 300.0
EXPECTED_EXIT = {"help": 0, "cold_apply": 0, "noop_apply": 0, "noop_diff": 0, "one_file_diff": 1}
"""`diff` exits 1 when changes are pending (diff(1)); anything else means the run went wrong."""


@dataclass(slots=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    exit_code: int
    lines: int

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "exit_code": self.exit_code,
            "lines": self.lines,
        }


def run_cli(args: list[str], scratch: Path) -> Measured:
    """One `attune-sync` process: wall time, its own peak RSS and how much it printed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["ATTUNE_SYNC_LOG_FORMAT"] = "json"
    out_path = scratch / f"out-{uuid.uuid4().hex}.txt"
    with open(out_path, "wb") as out, open(os.devnull, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", CLI_CODE, *args], stdout=out, stderr=err, env=env, cwd=scratch
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as printed:
        lines = sum(1 for _ in printed)
    out_path.unlink()
    return Measured(seconds, usage.ru_maxrss / 1024, child.returncode, lines)


def _edit_label(path: Path) -> bytes:
    """Change one sensor's label in place; returns the original bytes to restore."""
    original = path.read_bytes()
    label = f"label: Benchmark edit {uuid.uuid4().hex[:12]}\n"
    lines = original.decode().splitlines(keepends=True)
    path.write_text("".join(label if line.startswith("label:") else line for line in lines))
    return original


def measure_backend(root: str, url: str, edit_path: str, scratch: Path) -> dict[str, Measured]:
    common = [root, "--database", url]
    phases = {
        "cold_apply": run_cli(["apply", *common], scratch),
        "noop_apply": run_cli(["apply", *common], scratch),
        "noop_diff": run_cli(["diff", *common], scratch),
    }
    edited = Path(root) / edit_path
    original = _edit_label(edited)
    try:
        phases["one_file_diff"] = run_cli(["diff", *common], scratch)
    finally:
        edited.write_bytes(original)  # a kept tree stays the standard tree
    return phases


def evaluate(
    floor: float, help_run: Measured, backends: dict[str, dict[str, Measured]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of figures with their targets, and the phases whose exit code was wrong."""
    rows: list[dict[str, Any]] = [
        _row("help", "-", help_run, None, HELP_TARGET_S, help_run.seconds <= HELP_TARGET_S)
    ]
    wrong = [] if help_run.exit_code == 0 else [f"help exited {help_run.exit_code}"]
    sqlite_ratios: dict[str, float] = {}
    for backend, phases in backends.items():
        for phase, run in phases.items():
            if run.exit_code != EXPECTED_EXIT[phase]:
                wrong.append(f"{backend} {phase} exited {run.exit_code}")
            ratio = run.seconds / floor
            target = RATIO_TARGETS[phase]
            if backend == "sqlite":
                sqlite_ratios[phase] = ratio
            elif phase in sqlite_ratios:
                target = sqlite_ratios[phase] * POSTGRESQL_SLACK
            rows.append(_row(phase, backend, run, ratio, target, ratio <= target))
    return rows, wrong


def _row(
    phase: str,
    backend: str,
    run: Measured,
    ratio: float | None,
    target: float,
    met: bool,
) -> dict[str, Any]:
    rss_met = run.peak_rss_mb <= RSS_TARGET_MB
    return {
        "phase": phase,
        "backend": backend,
        **run.as_json(),
        "ratio": ratio,
        "target": target,
        "met": met and (phase == "help" or rss_met),
    }


def render(report: dict[str, Any]) -> str:
    header = (
        "phase",
        "backend",
        "seconds",
        "x floor",
        "target",
        "peak RSS",
        "lines",
        "exit",
        "met",
    )
    table = [header]
    for row in report["results"]:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        target = f"<= {row['target']:.2f} s" if row["ratio"] is None else f"<= {row['target']:.3f}"
        table.append(
            (
                row["phase"],
                row["backend"],
                f"{row['seconds']:.3f}",
                ratio,
                target,
                f"{row['peak_rss_mb']:.0f} MB",
                str(row["lines"]),
                str(row["exit_code"]),
                "yes" if row["met"] else "NO",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"tree: {report['tree']['files']} files; floor {report['floor_seconds']:.3f} s "
        f"(runs {', '.join(f'{s:.3f}' for s in report['floor_runs'])}); "
        f"RSS target <= {RSS_TARGET_MB:.0f} MB per command; PostgreSQL target = "
        f"{POSTGRESQL_SLACK} x the SQLite ratio",
        "",
    ]
    for number, line in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="attune-sync-cli-bench-"))
    try:
        tree = prepare_tree(args, scratch)
        floors = [_spawn(["_child-floor", tree.root]) for _ in range(args.repeat)]
        floor = min(float(run["seconds"]) for run in floors)
        help_run = min(
            (run_cli(["--help"], scratch) for _ in range(args.repeat)), key=lambda m: m.seconds
        )
        backends: dict[str, dict[str, Measured]] = {}
        print("sqlite: cold apply, no-op apply, no-op diff, one-file diff...", file=sys.stderr)
        url = f"sqlite:///{scratch / 'bench.db'}"
        backends["sqlite"] = measure_backend(tree.root, url, tree.edit_path, scratch)
        if args.postgresql:
            database, _version = pg_create(args.postgresql)
            try:
                print(f"postgresql ({database.name}): the same...", file=sys.stderr)
                backends["postgresql"] = measure_backend(
                    tree.root, database.url, tree.edit_path, scratch
                )
            finally:
                pg_drop(database)
        results, wrong = evaluate(floor, help_run, backends)
        return {
            "machine": machine_info(),
            "tree": {key: value for key, value in tree.as_json().items() if key != "root"},
            "floor_seconds": floor,
            "floor_runs": [run["seconds"] for run in floors],
            "results": results,
            "all_met": all(row["met"] for row in results),
            "failures": wrong,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/cli_phases.py",
        description="Time whole attune-sync CLI processes against the floor.",
    )
    add_tree_options(parser)
    parser.add_argument("--postgresql", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--keep-tree", metavar="DIR", help="generate the tree in DIR and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the floor and --help (3)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        print("error: --repeat must be at least 1", file=sys.stderr)
        return 2
    try:
        report = run_benchmark(args)
    except BenchmarkFailed as error:
        print(f"BENCHMARK FAILED: {error}", file=sys.stderr)
        return 2
    save_report(args.json, report, render(report))
    if report["failures"]:
        print(f"!!! BENCHMARK FAILED: {'; '.join(report['failures'])}", file=sys.stderr)
        return 2
    if args.check and not report["all_met"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
