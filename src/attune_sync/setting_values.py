"""Parsers for setting values (flags and environment variables): text in, a checked value out.

The same parser reads a flag and its environment variable, so `--max-delete-share nan` and
`ATTUNE_SYNC_MAX_DELETE_SHARE=nan` are refused with the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SWITCH_ON = ("1", "true", "yes", "on")
SWITCH_OFF = ("0", "false", "no", "off", "")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LISTEN_OFF = ("off", "none")
MAX_PORT = 65535


def parse_switch(text: str) -> bool:
    """On for 1/true/yes/on, off for 0/false/no/off or empty (any case); anything else fails."""
    word = text.strip().lower()
    if word in SWITCH_ON:
        return True
    if word in SWITCH_OFF:
        return False
    raise ValueError(f"expected one of {', '.join(SWITCH_ON + SWITCH_OFF[:-1])}")


def choice(*allowed: str) -> Callable[[str], str]:
    """A parser accepting exactly one of `allowed` (any case)."""

    def parse(text: str) -> str:
        word = text.strip().lower()
        if word not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return word

    parse.choices = allowed  # type: ignore[attr-defined]  # for shell completion
    return parse


parse_log_level = choice(*LOG_LEVELS)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def parse_share(text: str) -> float:
    """A share between 0 and 1 inclusive."""
    value = _finite(text)
    if not 0 <= value <= 1:
        raise ValueError("expected a share between 0 and 1 (0.5 means half)")
    return value


def parse_seconds(text: str) -> float:
    """A duration in seconds, finite and above zero."""
    value = _finite(text)
    if value <= 0:
        raise ValueError("expected a number of seconds above 0")
    return value


def parse_seconds_or_zero(text: str) -> float:
    """A duration in seconds, finite, zero allowed."""
    value = _finite(text)
    if value < 0:
        raise ValueError("expected a number of seconds, 0 or more")
    return value


def parse_milliseconds(text: str) -> int:
    """A whole number of milliseconds above zero."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number of milliseconds") from None
    if value <= 0:
        raise ValueError("expected a whole number of milliseconds above 0")
    return value


def parse_count(text: str) -> int:
    """A whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if value <= 0:
        raise ValueError("expected a whole number above 0")
    return value


def parse_workers(text: str) -> int:
    """A number of worker processes: a whole number, 0 or more (0 and 1 mean none)."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number of processes (0 or 1: none)") from None
    if value < 0:
        raise ValueError("expected a whole number of processes, 0 or more")
    return value


def parse_listen(text: str) -> str | None:
    """'host:port', '[v6]:port' or ':port'; 'off' (or empty) gives None: no HTTP server."""
    if text.strip().lower() in (*LISTEN_OFF, ""):
        return None
    split_listen(text)
    return text


def split_listen(listen: str) -> tuple[str, int]:
    """The host and port of a checked listen address ('' host means all interfaces)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("expected HOST:PORT (for example 127.0.0.1:8080), or off")
    if int(port) > MAX_PORT:
        raise ValueError(f"port {port} is above {MAX_PORT}")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError("an IPv6 host goes in brackets: [::1]:8080")
    return host.strip("[]") or "0.0.0.0", int(port)
