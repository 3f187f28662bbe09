"""`attune-sync watch`: the long-running sidecar, and `attune-sync status`.

The daemon is a loop of sync runs through one `Reconciler`. File events only say "look
again, around here": a run re-reads the pack folders they name, and the periodic full sync
re-reads (by stat) the whole tree, so a missed or merged event can delay a change but never
lose one, and never turns into a delete. The database is compared in full whenever its
change counter shows that anyone else wrote.

`Daemon` and `Settings` load on first use, so importing one module of this package (the
status report, the settings) does not load watchfiles, prometheus_client or the HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loop import Daemon
    from .settings import Settings

__all__ = ["Daemon", "Settings"]


def __getattr__(name: str) -> Any:
    if name == "Daemon":
        from .loop import Daemon

        return Daemon
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
