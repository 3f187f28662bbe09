"""The tables, as SQLAlchemy Core objects named after the Attune seed resources.

The sync owns `pack`, `trigger` and `sensor` rows plus its own `sync_*` bookkeeping. `runtime`,
`action` and `rule` exist so that foreign keys and cascades behave as on an Attune server.

The migration in `attune_sync/migrations/versions` creates the same schema with literal types;
a test checks that the two never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

# Column limits live once, in the format's tables: the validator checks the same numbers.
from attune_sync.fields import ENTRYPOINT_LENGTH, LABEL_LENGTH, REF_LENGTH, VERSION_LENGTH

BUILTIN_RUNTIMES: dict[str, int] = {"shell": 1, "python3": 2, "nodejs": 3, "native": 4}
"""Runtime ref to id, seeded by the first migration with these stable ids."""


# Deterministic constraint names keep alembic diffs and error messages identical on both
# backends instead of depending on each server's naming scheme.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both backends.

    SQLite has no time zone type and hands back naive values; storing UTC and re-attaching
    the zone on read makes the two backends return equal, comparable datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id_type() -> BigInteger:
    # SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid alias); BIGINT would not be.
    return BigInteger().with_variant(Integer(), "sqlite")


def _json() -> JSON:
    # jsonb has an equality operator and normalised storage; none_as_null keeps Python None
    # an SQL NULL rather than the JSON literal 'null'.
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _id() -> Column[int]:
    return Column("id", _id_type(), primary_key=True, autoincrement=True)


def _ref() -> Column[str]:
    return Column("ref", String(REF_LENGTH), nullable=False, unique=True)


def _timestamps() -> tuple[Column[datetime], Column[datetime]]:
    return (
        Column("created", UTCDateTime(), nullable=False, server_default=func.now()),
        Column("updated", UTCDateTime(), nullable=False, server_default=func.now()),
    )


def _fk(name: str, target: str, *, nullable: bool, ondelete: str | None = None) -> Column[int]:
    return Column(
        name,
        _id_type(),
        ForeignKey(f"{target}.id", ondelete=ondelete),
        nullable=nullable,
        index=True,
    )


# sqlite_autoincrement: never reuse the id of a deleted row, as PostgreSQL's bigserial does not.
_TABLE_KW: dict[str, Any] = {"sqlite_autoincrement": True}

runtime = Table(
    "runtime",
    metadata,
    _id(),
    _ref(),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=True),
    *_timestamps(),
    # Pack-owned runtimes (runtimes/*.yaml); the built-in ones belong to no pack. No foreign
    # key: pack references runtime (runtime_deps ids), and SQLite cannot add one later.
    Column("pack", _id_type(), nullable=True, index=True),
    Column("pack_ref", String(REF_LENGTH), nullable=True),
    Column("name", String(LABEL_LENGTH), nullable=True),
    Column("aliases", _json(), nullable=True),
    Column("distributions", _json(), nullable=True),
    Column("installation", _json(), nullable=True),
    Column("execution_config", _json(), nullable=True),
    Column("versions", _json(), nullable=True),
    **_TABLE_KW,
)

pack = Table(
    "pack",
    metadata,
    _id(),
    _ref(),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=False),
    Column("version", String(VERSION_LENGTH), nullable=True),
    Column("conf_schema", _json(), nullable=True),
    Column("config", _json(), nullable=True),
    Column("meta", _json(), nullable=True),
    Column("tags", _json(), nullable=False, server_default=text("'[]'")),
    Column("runtime_deps", _json(), nullable=False, server_default=text("'[]'")),
    Column("is_standard", Boolean, nullable=False, server_default=text("false")),
    *_timestamps(),
    # The version constraint of each runtime_deps entry ("" when none); NULL when none has one.
    Column("runtime_constraints", _json(), nullable=True),
    **_TABLE_KW,
)

trigger = Table(
    "trigger",
    metadata,
    _id(),
    _ref(),
    # Nullable: system-wide triggers belong to no pack.
    _fk("pack", "pack", nullable=True, ondelete="CASCADE"),
    Column("pack_ref", String(REF_LENGTH), nullable=True),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("param_schema", _json(), nullable=True),
    Column("out_schema", _json(), nullable=True),
    *_timestamps(),
    **_TABLE_KW,
)

sensor = Table(
    "sensor",
    metadata,
    _id(),
    _ref(),
    _fk("pack", "pack", nullable=False, ondelete="CASCADE"),
    Column("pack_ref", String(REF_LENGTH), nullable=False),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=False),
    Column("entrypoint", String(ENTRYPOINT_LENGTH), nullable=False),
    _fk("runtime", "runtime", nullable=False),
    Column("runtime_ref", String(REF_LENGTH), nullable=False),
    # NO ACTION: a trigger still used by another pack's sensor must not vanish; NO ACTION (not
    # RESTRICT) is checked at statement end, so one pack delete may take both along.
    _fk("trigger", "trigger", nullable=False),
    Column("trigger_ref", String(REF_LENGTH), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("param_schema", _json(), nullable=True),
    Column("config", _json(), nullable=True),
    *_timestamps(),
    **_TABLE_KW,
)

sensor_trigger = Table(
    "sensor_trigger",
    metadata,
    # Every trigger a sensor fires (its `trigger_types`), in file order; position 0 is also
    # the sensor row's own trigger column.
    Column(
        "sensor",
        _id_type(),
        ForeignKey("sensor.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("sensor_ref", String(REF_LENGTH), nullable=False),
    # CASCADE, unlike sensor.trigger: PostgreSQL checks a NO ACTION key here before the
    # pack -> sensor -> sensor_trigger cascade has run, so a pack delete would fail. The
    # planner holds back deleting a trigger that a staying sensor lists.
    Column(
        "trigger",
        _id_type(),
        ForeignKey("trigger.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
        index=True,
    ),
    Column("trigger_ref", String(REF_LENGTH), nullable=False),
    Column("position", Integer, nullable=False),
)

action = Table(
    "action",
    metadata,
    _id(),
    _ref(),
    _fk("pack", "pack", nullable=False, ondelete="CASCADE"),
    Column("pack_ref", String(REF_LENGTH), nullable=False),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=True),
    Column("entrypoint", String(ENTRYPOINT_LENGTH), nullable=True),
    _fk("runtime", "runtime", nullable=True),
    *_timestamps(),
    Column("runtime_ref", String(REF_LENGTH), nullable=True),
    Column("param_schema", _json(), nullable=True),
    Column("out_schema", _json(), nullable=True),
    Column("parameter_delivery", String(16), nullable=False, server_default=text("'stdin'")),
    Column("parameter_format", String(16), nullable=False, server_default=text("'json'")),
    Column("output_format", String(16), nullable=False, server_default=text("'text'")),
    Column("workflow_file", String(ENTRYPOINT_LENGTH), nullable=True),
    **_TABLE_KW,
)

rule = Table(
    "rule",
    metadata,
    _id(),
    _ref(),
    _fk("pack", "pack", nullable=False, ondelete="CASCADE"),
    Column("pack_ref", String(REF_LENGTH), nullable=False),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("description", Text, nullable=True),
    # NO ACTION like sensor.trigger: deleting a pack must not silently take another pack's
    # rules with it; the delete fails instead and the whole apply rolls back.
    _fk("action", "action", nullable=False),
    Column("action_ref", String(REF_LENGTH), nullable=False),
    _fk("trigger", "trigger", nullable=False),
    Column("trigger_ref", String(REF_LENGTH), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    *_timestamps(),
    Column("conditions", _json(), nullable=True),
    Column("action_params", _json(), nullable=True),
    Column("trigger_params", _json(), nullable=True),
    **_TABLE_KW,
)

sync_managed_pack = Table(
    "sync_managed_pack",
    metadata,
    # A pack created through the API has no row here, so the sync never deletes it.
    Column(
        "pack_id",
        _id_type(),
        ForeignKey("pack.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("folder", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("synced_at", UTCDateTime(), nullable=False),
    # "pack" and "<kind>:<ref>" -> the file it was read from, relative to the packs root
    # (migration 0005): the API names it when it refuses to change a managed object.
    Column("sources", _json(), nullable=True),
)

sync_override = Table(
    "sync_override",
    metadata,
    # An enable/disable of a managed trigger or sensor made through the API (migration 0005).
    # Syncs keep it while the file's `enabled` still equals `file_enabled`.
    Column("kind", String(16), primary_key=True),
    Column("ref", String(REF_LENGTH), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("file_enabled", Boolean, nullable=False),
    Column("set_by", String(255), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
)

sync_db_version = Table(
    "sync_db_version",
    metadata,
    # One row; database triggers bump it on every write to the synced tables (migration 0002).
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    # 1 while attune-sync's own apply runs: the triggers then leave the counting to it.
    Column("applying", Integer, nullable=False),
)

sync_change = Table(
    "sync_change",
    metadata,
    # PostgreSQL: one row per foreign transaction that wrote the synced tables, keyed by its
    # transaction id so concurrent writers never touch the same row (migration 0004). A
    # sync folds them into sync_db_version.version; SQLite bumps that counter directly.
    Column("txid", BigInteger, primary_key=True, autoincrement=False),
)

sync_read_cache = Table(
    "sync_read_cache",
    metadata,
    # Per pack folder, what each file produced when an apply read it (attune_sync.readcache,
    # migration 0006): a later process reuses it for files whose digest is unchanged.
    Column("folder", Text, primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("folder_key", String(32), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

sync_run = Table(
    "sync_run",
    metadata,
    _id(),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("revision", String(255), nullable=True),
    Column("result", String(32), nullable=False),
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("updated", Integer, nullable=False, server_default=text("0")),
    Column("deleted", Integer, nullable=False, server_default=text("0")),
    Column("held_back", Integer, nullable=False, server_default=text("0")),
    Column("invalid", Integer, nullable=False, server_default=text("0")),
    Column("details", _json(), nullable=True),
    # Consecutive runs that changed nothing and report the same are one row (db.runs).
    Column("run_count", Integer, nullable=False, server_default=text("1")),
    **_TABLE_KW,
)

# The API pages lists in id order (migration 0005): narrow indexes let SQLite reach a deep
# offset without reading every wide row before it.
Index("ix_pack_paging", pack.c.id)
Index("ix_trigger_paging", trigger.c.id, trigger.c.enabled)
Index("ix_sensor_paging", sensor.c.id, sensor.c.enabled)

TABLES_BY_KIND: dict[str, Table] = {
    "pack": pack,
    "runtime": runtime,
    "trigger": trigger,
    "action": action,
    "sensor": sensor,
    "rule": rule,
}
