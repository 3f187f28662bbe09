"""The container's HEALTHCHECK: is this container's attune-sync alive?

`python -m attune_sync.healthcheck` exits 0 when healthy, 1 when not. It finds the probe
address the way the command PID 1 runs does: a `--listen` on PID 1's command line wins over
the environment (ATTUNE_SYNC_LISTEN for `watch`, with the daemon's default; ATTUNE_SYNC_API_LISTEN
for `serve`, the API, default 127.0.0.1:3000). It then asks `/healthz` on the loopback
address of that interface. With the probes off (`off`, `none` or empty) there is nothing to
ask, so it checks that PID 1 is an attune-sync process that is neither a zombie nor
stopped: what the orchestrator would otherwise not see.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from .daemon.settings import DEFAULT_LISTEN, parse_listen

_OFF = ("", "off", "none")
_API_LISTEN = ("ATTUNE_SYNC_API_LISTEN", "127.0.0.1:3000")
"""`attune-sync serve`'s variable and default (see the API's commands)."""
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def listen_address(argv: Sequence[str], environ: dict[str, str]) -> str | None:
    """The daemon's probe address as `argv` (PID 1's command line) and `environ` set it."""
    variable, default = _API_LISTEN if "serve" in argv else ("ATTUNE_SYNC_LISTEN", DEFAULT_LISTEN)
    listen = environ.get(variable, default)
    for index, word in enumerate(argv):
        if word == "--listen" and index + 1 < len(argv):
            listen = argv[index + 1]
        elif word.startswith("--listen="):
            listen = word.partition("=")[2]
    return None if listen.strip().lower() in _OFF else listen


def probe_url(listen: str) -> str:
    """The /healthz URL to ask for a `host:port` the daemon listens on."""
    host, port = parse_listen(listen)
    host = _WILDCARDS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def _pid1_command() -> list[str]:
    with open("/proc/1/cmdline", "rb") as handle:
        return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]


def _pid1_alive() -> tuple[bool, str]:
    with open("/proc/1/stat", encoding="ascii", errors="replace") as handle:
        # "1 (name) S ...": the state follows the last ')', as the name may hold one.
        state = handle.read().rpartition(")")[2].split()[0]
    command = " ".join(_pid1_command())
    if "attune-sync" not in command and "attune_sync" not in command:
        return False, f"PID 1 is not attune-sync: {command!r}"
    if state in ("Z", "X", "T", "t"):
        return False, f"PID 1 is in state {state}"
    return True, f"probes are off; PID 1 ({command}) is running (state {state})"


def check(argv: Sequence[str], environ: dict[str, str], timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, why) for a daemon started with `argv` under `environ`."""
    listen = listen_address(argv, environ)
    if listen is None:
        return _pid1_alive()
    try:
        url = probe_url(listen)
    except ValueError as error:
        return False, str(error)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status == 200, f"{url}: HTTP {answer.status}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"


def main() -> int:
    try:
        argv = _pid1_command()
    except OSError:
        argv = []
    healthy, why = check(argv, dict(os.environ))
    print(why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
