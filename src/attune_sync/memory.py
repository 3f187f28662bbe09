"""What a `Reconciler` stores for later processes: the read cache and the settled mark.

Both are written inside the run's transaction and take effect only when it commits
(`committed`); a rolled-back run leaves nothing behind, here or in the database. What they
mean and why reusing them gives the plan a full read gives: `readcache.py`, `settled.py`
and docs/performance.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from . import readcache
from .db.engine import for_reading
from .db.readcache import forget_other_code, load_documents, stored_keys, write_documents
from .db.settled import row_stamp, write_mark
from .documents import DocumentCache
from .fingerprint import fingerprint
from .model import DesiredState, FolderRead
from .outcome import RunOutcome
from .plan_options import PlanOptions
from .readfs import Signature
from .settled import Mark, mark_of, settles

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class RunMemory:
    enabled: bool = True
    """False: neither seed from nor store to the database (`--full-compare`)."""
    stored: dict[str, str] | None = None
    """Pack folder -> key of the documents the read cache holds for it; None until loaded."""
    seen: dict[str, tuple[Signature, str]] | None = None
    """Files the settled shortcut just hashed (`settled.LightRead.files`), for the seed."""
    _folders: dict[str, FolderRead] = field(default_factory=dict)
    """The folder reads whose documents the read cache holds: unchanged ones are skipped."""
    _marked: Mark | None = None
    """The settled mark this process last wrote."""
    _pending: tuple[dict[str, str], dict[str, FolderRead], Mark | None] | None = None

    def seed(self, engine: Engine, cache: DocumentCache) -> None:
        """Seed `cache` with the documents earlier applies stored (once a process)."""
        if not self.enabled or self.stored is not None:
            return
        try:
            with engine.connect() as conn:
                documents, keys = load_documents(for_reading(conn), fingerprint())
        except SQLAlchemyError as error:
            # Only a cost: every file is parsed. The run's own transaction reports the error.
            log.warning("read cache not loaded", error=str(getattr(error, "orig", error)))
            return
        readcache.seed(cache, documents, self.seen)
        self.stored, self.seen = keys, None

    def store(
        self,
        conn: Connection,
        desired: DesiredState,
        cache: DocumentCache,
        outcome: RunOutcome,
        options: PlanOptions,
        version: int | None,
    ) -> None:
        """Write what changed since the last store, in the run's transaction.

        `version`: the change count the commit will leave, when the run can vouch for it
        (nobody else wrote meanwhile); only then may the settled mark be written.
        """
        if not self.enabled:
            return
        mark_at = time.perf_counter()
        code = fingerprint()
        stored = self.stored
        if stored is None or not self._folders:
            forget_other_code(conn, code)
            stored = stored_keys(conn, code) if stored is None else stored
        changed = [f for f, read in desired.folders.items() if self._folders.get(f) is not read]
        rewrite = readcache.rewrite(stored, readcache.by_folder(cache, changed), desired.folders)
        if rewrite.write or rewrite.forget:
            write_documents(conn, rewrite, code)
        marked = self._marked
        drift_left = bool(outcome.drift) and not outcome.drift_reverted
        if version is not None and settles(outcome.plan, desired, drift_left):
            mark = mark_of(outcome.plan, desired, code, options, version, row_stamp(conn))
            # A daemon's idle runs leave the same mark: written once. (A mark, once written,
            # stays true for as long as the database is as it describes.)
            if mark != marked:
                write_mark(conn, mark)
                marked = mark
        self._pending = (rewrite.stored, dict(desired.folders), marked)
        outcome.timings["store"] = time.perf_counter() - mark_at

    def committed(self) -> None:
        if self._pending is not None:
            self.stored, self._folders, self._marked = self._pending
            self._pending = None

    def rolled_back(self) -> None:
        self._pending = None
