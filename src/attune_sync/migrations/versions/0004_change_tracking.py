"""Change tracking that never makes other applications' writes wait; folded run history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

0002's PostgreSQL triggers bumped one shared counter row on every write by anyone: two
unrelated transactions writing the pack tables (Attune's API, a person with psql) then
waited on each other and on attune-sync's applies, and could deadlock. Now each foreign
transaction notes itself once, under its own key, in `sync_change` (rows of different
transactions never conflict); attune-sync's syncs fold those rows into `sync_db_version`,
and the change count is the counter plus the rows not folded yet. attune-sync's own apply
marks its transaction (a transaction-local setting) and adds one to the counter itself.

SQLite has a single writer at a time, so its triggers keep bumping the counter directly.

`sync_run.run_count`: consecutive runs that changed nothing and report the same are one row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = (
    "runtime",
    "pack",
    "trigger",
    "sensor",
    "action",
    "rule",
    "sync_managed_pack",
    "sensor_trigger",  # watched since 0003
)
OWN_WRITES_SETTING = "attune_sync.own_writes"

# SECURITY DEFINER: writers of the pack tables need no rights on attune-sync's tables.
# SET search_path FROM CURRENT: the function finds sync_change wherever it was created
# (--db-schema), whatever search_path the writing session has.
_NOTE_CHANGE = (
    "CREATE FUNCTION sync_note_change() RETURNS trigger LANGUAGE plpgsql "
    "SECURITY DEFINER SET search_path FROM CURRENT AS $$ BEGIN "
    f"IF current_setting('{OWN_WRITES_SETTING}', true) IS DISTINCT FROM 'on' THEN "
    "INSERT INTO sync_change (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING; "
    "END IF; RETURN NULL; END $$"
)
# 0002's function, for the downgrade.
_BUMP_0002 = (
    "CREATE FUNCTION sync_bump_db_version() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN IF (SELECT applying FROM sync_db_version WHERE id = 1) = 0 THEN "
    "UPDATE sync_db_version SET version = version + 1 WHERE id = 1; END IF; "
    "RETURN NULL; END $$"
)


def _create_triggers(name: str, function: str) -> None:
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {name}_{table} AFTER INSERT OR UPDATE OR DELETE "
            f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {function}()'
        )


def _drop_triggers(name: str) -> None:
    for table in WATCHED:
        op.execute(f'DROP TRIGGER {name}_{table} ON "{table}"')


def upgrade() -> None:
    op.create_table(
        "sync_change",
        sa.Column("txid", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint("txid", name="pk_sync_change"),
    )
    # A plain ADD COLUMN (no batch rebuild): a rebuilt SQLite table would lose AUTOINCREMENT.
    op.add_column(
        "sync_run",
        sa.Column("run_count", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_triggers("sync_db_version")
    op.execute("DROP FUNCTION sync_bump_db_version()")
    op.execute(_NOTE_CHANGE)
    _create_triggers("sync_change", "sync_note_change")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_triggers("sync_change")
        op.execute("DROP FUNCTION sync_note_change()")
        # Keep the count: what was noted but not folded yet goes into the counter.
        op.execute(
            "UPDATE sync_db_version SET version = version + (SELECT count(*) FROM sync_change)"
        )
        op.execute(_BUMP_0002)
        _create_triggers("sync_db_version", "sync_bump_db_version")
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("run_count")
    op.drop_table("sync_change")
