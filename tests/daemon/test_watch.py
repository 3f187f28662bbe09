"""The daemon in-process with a real watchfiles watcher and a real database."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import make_url

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade

from .helpers import (
    GitSync,
    http_get,
    http_json,
    libpq_admin_url,
    running,
    settings,
    trigger_labels,
    trigger_yaml,
    wait_for,
    write,
    write_pack,
)


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def test_edits_additions_and_removals_reach_the_database(tmp_path: Path, db_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One", "two": "Two"})
    engine = _engine(db_url)
    with running(settings(packs, db_url)) as daemon:
        address = daemon.http_address
        assert address is not None
        wait_for(lambda: http_get(address, "/readyz")[0] == 200)
        assert trigger_labels(engine) == {"alpha.one": "One", "alpha.two": "Two"}

        edited = time.monotonic()
        write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", "One, edited"))
        wait_for(lambda: trigger_labels(engine)["alpha.one"] == "One, edited", timeout=2)
        assert time.monotonic() - edited < 2

        write(packs / "alpha/triggers/three.yaml", trigger_yaml("alpha", "three", "Three"))
        wait_for(lambda: "alpha.three" in trigger_labels(engine), timeout=2)
        (packs / "alpha/triggers/two.yaml").unlink()
        wait_for(lambda: "alpha.two" not in trigger_labels(engine), timeout=2)

        status = http_json(address, "/status")
        assert status["ready"] is True
        assert status["packs"] == {"alpha": {"state": "in_sync"}}
        assert [r["result"] for r in status["recent_runs"][:1]] == ["applied"]
        metrics = http_get(address, "/metrics")[1]
        assert 'attune_sync_runs_total{result="applied"}' in metrics
        assert 'attune_sync_objects_changed_total{action="update",kind="trigger"} 1.0' in metrics
        assert 'attune_sync_objects_changed_total{action="delete",kind="trigger"} 1.0' in metrics
        assert "attune_sync_leader 1.0" in metrics
        assert http_get(address, "/healthz")[0] == 200
    engine.dispose()


def test_a_burst_of_writes_becomes_one_run(tmp_path: Path, sqlite_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    with running(settings(packs, sqlite_url, quiet_period=0.3)) as daemon:
        wait_for(lambda: daemon.state.ready)
        before = len(daemon.state.runs)
        for i in range(20):  # a checkout touching many files within the quiet period
            write(packs / "alpha/triggers" / f"t{i}.yaml", trigger_yaml("alpha", f"t{i}", "T"))
        wait_for(lambda: len(daemon.state.runs) > before, timeout=3)
        time.sleep(0.6)  # long enough for a second run to show up if the burst were split
        assert len(daemon.state.runs) == before + 1
        assert daemon.state.runs[0]["created"] == 20


def test_packs_root_missing_at_start_means_wait(tmp_path: Path, sqlite_url: str) -> None:
    sync_root = tmp_path / "git"
    sync_root.mkdir()
    git = GitSync(sync_root)
    engine = _engine(sqlite_url)
    with running(settings(git.link, sqlite_url)) as daemon:
        address = daemon.http_address
        assert address is not None
        wait_for(lambda: daemon.metrics.runs.labels("unreadable")._value.get() >= 2)
        assert http_get(address, "/readyz")[0] == 503
        assert http_get(address, "/healthz")[0] == 200
        commit = git.publish(lambda wt: write_pack(wt / "alpha", "alpha", {"one": "First"}))
        wait_for(lambda: trigger_labels(engine) == {"alpha.one": "First"}, timeout=3)
        wait_for(lambda: http_get(address, "/readyz")[0] == 200)
        with engine.connect() as conn:
            revision = conn.execute(
                select(t.sync_run.c.revision).order_by(t.sync_run.c.id.desc()).limit(1)
            ).scalar()
        assert revision == commit
    engine.dispose()


def _build(commit_no: int, packs: int = 4, triggers: int = 5) -> Callable[[Path], None]:
    def build(worktree: Path) -> None:
        for p in range(packs):
            write_pack(
                worktree / f"p{p}",
                f"p{p}",
                {f"t{i}": f"commit {commit_no}" for i in range(triggers)},
            )

    return build


@pytest.mark.parametrize("through", ["", "packs"], ids=["link", "path-through-link"])
def test_git_sync_swaps_never_apply_a_mixed_tree(tmp_path: Path, db_url: str, through: str) -> None:
    git = GitSync(tmp_path / "git", subdir=through)
    git.publish(_build(0))
    engine = _engine(db_url)
    seen: set[frozenset[str]] = set()
    packs_dir = git.link / through if through else git.link
    with running(settings(packs_dir, db_url, quiet_period=0.02)) as daemon:
        wait_for(lambda: daemon.state.ready)
        for n in range(1, 31):
            git.publish(_build(n))
            # Every committed state must come from exactly one commit.
            seen.add(frozenset(trigger_labels(engine).values()))
            time.sleep(0.01 * (n % 4))
        wait_for(lambda: set(trigger_labels(engine).values()) == {"commit 30"}, timeout=5)
        wait_for(lambda: daemon.state.snapshot()["revision"] == git.commits[-1])
    assert all(len(labels) == 1 for labels in seen), seen
    with engine.connect() as conn:
        runs = conn.execute(select(t.sync_run.c.result, t.sync_run.c.revision)).all()
    assert {result for result, _ in runs} <= {"applied", "noop"}
    assert runs[-1].revision == git.commits[-1]
    assert len(trigger_labels(engine)) == 20
    engine.dispose()


@pytest.mark.parametrize("mode", ["revert", "report"])
def test_drift(tmp_path: Path, sqlite_url: str, mode: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = _engine(sqlite_url)
    config = settings(packs, sqlite_url, full_sync_interval=0.3, drift=mode)
    with running(config) as daemon:
        wait_for(lambda: daemon.state.ready)
        with engine.begin() as conn:
            conn.execute(update(t.trigger).values(label="changed by hand"))
        wait_for(lambda: daemon.metrics.drift_found._value.get() >= 1, timeout=3)
        if mode == "revert":
            wait_for(lambda: trigger_labels(engine)["alpha.one"] == "One")
        else:
            time.sleep(0.4)  # at least one more full sync
            assert trigger_labels(engine)["alpha.one"] == "changed by hand"
            assert daemon.state.snapshot()["drift"] == [
                {"action": "update", "kind": "trigger", "ref": "alpha.one"}
            ]
            # A real edit is still applied in report mode.
            write(packs / "alpha/triggers/two.yaml", trigger_yaml("alpha", "two", "Two"))
            wait_for(lambda: "alpha.two" in trigger_labels(engine), timeout=2)
    engine.dispose()


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_admin_url(), autocommit=True, connect_timeout=5)


def test_database_down_then_up(tmp_path: Path, pg_url: str) -> None:
    """The database does not exist at start; the daemon waits, not ready, then syncs."""
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    name = make_url(pg_url).database
    missing = f"{name}_later"
    url = make_url(pg_url).set(database=missing).render_as_string(hide_password=False)
    try:
        with running(settings(packs, url)) as daemon:
            address = daemon.http_address
            assert address is not None
            wait_for(lambda: "database not ready" in " ".join(daemon.state.snapshot()["errors"]))
            assert http_get(address, "/readyz")[0] == 503
            assert http_get(address, "/healthz")[0] == 200
            with _admin() as admin:
                admin.execute(f'CREATE DATABASE "{missing}"')
            wait_for(lambda: http_get(address, "/readyz")[0] == 200, timeout=5)
            engine = make_engine(url)
            assert trigger_labels(engine) == {"alpha.one": "One"}
            engine.dispose()
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{missing}" WITH (FORCE)')


def test_a_blocked_run_times_out_rolls_back_and_is_retried(tmp_path: Path, pg_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = _engine(pg_url)
    blocker = engine.connect()
    blocker.exec_driver_sql("LOCK TABLE pack IN ACCESS EXCLUSIVE MODE")
    try:
        with running(settings(packs, pg_url, run_timeout=0.5)) as daemon:
            address = daemon.http_address
            assert address is not None
            wait_for(lambda: daemon.metrics.runs.labels("failed")._value.get() >= 1, timeout=5)
            assert http_get(address, "/readyz")[0] == 503
            blocker.rollback()
            wait_for(lambda: http_get(address, "/readyz")[0] == 200, timeout=5)
            assert trigger_labels(engine) == {"alpha.one": "One"}
            with engine.connect() as conn:
                results = [r for (r,) in conn.execute(select(t.sync_run.c.result))]
            assert "failed" in results
            assert results[-1] == "applied"
    finally:
        blocker.close()
        engine.dispose()


def test_stop_during_a_blocked_run_rolls_it_back(tmp_path: Path, pg_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = _engine(pg_url)
    blocker = engine.connect()
    blocker.exec_driver_sql("LOCK TABLE pack IN ACCESS EXCLUSIVE MODE")
    try:
        config = settings(packs, pg_url, run_timeout=30, shutdown_timeout=0.5)
        with running(config) as daemon:
            wait_for(lambda: daemon._active is not None, timeout=5)
            stopped = time.monotonic()
            daemon.stop()
            assert daemon.finished.wait(3)
            assert time.monotonic() - stopped < 2
        blocker.rollback()
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.pack)).scalar() == 0
    finally:
        blocker.close()
        engine.dispose()


def test_tree_changed_mid_read_is_retried_not_deleted(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose files vanish while it reads is thrown away, never read as deletions."""
    from attune_sync import reconciler
    from attune_sync.reader import TreeChanged, read_tree

    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One", "two": "Two"})
    engine = _engine(sqlite_url)
    calls = {"n": 0}

    def flaky_read(root: str, cache: object = None, **reuse: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:  # the first run after the edits
            raise TreeChanged("files vanished while being read")
        return read_tree(root, cache, **reuse)  # type: ignore[arg-type]

    with running(settings(packs, sqlite_url)) as daemon:
        wait_for(lambda: daemon.state.ready)
        monkeypatch.setattr(reconciler, "read_tree", flaky_read)
        (packs / "alpha/triggers/two.yaml").unlink()
        write(packs / "alpha/triggers/three.yaml", trigger_yaml("alpha", "three", "Three"))
        wait_for(lambda: "alpha.three" in trigger_labels(engine), timeout=3)
        assert daemon.metrics.runs.labels("tree_changed")._value.get() == 1
        assert set(trigger_labels(engine)) == {"alpha.one", "alpha.three"}
    engine.dispose()


def test_an_edit_re_parses_only_the_edited_file(tmp_path: Path, sqlite_url: str) -> None:
    """The other files are neither re-parsed nor, outside the edited pack folder, re-read."""
    packs = tmp_path / "packs"
    for name in ("alpha", "beta", "gamma"):
        write_pack(packs / name, name, {"one": "One", "two": "Two"})
    engine = _engine(sqlite_url)
    with running(settings(packs, sqlite_url)) as daemon:
        wait_for(lambda: daemon.state.ready)
        parsed = daemon.reconciler.cache.parsed
        write(packs / "beta/triggers/one.yaml", trigger_yaml("beta", "one", "Edited"))
        wait_for(lambda: trigger_labels(engine).get("beta.one") == "Edited", timeout=3)
        assert daemon.reconciler.cache.parsed - parsed == 1
    engine.dispose()


def test_report_mode_applies_tree_edits_without_reverting_drift_elsewhere(
    tmp_path: Path, sqlite_url: str
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    write_pack(packs / "beta", "beta", {"one": "One"})
    engine = _engine(sqlite_url)
    config = settings(packs, sqlite_url, full_sync_interval=0.3, drift="report")
    with running(config) as daemon:
        wait_for(lambda: daemon.state.ready)
        with engine.begin() as conn:
            conn.execute(
                update(t.trigger).where(t.trigger.c.ref == "alpha.one").values(label="by hand")
            )
        wait_for(lambda: daemon.metrics.drift_found._value.get() >= 1, timeout=3)
        write(packs / "beta/triggers/two.yaml", trigger_yaml("beta", "two", "Two"))
        wait_for(lambda: "beta.two" in trigger_labels(engine), timeout=3)
        time.sleep(0.4)  # another full sync
        assert trigger_labels(engine)["alpha.one"] == "by hand"
    engine.dispose()


def test_reported_drift_clears_once_someone_fixes_it(tmp_path: Path, sqlite_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = _engine(sqlite_url)
    config = settings(packs, sqlite_url, full_sync_interval=0.3, drift="report")
    with running(config) as daemon:
        wait_for(lambda: daemon.state.ready)
        with engine.begin() as conn:
            conn.execute(update(t.trigger).values(label="changed by hand"))
        wait_for(lambda: daemon.state.snapshot()["drift"] != [], timeout=3)
        with engine.begin() as conn:
            conn.execute(update(t.trigger).values(label="One"))
        wait_for(lambda: daemon.state.snapshot()["drift"] == [], timeout=3)
    engine.dispose()
