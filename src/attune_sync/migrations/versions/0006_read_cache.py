"""What each file produced, per pack folder, so a fresh process parses only changed files.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

`sync_read_cache` holds, per pack folder, every file's digest and the document it produced
(attune_sync.readcache), tagged with a fingerprint of the code that produced it. An apply
writes it in its own transaction; a later `diff` or `apply` reuses a document when the file's
bytes hash the same and the fingerprint matches. It is not watched by the change counter: it
describes the files, not the synced rows, and losing it only costs a full read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    op.drop_table("sync_read_cache")
