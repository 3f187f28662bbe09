"""A change counter every write to the synced tables bumps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The daemon keeps what it last read of the database in memory and re-reads only what its own
runs touched. That is only sound if it can tell, cheaply, that nobody else wrote in between
(drift, the API, a second tool): this counter is that test, one row read per run.
PostgreSQL bumps it once per statement; SQLite has only row-level triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("runtime", "pack", "trigger", "sensor", "action", "rule", "sync_managed_pack")
_BUMP = "UPDATE sync_db_version SET version = version + 1 WHERE id = 1"
# attune-sync's own apply raises `applying` in its transaction and counts its writes once;
# every other writer sees the committed 0 and is counted.
_OTHERS = "(SELECT applying FROM sync_db_version WHERE id = 1) = 0"


def upgrade() -> None:
    op.create_table(
        "sync_db_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("applying", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO sync_db_version (id, version, applying) VALUES (1, 0, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION sync_bump_db_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN IF {_OTHERS} THEN {_BUMP}; END IF; RETURN NULL; END $$"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER sync_db_version_{table} AFTER INSERT OR UPDATE OR DELETE "
                f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT '
                "EXECUTE FUNCTION sync_bump_db_version()"
            )
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER sync_db_version_{table}_{event.lower()} AFTER {event} "
                f'ON "{table}" WHEN {_OTHERS} BEGIN {_BUMP}; END'
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f'DROP TRIGGER sync_db_version_{table} ON "{table}"')
        op.execute("DROP FUNCTION sync_bump_db_version()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER sync_db_version_{table}_{event}")
    op.drop_table("sync_db_version")
