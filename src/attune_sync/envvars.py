"""Settings from environment variables, read the same way by every command."""

from __future__ import annotations

import os

TRUE_WORDS = ("1", "true", "yes", "on")


def env_default(name: str, default: object) -> str:
    """The variable's text, or the default as text.

    Given to argparse as a string default, it goes through the option's `type=` like a
    command-line value would, so a bad value is a usage error naming the option, not a crash.
    """
    return os.environ.get(name) or str(default)


def env_flag(name: str) -> bool:
    """A switch: on for 1, true, yes or on (any case)."""
    return os.environ.get(name, "").strip().lower() in TRUE_WORDS
