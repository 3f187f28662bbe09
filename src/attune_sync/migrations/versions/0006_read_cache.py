"""What each file produced, per pack folder, so a fresh process parses only changed files;
and the inputs of the last apply that left nothing unsettled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

`sync_read_cache` holds, per pack folder, every file's digest and the document it produced
(attune_sync.readcache), tagged with a fingerprint of the code that produced it. An apply
writes it in its own transaction; a later `diff` or `apply` reuses a document when the file's
bytes hash the same and the fingerprint matches. It is not watched by the change counter: it
describes the files, not the synced rows, and losing it only costs a full read.

`sync_settled` holds one row: the tree key, plan options, code fingerprint and change count
of the last apply that left nothing unsettled (attune_sync.settled), so a fresh `diff` or
`apply` whose inputs are all the same needs no plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_read_cache",
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("folder_key", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("folder", name="pk_sync_read_cache"),
    )
    op.create_table(
        "sync_settled",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("tree_key", sa.String(32), nullable=False),
        sa.Column("db_version", sa.BigInteger(), nullable=False),
        sa.Column("row_stamp", sa.Text(), nullable=True),
        sa.Column("report", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_settled"),
    )


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def downgrade() -> None:
    op.drop_table("sync_settled")
    op.drop_table("sync_read_cache")
