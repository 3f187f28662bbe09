"""Parsing ahead in worker processes: the reader's result is exactly what it reads alone.

Real trees, real worker processes. The pool is forced on for small trees (threshold 1, two
files a chunk, so every tree is several chunks). A job that dies or fails is injected as the
`job` parameter: a module-level function here, which the workers import by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from attune_sync.documents import Document, DocumentCache
from attune_sync.model import DesiredState
from attune_sync.parse_ahead import Job, check_chunk, parse_ahead, parsed_ahead
from attune_sync.readcache import seed
from attune_sync.reader import read_tree
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree

FORCED: dict[str, Any] = {"workers": 2, "threshold": 1, "chunk_files": 2}
"""A pool for any tree, in chunks of about two files."""


# Jobs the workers run instead of `check_chunk`: imported by name in each worker.


def die_on_broken(jobs: list[Job]) -> bytes:
    """Kill the worker (as the OOM killer would) on the chunk holding the `broken` pack."""
    if any(relpath.startswith("broken/") for relpath, *_ in jobs):
        os.kill(os.getpid(), signal.SIGKILL)
    return check_chunk(jobs)


def exit_at_once(jobs: list[Job]) -> bytes:
    os._exit(3)


def fail_on_broken(jobs: list[Job]) -> bytes:
    if any(relpath.startswith("broken/") for relpath, *_ in jobs):
        raise RuntimeError("a bug in the checker")
    return check_chunk(jobs)


def interrupt_self(jobs: list[Job]) -> bytes:
    """Ctrl-C reaches the whole process group: a worker must leave it to the main process."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the signal is delivered while the job still runs
    return check_chunk(jobs)


def hang_and_say(jobs: list[Job]) -> bytes:
    """Write this worker's pid where the test finds it, then never finish."""
    folder = Path(os.environ["PARSE_AHEAD_PIDS"])
    (folder / str(os.getpid())).write_text("", encoding="utf-8")
    time.sleep(600)
    return check_chunk(jobs)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail, rather than hang, if a broken pool is waited for."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("the read did not finish within 60 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    saved = structlog.get_config()
    structlog.reset_defaults()  # whatever an earlier test configured
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def mixed_tree(root: Path) -> Path:
    """Every kind of file and folder the reader treats on its own."""
    write_tree(
        root,
        {
            "good/pack.yaml": pack_doc("good"),
            **{f"good/triggers/t{i}.yaml": trigger_doc(f"Trigger {i}") for i in range(5)},
            "good/sensors/s.yaml": sensor_doc("good.t1"),
            "broken/pack.yaml": pack_doc("broken"),
            "broken/triggers/bad.yaml": "label: [unclosed\ndescription: x\n",
            "broken/triggers/dup.yaml": "label: a\nlabel: b\n",
            "invalid/pack.yaml": pack_doc("invalid", extra="colour: red\n"),
            "invalid/triggers/t.yaml": trigger_doc(extra="enabled: yes\n"),
            "invalid/sensors/s.yaml": "label: 12\ndescription: [1, 2]\n",
            "empty/pack.yaml": pack_doc("empty"),
            "empty/triggers/nothing.yaml": "",
            "two/pack.yaml": pack_doc("two"),
            "two/pack.yml": pack_doc("two"),
            "two/triggers/t.yaml": trigger_doc(),
            "nopack/triggers/t.yaml": trigger_doc(),
            "stray/pack.yaml": pack_doc("stray"),
            "stray/notes.yaml": "a: 1\n",
            ".store/real/pack.yaml": pack_doc("real"),
            ".store/real/triggers/t.yaml": trigger_doc("Real"),
            ".store/shared.yaml": trigger_doc("Shared through a link"),
        },
    )
    (root / "latin" / "triggers").mkdir(parents=True)
    (root / "latin" / "pack.yaml").write_text(pack_doc("latin"), encoding="utf-8")
    (root / "latin" / "triggers" / "cafe.yaml").write_bytes(b"label: caf\xe9\ndescription: x\n")
    (root / "linked").symlink_to(root / ".store" / "real")  # a pack folder that is a link
    (root / "good" / "triggers" / "via_link.yaml").symlink_to(root / ".store" / "shared.yaml")
    return root


def sequential(root: Path) -> tuple[DesiredState, DocumentCache]:
    cache = DocumentCache()
    return read_tree(root, cache), cache


def documents(cache: DocumentCache) -> dict[str, tuple[tuple[int, int, int, int], Document]]:
    return dict(cache.entries)


def test_the_pool_gives_exactly_what_the_reader_gives_alone(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    alone, alone_cache = sequential(root)
    cache = DocumentCache()
    ahead = parse_ahead(root, cache, **FORCED)
    state = read_tree(root, cache)
    assert state == alone
    assert documents(cache) == documents(alone_cache)
    assert cache.parsed == alone_cache.parsed  # the reader parsed only what was left to it
    # Left to the reader: the linked folder, and the folder with two pack files.
    left = {"linked/pack.yaml", "linked/triggers/t.yaml", "two/pack.yaml", "two/triggers/t.yaml"}
    assert ahead == alone_cache.parsed - len(left)
    # The problems are located as a read in one process locates them.
    problems = {(p.path, p.line, p.column, p.field, p.message) for p in alone.problems}
    assert problems == {(p.path, p.line, p.column, p.field, p.message) for p in state.problems}
    assert ("broken/triggers/dup.yaml", 2) in {(p.path, p.line) for p in state.problems}
    assert any(p.path == "latin/triggers/cafe.yaml" for p in state.problems)


def test_documents_parsed_ahead_are_filed_under_the_signature_the_reader_takes(
    tmp_path: Path,
) -> None:
    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    parse_ahead(root, cache, **FORCED)
    parsed = cache.parsed
    read_tree(root, cache)
    read_tree(root, cache)
    assert cache.parsed == parsed + 4  # the two folders left to the reader, once


def test_a_file_edited_after_parsing_ahead_is_read_again(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    parse_ahead(root, cache, **FORCED)
    edited = root / "good" / "triggers" / "t3.yaml"
    edited.write_text(trigger_doc("Edited after parsing ahead"), encoding="utf-8")
    state = read_tree(root, cache)
    assert state.packs["good"].triggers["good.t3"].label == "Edited after parsing ahead"
    assert state == sequential(root)[0]


def test_a_worker_killed_mid_read_leaves_the_rest_to_the_reader(
    tmp_path: Path, deadline: None, logs: list[dict[str, Any]]
) -> None:
    root = mixed_tree(tmp_path / "packs")
    alone, alone_cache = sequential(root)
    cache = DocumentCache()
    ahead = parse_ahead(root, cache, **FORCED, job=die_on_broken)
    assert 0 <= ahead < alone_cache.parsed
    state = read_tree(root, cache)
    assert state == alone
    assert documents(cache) == documents(alone_cache)
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert "BrokenProcessPool" in warning["error"]


def test_a_worker_that_exits_at_once_costs_nothing_but_time(
    tmp_path: Path, deadline: None, logs: list[dict[str, Any]]
) -> None:
    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    assert parse_ahead(root, cache, **FORCED, job=exit_at_once) == 0
    assert read_tree(root, cache) == sequential(root)[0]
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [
        "parsing in worker processes failed; the rest is parsed in this process"
    ]


def test_an_error_in_a_worker_is_left_to_the_reader(
    tmp_path: Path, deadline: None, logs: list[dict[str, Any]]
) -> None:
    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    parse_ahead(root, cache, **FORCED, job=fail_on_broken)
    assert read_tree(root, cache) == sequential(root)[0]
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["error"] == "RuntimeError: a bug in the checker"


def test_workers_leave_ctrl_c_to_the_main_process(
    tmp_path: Path, deadline: None, logs: list[dict[str, Any]]
) -> None:
    root = mixed_tree(tmp_path / "packs")
    alone, alone_cache = sequential(root)
    cache = DocumentCache()
    assert parse_ahead(root, cache, **FORCED, job=interrupt_self) == alone_cache.parsed - 4
    assert [entry for entry in logs if entry["log_level"] == "warning"] == []
    assert read_tree(root, cache) == alone


def test_a_cancelled_read_stops_the_pool(tmp_path: Path, deadline: None) -> None:
    class Cancelled(Exception):
        pass

    def cancel() -> None:
        raise Cancelled

    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    with pytest.raises(Cancelled):
        parse_ahead(root, cache, **FORCED, check=cancel)
    assert cache.parsed == 3  # the first chunk (one folder), filed before the check


def test_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    """No orphan waits for work for ever after `kill -9` of attune-sync."""
    root = mixed_tree(tmp_path / "packs")
    pids = tmp_path / "pids"
    pids.mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        from attune_sync.documents import DocumentCache
        from core.test_parse_ahead import hang_and_say
        if __name__ == "__main__":
            from attune_sync.parse_ahead import parse_ahead
            parse_ahead({str(root)!r}, DocumentCache(), workers=2, threshold=1, chunk_files=2,
                        job=hang_and_say)
        """
    )
    tests = Path(__file__).resolve().parents[1]
    src = tests.parent / "src"
    env = {**os.environ, "PARSE_AHEAD_PIDS": str(pids)}
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(tests)])
    main = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        started = time.monotonic()
        while len(list(pids.iterdir())) < 2:
            assert time.monotonic() - started < 30, "the workers never started"
            assert main.poll() is None, "the main process ended early"
            time.sleep(0.05)
    finally:
        main.kill()
        main.wait()
    workers = [int(path.name) for path in pids.iterdir()]
    started = time.monotonic()
    try:
        while any(_running(pid) for pid in workers):
            assert time.monotonic() - started < 10, "a worker outlived the main process"
            time.sleep(0.1)
    finally:
        for pid in filter(_running, workers):  # a failed run leaves no orphan behind
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_too_few_files_to_parse_are_parsed_here(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    alone, alone_cache = sequential(root)
    cache = DocumentCache()
    # Below the threshold: no pool, and the files already read are not read again.
    assert parse_ahead(root, cache, workers=2, threshold=1000) == alone_cache.parsed - 4
    assert read_tree(root, cache) == alone
    assert cache.parsed == alone_cache.parsed


def test_one_worker_means_no_parsing_ahead(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    for workers in (0, 1):
        cache = DocumentCache()
        assert parse_ahead(root, cache, workers=workers, threshold=1) == 0
        assert cache.entries == {}
    assert parsed_ahead(root) is not None  # the default: every usable CPU (two here)


def test_stored_documents_are_reused_not_parsed(tmp_path: Path) -> None:
    """A document the read cache holds for the same bytes is filed, not parsed (a fresh
    checkout: every signature new, every digest known)."""
    root = mixed_tree(tmp_path / "packs")
    _, alone_cache = sequential(root)
    stored = [document for _, document in alone_cache.entries.values()]
    edited = root / "good" / "triggers" / "t0.yaml"
    edited.write_text(trigger_doc("Changed"), encoding="utf-8")
    cache = DocumentCache()
    seed(cache, stored)
    assert parse_ahead(root, cache, **FORCED) == 1
    state = read_tree(root, cache)
    assert cache.parsed == 1
    assert state == sequential(root)[0]


def test_what_the_shortcut_hashed_spares_listing_the_tree(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    _, alone_cache = sequential(root)
    known = _known(alone_cache)
    cache = DocumentCache()
    seed(cache, [document for _, document in alone_cache.entries.values()], known)
    # Every file has a document: nothing is listed or parsed.
    assert parse_ahead(root, cache, **FORCED, known=known) == 0
    assert cache.parsed == 0
    unknown = {**known, "good/triggers/t0.yaml": (known["good/triggers/t0.yaml"][0], "new")}
    (root / "good" / "triggers" / "t0.yaml").write_text(trigger_doc("New"), encoding="utf-8")
    assert parse_ahead(root, cache, **FORCED, known=unknown) == 1


def _known(cache: DocumentCache) -> dict[str, tuple[tuple[int, int, int, int], str]]:
    return {relpath: (stat, doc.digest) for relpath, (stat, doc) in cache.entries.items()}


def test_only_the_folders_a_daemon_reads_again_are_parsed_ahead(tmp_path: Path) -> None:
    root = mixed_tree(tmp_path / "packs")
    cache = DocumentCache()
    previous = read_tree(root, cache)
    parsed = cache.parsed
    write_tree(root, {"good/triggers/t0.yaml": trigger_doc("Changed")})
    write_tree(root, {"invalid/triggers/t.yaml": trigger_doc("Also changed")})
    write_tree(root, {"added/pack.yaml": pack_doc("added"), "added/triggers/a.yaml": "x: 1\n"})
    ahead = parse_ahead(root, cache, previous=previous, only={"good"}, **FORCED)
    assert ahead == 3  # good's changed file, and the new folder; not `invalid`
    state = read_tree(root, cache, previous=previous, only={"good"})
    assert cache.parsed == parsed + 3
    assert state.packs["good"].triggers["good.t0"].label == "Changed"


def test_a_missing_root_is_left_to_the_reader(tmp_path: Path) -> None:
    assert parse_ahead(tmp_path / "nowhere", DocumentCache(), **FORCED) == 0
