"""Attune's pack format: actions, rules and runtimes in full, every trigger a sensor fires.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Attune's sensors list several `trigger_types`; `sensor_trigger` holds them all, in file order,
and is filled from each existing sensor's own trigger so that an upgrade keeps every link.
`sensor.config` holds the values a sensor file gives its parameters; `action`, `rule` and
`runtime` gain the fields their files hold (runtimes also the pack that owns them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP = "UPDATE sync_db_version SET version = version + 1 WHERE id = 1"
_OTHERS = "(SELECT applying FROM sync_db_version WHERE id = 1) = 0"


def _id_type() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


_NEW_COLUMNS: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {
    "runtime": [
        ("pack", _id_type(), {}),
        ("pack_ref", sa.String(255), {}),
        ("name", sa.String(255), {}),
        ("aliases", _json(), {}),
        ("distributions", _json(), {}),
        ("installation", _json(), {}),
        ("execution_config", _json(), {}),
        ("versions", _json(), {}),
    ],
    "action": [
        ("runtime_ref", sa.String(255), {}),
        ("param_schema", _json(), {}),
        ("out_schema", _json(), {}),
        ("parameter_delivery", sa.String(16), {"server_default": sa.text("'stdin'")}),
        ("parameter_format", sa.String(16), {"server_default": sa.text("'json'")}),
        ("output_format", sa.String(16), {"server_default": sa.text("'text'")}),
        ("workflow_file", sa.String(1024), {}),
    ],
    "rule": [
        ("conditions", _json(), {}),
        ("action_params", _json(), {}),
        ("trigger_params", _json(), {}),
    ],
    "sensor": [("config", _json(), {})],
    "pack": [("runtime_constraints", _json(), {})],
}
"""New columns; each is nullable or has a default, so every existing row stays as it is."""


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, never batch mode: recreating a table on SQLite would
    # drop the 0002 counter triggers.
    for table, columns in _NEW_COLUMNS.items():
        for name, type_, extra in columns:
            nullable = "server_default" not in extra
            op.add_column(table, sa.Column(name, type_, nullable=nullable, **extra))
    op.create_index("ix_runtime_pack", "runtime", ["pack"])
    op.create_table(
        "sensor_trigger",
        sa.Column("sensor", _id_type(), nullable=False),
        sa.Column("sensor_ref", sa.String(255), nullable=False),
        sa.Column("trigger", _id_type(), nullable=False),
        sa.Column("trigger_ref", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor"],
            ["sensor.id"],
            name="fk_sensor_trigger_sensor_sensor",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trigger"],
            ["trigger.id"],
            name="fk_sensor_trigger_trigger_trigger",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sensor", "trigger", name="pk_sensor_trigger"),
    )
    op.create_index("ix_sensor_trigger_trigger", "sensor_trigger", ["trigger"])
    op.execute(
        'INSERT INTO sensor_trigger (sensor, sensor_ref, "trigger", trigger_ref, position) '
        'SELECT id, ref, "trigger", trigger_ref, 0 FROM sensor'
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER sync_db_version_sensor_trigger AFTER INSERT OR UPDATE OR DELETE "
            'OR TRUNCATE ON "sensor_trigger" FOR EACH STATEMENT '
            "EXECUTE FUNCTION sync_bump_db_version()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER sync_db_version_sensor_trigger_{event.lower()} AFTER {event} "
            f'ON "sensor_trigger" WHEN {_OTHERS} BEGIN {_BUMP}; END'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP TRIGGER sync_db_version_sensor_trigger ON "sensor_trigger"')
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER sync_db_version_sensor_trigger_{event}")
    op.drop_index("ix_sensor_trigger_trigger", table_name="sensor_trigger")
    op.drop_table("sensor_trigger")
    op.drop_index("ix_runtime_pack", table_name="runtime")
    # Not batch mode: recreating a table on SQLite would drop the 0002 counter triggers.
    for table, columns in _NEW_COLUMNS.items():
        for name, _type, _extra in reversed(columns):
            op.drop_column(table, name)
