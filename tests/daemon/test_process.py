"""`attune-sync watch` as a separate process: signals, the user's flow, two replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

from attune_sync.db import schema as t
from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade

from .helpers import (
    REPO,
    free_port,
    http_get,
    http_json,
    trigger_labels,
    trigger_yaml,
    wait_for,
    write,
    write_pack,
)

SHUTDOWN_TIMEOUT = 1.0
GRACE = 3.0  # commands.SHUTDOWN_GRACE_S: the documented bound is shutdown-timeout + 3 s


def watch_command() -> list[str]:
    return [sys.executable, "-m", "attune_sync.cli", "watch"]


def run_waiting_on_lock(engine: Engine) -> bool:
    """A daemon's run is inside its transaction, waiting for the test's table lock."""
    # A fresh connection each time: pg_stat_activity is a snapshot per transaction.
    with engine.connect() as conn:
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND application_name = 'attune-sync' AND datname = current_database()"
        ).scalar()
    return bool(waiting)


@contextmanager
def watch_process(
    args: list[str], cwd: Path, port: int
) -> Iterator[tuple[subprocess.Popen[bytes], tuple[str, int]]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "ATTUNE_SYNC_LISTEN": f"127.0.0.1:{port}",
        "ATTUNE_SYNC_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "ATTUNE_SYNC_BACKOFF_MAX": "0.5",
    }
    log = (cwd / f"daemon-{port}.log").open("wb")
    process = subprocess.Popen(
        [*watch_command(), *args], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process, ("127.0.0.1", port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
        log.close()


def test_user_flow_edit_a_label_in_an_editor(tmp_path: Path) -> None:
    """`attune-sync watch packs`, default database; an edited label lands within 2 s."""
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    port = free_port()
    with watch_process(["packs"], tmp_path, port) as (process, address):
        wait_for(lambda: http_get(address, "/readyz")[0] == 200, timeout=8)
        engine = make_engine(f"sqlite:///{tmp_path / 'attune-sync.db'}")
        edited = time.monotonic()
        write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", "New label"))
        wait_for(lambda: trigger_labels(engine) == {"alpha.one": "New label"}, timeout=2)
        assert time.monotonic() - edited < 2
        engine.dispose()
        wait_for(lambda: http_json(address, "/status")["recent_runs"][0]["updated"] == 1)
        metrics = http_get(address, "/metrics")[1]
        assert 'attune_sync_runs_total{result="applied"} 2.0' in metrics
        assert 'attune_sync_objects_changed_total{action="update",kind="trigger"} 1.0' in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(SHUTDOWN_TIMEOUT + GRACE) == 0


def test_sigterm_in_the_middle_of_a_run(tmp_path: Path, pg_url: str) -> None:
    """The run is stuck inside its transaction; SIGTERM cancels it, exit 0, nothing applied."""
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = make_engine(pg_url)
    upgrade(engine)
    blocker = engine.connect()
    blocker.exec_driver_sql("LOCK TABLE pack IN ACCESS EXCLUSIVE MODE")
    try:
        args = [str(packs), "--database", pg_url, "--run-timeout", "30"]
        with watch_process(args, tmp_path, free_port()) as (process, _address):
            wait_for(lambda: run_waiting_on_lock(engine), timeout=8)
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(SHUTDOWN_TIMEOUT + GRACE) == 0
            assert time.monotonic() - signalled < SHUTDOWN_TIMEOUT + GRACE
        blocker.rollback()
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.pack)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(t.trigger)).scalar() == 0
    finally:
        blocker.close()
        engine.dispose()


def test_sigterm_lets_a_short_run_finish(tmp_path: Path, pg_url: str) -> None:
    """Released within the shutdown timeout, the run commits whole before the exit."""
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One", "two": "Two"})
    engine = make_engine(pg_url)
    upgrade(engine)
    blocker = engine.connect()
    blocker.exec_driver_sql("LOCK TABLE pack IN ACCESS EXCLUSIVE MODE")
    try:
        args = [str(packs), "--database", pg_url]
        with watch_process(args, tmp_path, free_port()) as (process, _address):
            wait_for(lambda: run_waiting_on_lock(engine), timeout=8)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            blocker.rollback()
            assert process.wait(SHUTDOWN_TIMEOUT + GRACE) == 0
        assert trigger_labels(engine) == {"alpha.one": "One", "alpha.two": "Two"}
    finally:
        blocker.close()
        engine.dispose()


def test_two_daemons_one_leader_and_takeover(tmp_path: Path, pg_url: str) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    engine = make_engine(pg_url)
    args = [str(packs), "--database", pg_url]
    with (
        watch_process(args, tmp_path, free_port()) as (first, first_address),
        watch_process(args, tmp_path, free_port()) as (second, second_address),
    ):
        wait_for(lambda: http_get(first_address, "/readyz")[0] == 200, timeout=8)
        wait_for(lambda: http_get(second_address, "/readyz")[0] == 200, timeout=8)
        leaders = [http_json(a, "/status")["leader"] for a in (first_address, second_address)]
        assert sorted(leaders) == [False, True]
        leader, standby = (first, second) if leaders[0] else (second, first)
        standby_address = second_address if leaders[0] else first_address
        assert http_json(standby_address, "/status")["recent_runs"] == []

        leader.kill()  # no goodbye: PostgreSQL frees the lock when the connection drops
        leader.wait(5)
        write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", "After takeover"))
        wait_for(lambda: http_json(standby_address, "/status")["leader"], timeout=5)
        wait_for(lambda: trigger_labels(engine) == {"alpha.one": "After takeover"}, timeout=5)
        assert "attune_sync_leader 1.0" in http_get(standby_address, "/metrics")[1]
        assert standby.poll() is None
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(SHUTDOWN_TIMEOUT + GRACE) == 0
    engine.dispose()
