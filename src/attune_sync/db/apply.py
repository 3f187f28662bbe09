"""Carry out a plan's changes, in bulk, inside the caller's transaction.

The caller runs ``apply_plan`` in ``with engine.begin() as conn:``; any exception escapes and
rolls the whole plan back. Consecutive changes of the same (action, kind) become one bulk
statement per set of columns, so a 41,000-object tree costs a few dozen round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from attune_sync.db import schema as t
from attune_sync.db.changes import begin_own_writes, end_own_writes
from attune_sync.db.overrides import end_overrides
from attune_sync.model import FIELDS_BY_KIND, Action, Change, Kind, ManagedInfo, Plan

_DELETE_CHUNK = 500
"""Refs per DELETE ... IN (...): far below SQLite's bound-parameter limit."""

# The value key in Change.values, the id column it resolves into, and the table it refers to.
_REFERENCES: dict[Kind, tuple[tuple[str, str, str], ...]] = {
    "pack": (),
    "trigger": (("pack_ref", "pack", "pack"),),
    "sensor": (
        ("pack_ref", "pack", "pack"),
        ("runtime_ref", "runtime", "runtime"),
        ("trigger_ref", "trigger", "trigger"),
    ),
    "action": (("pack_ref", "pack", "pack"), ("runtime_ref", "runtime", "runtime")),
    "rule": (
        ("pack_ref", "pack", "pack"),
        ("trigger_ref", "trigger", "trigger"),
        ("action_ref", "action", "action"),
    ),
    "runtime": (("pack_ref", "pack", "pack"),),
}
_JSON_LISTS = ("tags", "runtime_deps", "aliases")


class ApplyError(Exception):
    """A change could not be applied; the transaction must be (and will be) rolled back."""


@dataclass(frozen=True, slots=True)
class ObjectResult:
    kind: Kind
    ref: str
    action: Action
    status: str = "ok"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "action": self.action, "status": self.status}


@dataclass(slots=True)
class ApplyResult:
    counts: dict[tuple[Kind, Action], int] = field(default_factory=dict)
    results: list[ObjectResult] = field(default_factory=list)
    bookkeeping: int = 0
    """Rows upserted into sync_managed_pack."""

    def count(self, action: Action) -> int:
        return sum(n for (_, act), n in self.counts.items() if act == action)

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": [
                {"kind": kind, "action": act, "count": n} for (kind, act), n in self.counts.items()
            ],
            "results": [r.as_json() for r in self.results],
            "bookkeeping": self.bookkeeping,
        }


def apply_plan(conn: Connection, plan: Plan, *, now: datetime | None = None) -> ApplyResult:
    """Apply `plan.changes` in order, then upsert the sync's bookkeeping for managed packs."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    applier = _Applier(conn, now)
    result = ApplyResult()
    managed: dict[str, ManagedInfo] = dict(plan.bookkeeping)
    if not plan.changes and not managed and not plan.ended_overrides:
        return result
    begin_own_writes(conn)

    for (action, kind), group in groupby(plan.changes, key=lambda c: (c.action, c.kind)):
        changes = list(group)
        if kind not in FIELDS_BY_KIND:
            raise ApplyError(f"unknown kind {kind!r}")
        if action == "create":
            applier.create(kind, changes)
        elif action == "update":
            applier.update(kind, changes)
        elif action == "delete":
            applier.delete(kind, changes)
        else:
            raise ApplyError(f"unknown action {action!r}")
        result.counts[(kind, action)] = result.counts.get((kind, action), 0) + len(changes)
        result.results.extend(ObjectResult(kind, c.ref, action) for c in changes)
        if kind == "pack" and action != "delete":
            managed.update(_bookkeeping(changes))

    applier.finish()
    result.bookkeeping = applier.upsert_managed(managed)
    end_overrides(conn, plan.ended_overrides, deleted=result.count("delete") > 0)
    end_own_writes(conn)
    return result


def _bookkeeping(changes: Iterable[Change]) -> Iterator[tuple[str, ManagedInfo]]:
    for change in changes:
        if change.folder is not None and change.content_hash is not None:
            yield change.ref, ManagedInfo(change.folder, change.content_hash, change.sources)
        elif change.adopt or change.folder is not None or change.content_hash is not None:
            raise ApplyError(f"pack {change.ref!r}: bookkeeping needs both folder and content_hash")


class _Applier:
    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self._ids: dict[str, dict[str, int]] = {}
        self._deferred_deps: dict[str, list[int | str]] = {}
        self._links: dict[str, list[str]] = {}
        """Sensor ref -> the trigger refs its sensor_trigger rows must hold, once written."""

    # ---------------------------------------------------------------- id resolution

    def ids(self, table: str) -> dict[str, int]:
        """Ref to id for a whole table, loaded on first use and again after writes to it."""
        found = self._ids.get(table)
        if found is None:
            tbl = t.metadata.tables[table]
            found = dict(self.conn.execute(select(tbl.c.ref, tbl.c.id)).all())
            self._ids[table] = found
        return found

    def _resolve(self, kind: Kind, change: Change, values: dict[str, Any]) -> dict[str, Any]:
        row = dict(values)
        trigger_refs = row.pop("trigger_refs", None)
        if trigger_refs is not None:
            if not trigger_refs:
                raise ApplyError(f"sensor {change.ref!r}: fires no trigger")
            # The sensor row keeps the first trigger; sensor_trigger holds all of them.
            row["trigger_ref"] = trigger_refs[0]
            self._links[change.ref] = list(trigger_refs)
        for key, column, target in _REFERENCES[kind]:
            if key not in row:
                continue
            ref = row[key]
            if ref is None:
                row[column] = None
                continue
            id_ = self.ids(target).get(ref)
            if id_ is None:
                raise ApplyError(f"{kind} {change.ref!r}: {target} {ref!r} does not exist")
            row[column] = id_
        for key in _JSON_LISTS:
            if isinstance(row.get(key), tuple):
                row[key] = list(row[key])
        if kind == "runtime" and "name" in row:
            row["label"] = row["name"]  # the seed's runtime label: its name
        if kind == "pack" and "runtime_deps" in row:
            row["runtime_deps"] = self._runtime_deps(change, row["runtime_deps"])
        return row

    def _runtime_deps(self, change: Change, deps: list[int | str]) -> list[int]:
        """Runtime ids; a ref names a runtime this plan creates, filled in once it exists."""
        if any(isinstance(dep, str) for dep in deps):
            self._deferred_deps[change.ref] = deps
            deps = [dep for dep in deps if not isinstance(dep, str)]
        # A JSON list cannot carry a foreign key, so check the runtime ids here.
        missing = set(deps) - set(self.ids("runtime").values())
        if missing:
            raise ApplyError(f"pack {change.ref!r}: runtime ids {sorted(missing)} do not exist")
        return [int(dep) for dep in deps]

    def finish(self) -> None:
        """Write the runtime_deps that named runtimes created later in the plan."""
        if not self._deferred_deps:
            return
        runtimes = self.ids("runtime")
        for pack_ref, deps in self._deferred_deps.items():
            ids = []
            for dep in deps:
                found = runtimes.get(dep) if isinstance(dep, str) else dep
                if found is None:
                    raise ApplyError(f"pack {pack_ref!r}: runtime {dep!r} does not exist")
                ids.append(found)
            self.conn.execute(
                update(t.pack).where(t.pack.c.ref == pack_ref).values(runtime_deps=ids)
            )

    def _values(self, kind: Kind, change: Change) -> dict[str, Any]:
        values = change.written_values()
        unknown = set(values) - set(FIELDS_BY_KIND[kind])
        if unknown:
            raise ApplyError(f"{kind} {change.ref!r}: unknown fields {sorted(unknown)}")
        if change.action == "create" and kind != "pack" and "pack_ref" not in values:
            values["pack_ref"] = change.pack_ref
        return values

    # ---------------------------------------------------------------- statements

    def create(self, kind: Kind, changes: Sequence[Change]) -> None:
        table = t.TABLES_BY_KIND[kind]
        for chunk in _chunks(changes):
            rows = []
            for change in chunk:
                row = self._resolve(kind, change, self._values(kind, change))
                row.update(ref=change.ref, created=self.now, updated=self.now)
                rows.append(row)
            for batch in _same_keys(rows):
                # No RETURNING: psycopg parses a multi-row INSERT ... RETURNING in Python at ~5x
                # the cost of a plain executemany; re-reading ref -> id is one cheap query.
                self._run(kind, "create", insert(table), batch)
        self._ids.pop(kind, None)
        self._write_links()

    def update(self, kind: Kind, changes: Sequence[Change]) -> None:
        for chunk in _chunks(changes):
            self._update_rows(kind, chunk)
        self._write_links()

    def _update_rows(self, kind: Kind, changes: Sequence[Change]) -> None:
        table = t.TABLES_BY_KIND[kind]
        rows = []
        for change in changes:
            values = self._values(kind, change)
            if not values:
                # Nothing to write (e.g. an adoption that only adds bookkeeping); leave
                # `updated` alone rather than claim a change that did not happen.
                continue
            row = self._resolve(kind, change, values)
            row.update(updated=self.now, _match_ref=change.ref)
            rows.append(row)
        for batch in _same_keys(rows):
            stmt = update(table).where(table.c.ref == bindparam("_match_ref"))
            found = self._run(kind, "update", stmt, batch)
            if found != len(batch):
                raise ApplyError(
                    f"update of {kind}s: {len(batch) - found} of {len(batch)} no longer exist "
                    "(the database changed after the plan was made)"
                )

    def _write_links(self) -> None:
        """Replace the sensor_trigger rows of the sensors just written."""
        if not self._links:
            return
        link = t.sensor_trigger
        sensors, triggers = self.ids("sensor"), self.ids("trigger")
        ids = [sensors[ref] for ref in self._links]
        for start in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[start : start + _DELETE_CHUNK]
            self.conn.execute(delete(link).where(link.c.sensor.in_(chunk)))
        rows = []
        for sensor_ref, trigger_refs in self._links.items():
            for position, trigger_ref in enumerate(trigger_refs):
                trigger_id = triggers.get(trigger_ref)
                if trigger_id is None:
                    raise ApplyError(
                        f"sensor {sensor_ref!r}: trigger {trigger_ref!r} does not exist"
                    )
                rows.append(
                    {
                        "sensor": sensors[sensor_ref],
                        "sensor_ref": sensor_ref,
                        "trigger": trigger_id,
                        "trigger_ref": trigger_ref,
                        "position": position,
                    }
                )
        self._links.clear()
        if rows:
            self._run("sensor", "create", insert(link), rows)

    def delete(self, kind: Kind, changes: Sequence[Change]) -> None:
        table = t.TABLES_BY_KIND[kind]
        refs = [change.ref for change in changes]
        for start in range(0, len(refs), _DELETE_CHUNK):
            chunk = refs[start : start + _DELETE_CHUNK]
            found = self._run(kind, "delete", delete(table).where(table.c.ref.in_(chunk)), None)
            if found != len(chunk):
                raise ApplyError(
                    f"delete of {kind}s: {len(chunk) - found} of {len(chunk)} no longer exist "
                    "(the database changed after the plan was made)"
                )
        known = self._ids.get(kind)
        if known is not None:
            for ref in refs:
                known.pop(ref, None)
        if kind == "pack":
            # The cascade removed their components behind our back.
            for component in ("trigger", "sensor", "action", "rule"):
                self._ids.pop(component, None)

    def _run(self, kind: Kind, action: Action, stmt: Any, rows: list[dict[str, Any]] | None) -> int:
        """Execute, turning refusals caused by the plan's data into ApplyError; rowcount."""
        try:
            result = self.conn.execute(stmt, rows) if rows is not None else self.conn.execute(stmt)
        except (IntegrityError, DataError) as exc:
            raise ApplyError(f"{action} of {kind}s failed: {exc.orig}") from exc
        except StatementError as exc:
            if isinstance(exc, DBAPIError):
                raise  # the server or connection failed, not the plan's data
            # A bind processor refused a value, e.g. NaN in a JSON field (SQLite).
            raise ApplyError(f"{action} of {kind}s failed: {exc.orig}") from exc
        except (ValueError, TypeError) as exc:
            # The same refusal surfacing unwrapped from psycopg, which serialises JSON itself.
            raise ApplyError(f"{action} of {kind}s failed: {exc}") from exc
        return int(result.rowcount)

    def upsert_managed(self, managed: dict[str, ManagedInfo]) -> int:
        if not managed:
            return 0
        pack_ids = self.ids("pack")
        rows = []
        for ref, info in managed.items():
            if ref not in pack_ids:
                raise ApplyError(f"bookkeeping for pack {ref!r}, which does not exist")
            rows.append(
                {
                    "pack_id": pack_ids[ref],
                    "folder": info.folder,
                    "content_hash": info.content_hash,
                    "synced_at": self.now,
                    "sources": info.sources,
                }
            )
        table: Table = t.sync_managed_pack
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.pack_id],
            set_={
                "folder": stmt.excluded.folder,
                "content_hash": stmt.excluded.content_hash,
                "synced_at": stmt.excluded.synced_at,
                "sources": stmt.excluded.sources,
            },
        )
        self.conn.execute(stmt, rows)
        return len(rows)


_WRITE_CHUNK = 2000
"""Changes written per statement: the rows of one statement (values serialised, and the
driver's copy) are alive at once, so a cold apply's peak memory stays that of a chunk."""


def _chunks(changes: Sequence[Change]) -> Iterator[Sequence[Change]]:
    for start in range(0, len(changes), _WRITE_CHUNK):
        yield changes[start : start + _WRITE_CHUNK]


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split rows into batches sharing one key set: an executemany needs uniform parameters."""
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        batches.setdefault(frozenset(row), []).append(row)
    yield from batches.values()
