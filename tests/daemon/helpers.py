"""Pack trees, a simulated git-sync, and an in-process daemon for the daemon tests."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from attune_sync.daemon import Daemon, Settings
from attune_sync.db import schema as t

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "ATTUNE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def libpq_admin_url() -> str:
    """The admin URL as psycopg takes it (the same server conftest.py creates databases on)."""
    return make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def write(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_pack(folder: Path, ref: str, triggers: dict[str, str]) -> None:
    """A pack folder with one trigger file per (name -> label)."""
    write(
        folder / "pack.yaml",
        f"ref: {ref}\nlabel: {ref} pack\ndescription: The {ref} pack\nversion: '1.0.0'\n",
    )
    for name, label in triggers.items():
        write(folder / "triggers" / f"{name}.yaml", trigger_yaml(ref, name, label))


def trigger_yaml(pack: str, name: str, label: str) -> str:
    return f"ref: {pack}.{name}\nlabel: {label}\ndescription: fires\n"


def trigger_labels(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            str(r): str(lbl) for r, lbl in conn.execute(select(t.trigger.c.ref, t.trigger.c.label))
        }


def wait_for(check: Callable[[], Any], timeout: float = 5.0, every: float = 0.02) -> Any:
    """Poll until check() is truthy; fail with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value: Any = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception as error:  # the database may be down or mid-migration
            value = error
        else:
            if value:
                return value
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout}s; last value: {value!r}")


def http_get(address: tuple[str, int], path: str) -> tuple[int, str]:
    url = f"http://{address[0]}:{address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def http_json(address: tuple[str, int], path: str) -> Any:
    return json.loads(http_get(address, path)[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(packs_dir: Path | str, url: str, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "packs_dir": str(packs_dir),
        "database_url": url,
        "quiet_period": 0.1,
        "listen": "127.0.0.1:0",
        "backoff_max": 0.5,
        "leader_retry": 0.2,
        "link_recheck": 0.2,
        "run_timeout": 5.0,
        "shutdown_timeout": 2.0,
    }
    values.update(over)
    return Settings(**values)


@contextmanager
def running(config: Settings) -> Iterator[Daemon]:
    """A daemon running in a thread with a real watcher; stopped and joined afterwards."""
    daemon = Daemon(config)
    thread = threading.Thread(target=daemon.run, name="daemon-under-test")
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        thread.join(10)
        assert not thread.is_alive(), "the daemon did not stop"


class GitSync:
    """git-sync v4's publishing: new worktree per commit, relative symlink swapped atomically."""

    def __init__(self, root: Path, link: str = "repo", subdir: str = "") -> None:
        self.root = root
        self.subdir = subdir
        """Where in the repository the packs live (PACKS_DIR is then a path through the link)."""
        self.link = root / link
        (root / ".worktrees").mkdir(parents=True, exist_ok=True)
        self.commits: list[str] = []

    def publish(self, build: Callable[[Path], None]) -> str:
        commit = hashlib.sha1(f"{len(self.commits)}-{time.time_ns()}".encode()).hexdigest()
        worktree = self.root / ".worktrees" / commit
        build(worktree / self.subdir if self.subdir else worktree)
        tmp = self.root / f".{self.link.name}.tmp"
        tmp.symlink_to(os.path.relpath(worktree, self.root))
        old = os.path.realpath(self.link) if self.link.is_symlink() else None
        os.replace(tmp, self.link)
        if old is not None:
            shutil.rmtree(old)
        self.commits.append(commit)
        return commit
