"""Issue 10's daemon items: one leader per SQLite file, a leader check that cannot hang, an
abandoned run that /readyz reports, what a run logs, polling that misses no save, and
`status` not loading the daemon's libraries."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from attune_sync import reconciler as reconciler_module
from attune_sync.db.engine import make_engine
from attune_sync.db.leadership import LeadershipLost, PostgresLeadership
from attune_sync.db.migrate import upgrade
from attune_sync.reader import read_tree

from .helpers import (
    REPO,
    free_port,
    http_get,
    http_json,
    running,
    settings,
    trigger_labels,
    trigger_yaml,
    wait_for,
    write,
    write_pack,
)

# --------------------------------------------------------------------------- leadership


def test_two_daemons_on_one_sqlite_file_one_leads_the_other_waits(
    tmp_path: Path, sqlite_url: str
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    with running(settings(packs, sqlite_url)) as first:
        wait_for(lambda: first.state.ready)
        with running(settings(packs, sqlite_url)) as second:
            wait_for(lambda: second.state.snapshot()["database_reachable"])
            assert first.state.leader
            assert not second.state.leader
            assert second.state.runs == type(second.state.runs)()  # it never ran
            first.stop()
            assert first.finished.wait(5)
            wait_for(lambda: second.state.leader, timeout=5)
            wait_for(lambda: second.state.ready)


class FreezableProxy:
    """A TCP proxy on loopback that can stop forwarding (a stuck network path)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while not self.closed.is_set():
            if self.frozen.is_set():
                self.closed.wait(0.05)
                continue
            ready, _, _ = select.select(list(peers), [], [], 0.05)
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                peers[sock].sendall(data)

    def close(self) -> None:
        self.closed.set()
        for sock in self.sockets:
            sock.close()


def test_the_leader_check_gives_up_on_a_stuck_connection(pg_url: str) -> None:
    url = make_url(pg_url)
    proxy = FreezableProxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    leadership = PostgresLeadership(through, check_timeout=0.5)
    outcome: list[Any] = []
    try:
        assert leadership.try_acquire()
        proxy.frozen.set()

        def check() -> None:
            try:
                outcome.append(leadership.try_acquire())
            except Exception as error:
                outcome.append(error)

        checker = threading.Thread(target=check, daemon=True)
        checker.start()
        checker.join(20)  # unfixed, the check waits for ever
        assert not checker.is_alive(), "the leader check hung on a stuck connection"
        assert isinstance(outcome[0], LeadershipLost)
    finally:
        leadership.release()
        proxy.close()


# --------------------------------------------------------------------------- abandoned


def test_readyz_says_when_a_run_was_abandoned(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    release = threading.Event()
    entered = threading.Event()

    def stuck_read(root: str, cache: object = None, **reuse: object) -> object:
        if "stuck" in (packs / "alpha/triggers/one.yaml").read_text():
            entered.set()
            release.wait(10)  # a pack that takes for ever to read
        return read_tree(root, cache, **reuse)  # type: ignore[arg-type]

    with running(settings(packs, sqlite_url)) as daemon:
        address = daemon.http_address
        assert address is not None
        wait_for(lambda: daemon.state.ready)
        monkeypatch.setattr(reconciler_module, "read_tree", stuck_read)
        write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", "stuck"))
        assert entered.wait(5)
        daemon.guard.expire()  # the watchdog fires (driven here, not by the clock)
        code, body = http_get(address, "/readyz")
        assert code == 503
        assert "run-timeout" in json.loads(body)["abandoned"]
        # The cancelled run rolls back; the retry reads again (unhindered) and syncs.
        monkeypatch.setattr(reconciler_module, "read_tree", read_tree)
        release.set()
        wait_for(lambda: http_get(address, "/readyz")[0] == 200, timeout=5)
        assert trigger_labels(make_engine(sqlite_url)) == {"alpha.one": "stuck"}
        results = [run["result"] for run in daemon.state.snapshot()["recent_runs"]]
        assert "failed" in results


# --------------------------------------------------------------------------- logs


@contextmanager
def watch_process(cwd: Path, env: dict[str, str]) -> Iterator[Path]:
    log_path = cwd / "daemon.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "attune_sync.cli", "watch", "--log-format", "json"],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO / "src"), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield log_path
        finally:
            process.terminate()
            process.wait(10)


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_the_daemon_logs_its_database_each_change_and_each_invalid_pack(
    tmp_path: Path, pg_url: str
) -> None:
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    write_pack(packs / "beta", "beta", {})
    # Issue 12: a missing label is generated now; a misspelt key still makes the pack invalid.
    write(packs / "beta/triggers/bad.yaml", "ref: beta.bad\nlable: misspelt\n")
    with_password = make_url(pg_url).set(password="s3cret-pw").render_as_string(False)
    port = free_port()
    env = {"ATTUNE_SYNC_DATABASE_URL": with_password, "ATTUNE_SYNC_LISTEN": f"127.0.0.1:{port}"}
    with watch_process(tmp_path, env) as log:
        address = ("127.0.0.1", port)
        wait_for(lambda: "alpha" in http_json(address, "/status")["packs"], timeout=8)
        write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", "Very secret label"))
        engine = make_engine(pg_url)
        wait_for(lambda: trigger_labels(engine)["alpha.one"] == "Very secret label", 5)
        engine.dispose()
        wait_for(lambda: any(e.get("fields") == ["label"] for e in log_lines(log)), 5)
    text = log.read_text()
    assert "s3cret-pw" not in text
    assert "Very secret label" not in text
    events = log_lines(log)
    start = next(e for e in events if e["event"] == "watching")
    assert start["packs_dir"] == "packs"
    assert "***" in start["database"]
    assert make_url(pg_url).database in start["database"]
    changes = [e for e in events if e["event"] == "change"]
    assert {"action": "update", "kind": "trigger", "ref": "alpha.one", "fields": ["label"]} in [
        {k: e[k] for k in ("action", "kind", "ref", "fields")} for e in changes
    ]
    invalid = next(e for e in events if e["event"] == "invalid pack left as it is")
    assert invalid["folder"] == "beta"
    assert "label" in invalid["first_errors"][0]


# --------------------------------------------------------------------------- polling


def test_polling_sees_every_save_in_quick_succession(tmp_path: Path, sqlite_url: str) -> None:
    """8 saves 0.2 s apart, same size: the last must arrive without a full sync."""
    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "L0"})
    engine = make_engine(sqlite_url)
    upgrade(engine)
    config = settings(packs, sqlite_url, force_polling=True, full_sync_interval=600)
    with running(config) as daemon:
        wait_for(lambda: daemon.state.ready)
        for i in range(1, 9):
            write(packs / "alpha/triggers/one.yaml", trigger_yaml("alpha", "one", f"L{i}"))
            time.sleep(0.2)  # the scenario: an editor saving repeatedly
        wait_for(lambda: trigger_labels(engine)["alpha.one"] == "L8", timeout=5)
    engine.dispose()


# --------------------------------------------------------------------------- imports


def test_other_commands_do_not_load_the_daemons_libraries() -> None:
    code = (
        "import sys, attune_sync.cli, attune_sync.daemon, attune_sync.status; "
        "print(sorted(m for m in ('watchfiles', 'prometheus_client') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- drift


def test_report_mode_reports_a_deleted_managed_pack_and_never_recreates_it(
    tmp_path: Path, db_url: str
) -> None:
    from sqlalchemy import delete, select

    from attune_sync.db import schema as t

    packs = tmp_path / "packs"
    write_pack(packs / "alpha", "alpha", {"one": "One"})
    write_pack(packs / "beta", "beta", {"one": "One"})
    engine = make_engine(db_url)
    upgrade(engine)
    config = settings(packs, db_url, full_sync_interval=0.3, drift="report")
    with running(config) as daemon:
        wait_for(lambda: daemon.state.ready)
        with engine.begin() as conn:
            conn.execute(delete(t.pack).where(t.pack.c.ref == "alpha"))
        wait_for(
            lambda: (
                {"action": "create", "kind": "pack", "ref": "alpha"}
                in daemon.state.snapshot()["drift"]
            ),
            timeout=5,
        )
        runs = len(daemon.state.runs)
        wait_for(lambda: len(daemon.state.runs) >= runs + 2, timeout=5)  # more full syncs
        with engine.connect() as conn:
            assert [r for (r,) in conn.execute(select(t.pack.c.ref))] == ["beta"]
    engine.dispose()


# --------------------------------------------------------------------------- settings


def test_the_full_compare_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from attune_sync.cli import watch
    from attune_sync.cli.app import main
    from attune_sync.daemon import settings as daemon_settings
    from attune_sync.reconciler import FULL_COMPARE_EVERY_S

    assert watch.DEFAULT_FULL_COMPARE_INTERVAL_S == daemon_settings.DEFAULT_FULL_COMPARE_INTERVAL_S
    assert daemon_settings.DEFAULT_FULL_COMPARE_INTERVAL_S == FULL_COMPARE_EVERY_S
    seen: list[Any] = []
    from attune_sync.daemon import commands

    def run_daemon(settings: Any, **_exits: int) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr(commands, "run_daemon", run_daemon)
    monkeypatch.setenv("ATTUNE_SYNC_FULL_COMPARE_INTERVAL", "120")
    assert main(["watch", "--listen", "off"]) == 0
    assert seen[0].full_compare_interval == 120.0
    monkeypatch.setenv("ATTUNE_SYNC_FULL_COMPARE_INTERVAL", "nan")
    with pytest.raises(SystemExit) as stop:
        main(["watch", "--listen", "off"])
    assert stop.value.code == 64
