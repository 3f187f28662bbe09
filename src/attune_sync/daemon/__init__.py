"""`attune-sync watch`: the long-running sidecar, and `attune-sync status`.

The daemon is a loop of sync runs through one `Reconciler`. File events only say "look
again, around here": a run re-reads the pack folders they name, and the periodic full sync
re-reads (by stat) the whole tree, so a missed or merged event can delay a change but never
lose one, and never turns into a delete. The database is compared in full whenever its
change counter shows that anyone else wrote.
"""

from .loop import Daemon
from .settings import Settings

__all__ = ["Daemon", "Settings"]
