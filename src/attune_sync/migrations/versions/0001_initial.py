"""Initial schema: Attune's pack tables, the sync's bookkeeping and the built-in runtimes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Types are written out here rather than imported from `attune_sync.db.schema`: a migration is
history and must not change when the live schema module does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUILTIN_RUNTIMES = [
    (1, "shell", "Shell"),
    (2, "python3", "Python 3"),
    (3, "nodejs", "Node.js"),
    (4, "native", "Native"),
]
_TABLE_KW = {"sqlite_autoincrement": True}


def _id_type() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", _id_type(), nullable=False, autoincrement=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _ref(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("ref", sa.String(255), nullable=False),
        sa.UniqueConstraint("ref", name=f"uq_{table}_ref"),
    ]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def _fk(
    table: str, name: str, target: str, *, nullable: bool, ondelete: str | None = None
) -> sa.Column[int]:
    return sa.Column(
        name,
        _id_type(),
        sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{name}_{target}"),
        nullable=nullable,
    )


def _index_fks(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    runtime = op.create_table(
        "runtime",
        *_id("runtime"),
        *_ref("runtime"),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *_timestamps(),
        **_TABLE_KW,
    )
    op.create_table(
        "pack",
        *_id("pack"),
        *_ref("pack"),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("conf_schema", _json(), nullable=True),
        sa.Column("config", _json(), nullable=True),
        sa.Column("meta", _json(), nullable=True),
        sa.Column("tags", _json(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("runtime_deps", _json(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("is_standard", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        *_timestamps(),
        **_TABLE_KW,
    )
    op.create_table(
        "trigger",
        *_id("trigger"),
        *_ref("trigger"),
        _fk("trigger", "pack", "pack", nullable=True, ondelete="CASCADE"),
        sa.Column("pack_ref", sa.String(255), nullable=True),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("param_schema", _json(), nullable=True),
        sa.Column("out_schema", _json(), nullable=True),
        *_timestamps(),
        **_TABLE_KW,
    )
    _index_fks("trigger", "pack")
    op.create_table(
        "sensor",
        *_id("sensor"),
        *_ref("sensor"),
        _fk("sensor", "pack", "pack", nullable=False, ondelete="CASCADE"),
        sa.Column("pack_ref", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("entrypoint", sa.String(1024), nullable=False),
        _fk("sensor", "runtime", "runtime", nullable=False),
        sa.Column("runtime_ref", sa.String(255), nullable=False),
        _fk("sensor", "trigger", "trigger", nullable=False),
        sa.Column("trigger_ref", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("param_schema", _json(), nullable=True),
        *_timestamps(),
        **_TABLE_KW,
    )
    _index_fks("sensor", "pack", "runtime", "trigger")
    op.create_table(
        "action",
        *_id("action"),
        *_ref("action"),
        _fk("action", "pack", "pack", nullable=False, ondelete="CASCADE"),
        sa.Column("pack_ref", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("entrypoint", sa.String(1024), nullable=True),
        _fk("action", "runtime", "runtime", nullable=True),
        *_timestamps(),
        **_TABLE_KW,
    )
    _index_fks("action", "pack", "runtime")
    op.create_table(
        "rule",
        *_id("rule"),
        *_ref("rule"),
        _fk("rule", "pack", "pack", nullable=False, ondelete="CASCADE"),
        sa.Column("pack_ref", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _fk("rule", "action", "action", nullable=False),
        sa.Column("action_ref", sa.String(255), nullable=False),
        _fk("rule", "trigger", "trigger", nullable=False),
        sa.Column("trigger_ref", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        *_timestamps(),
        **_TABLE_KW,
    )
    _index_fks("rule", "pack", "action", "trigger")
    op.create_table(
        "sync_managed_pack",
        sa.Column(
            "pack_id",
            _id_type(),
            sa.ForeignKey("pack.id", ondelete="CASCADE", name="fk_sync_managed_pack_pack_id_pack"),
            nullable=False,
            autoincrement=False,
        ),
        sa.PrimaryKeyConstraint("pack_id", name="pk_sync_managed_pack"),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sync_run",
        *_id("sync_run"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.String(255), nullable=True),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("updated", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("deleted", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("held_back", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("invalid", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("details", _json(), nullable=True),
        **_TABLE_KW,
    )

    op.bulk_insert(
        runtime,
        [{"id": id_, "ref": ref, "label": label} for id_, ref, label in _BUILTIN_RUNTIMES],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids do not advance a serial's sequence; without this the next runtime
        # created through the API would collide with id 1.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('runtime', 'id'), (SELECT max(id) FROM runtime))"
        )


def downgrade() -> None:
    for table in ("sync_run", "sync_managed_pack", "rule", "action", "sensor", "trigger"):
        op.drop_table(table)
    op.drop_table("pack")
    op.drop_table("runtime")
