"""Overrides set through the API, and the file each managed object comes from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

`sync_override` records an operator's enable/disable of a trigger or sensor that the sync
manages from files, so that later syncs keep it (see attune_sync.overrides). The table is
watched by the change counter like the synced tables: setting or clearing an override is a
write the daemon must notice.

`sync_managed_pack.sources` maps "pack" and "<kind>:<ref>" to the file each object was read
from, relative to the packs root, so the API can name the file to edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGING_INDEXES = {"pack": ("id",), "trigger": ("id", "enabled"), "sensor": ("id", "enabled")}
_BUMP = "UPDATE sync_db_version SET version = version + 1 WHERE id = 1"
_OTHERS = "(SELECT applying FROM sync_db_version WHERE id = 1) = 0"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "sync_override",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("file_enabled", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name="pk_sync_override"),
    )
    # The API pages lists in id order: a narrow index lets SQLite walk to a deep offset
    # without reading every wide row before it (PostgreSQL can use it for index-only scans).
    for table, columns in _PAGING_INDEXES.items():
        op.create_index(f"ix_{table}_paging", table, list(columns))
    # A plain ADD COLUMN: batch mode would rebuild the table on SQLite and lose its triggers.
    op.add_column("sync_managed_pack", sa.Column("sources", _json(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            # 0004's change tracking: each foreign transaction notes itself in sync_change.
            "CREATE TRIGGER sync_change_sync_override AFTER INSERT OR UPDATE OR DELETE "
            'OR TRUNCATE ON "sync_override" FOR EACH STATEMENT '
            "EXECUTE FUNCTION sync_note_change()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER sync_db_version_sync_override_{event.lower()} AFTER {event} "
            f'ON "sync_override" WHEN {_OTHERS} BEGIN {_BUMP}; END'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP TRIGGER sync_change_sync_override ON "sync_override"')
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER sync_db_version_sync_override_{event}")
    op.drop_table("sync_override")
    for table in _PAGING_INDEXES:
        op.drop_index(f"ix_{table}_paging", table_name=table)
    op.execute("ALTER TABLE sync_managed_pack DROP COLUMN sources")
