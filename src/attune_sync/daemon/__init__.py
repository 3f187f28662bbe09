"""`attune-sync watch`: the long-running sidecar, and `attune-sync status`.

The daemon is a loop of ordinary sync runs. File events only say "look again"; every run
reads the whole tree from one resolved root and compares the whole database, so a missed
or merged event can delay a change but never lose one, and never turns into a delete.
"""

from .loop import Daemon
from .settings import Settings

__all__ = ["Daemon", "Settings"]
