"""The cascades and refusals the seed's pack API promises, enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from attune_sync.db import schema as t

from .factories import (
    apply,
    count,
    create,
    insert_action,
    insert_rule,
    managed_pack,
    sensor_values,
    trigger_values,
)


@pytest.fixture
def two_packs(engine: Engine) -> Engine:
    """Pack `a` owns a trigger, sensor, action and rule; pack `b` uses a's trigger."""
    apply(
        engine,
        managed_pack("a"),
        managed_pack("b"),
        create("trigger", "a.fired", trigger_values("a")),
        create("trigger", "b.own", trigger_values("b")),
        create("sensor", "a.watch", sensor_values("a", "a.fired")),
    )
    with engine.begin() as conn:
        insert_action(conn, "a", "a.act")
        insert_rule(conn, "a", "a.rule", action_ref="a.act", trigger_ref="a.fired")
    return engine


def test_deleting_a_pack_cascades_to_everything_in_it(two_packs: Engine) -> None:
    with two_packs.begin() as conn:
        conn.execute(delete(t.pack).where(t.pack.c.ref == "a"))
    assert count(two_packs, t.trigger) == 1  # b.own
    assert count(two_packs, t.sensor) == 0
    assert count(two_packs, t.action) == 0
    assert count(two_packs, t.rule) == 0
    assert count(two_packs, t.sync_managed_pack) == 1  # b's bookkeeping only


def test_deleting_a_trigger_used_by_another_packs_sensor_fails(two_packs: Engine) -> None:
    apply(two_packs, create("sensor", "b.listen", sensor_values("b", "a.fired")))
    with pytest.raises(IntegrityError), two_packs.begin() as conn:
        conn.execute(delete(t.pack).where(t.pack.c.ref == "a"))
    assert count(two_packs, t.pack) == 2


def test_deleting_a_trigger_used_by_another_packs_rule_fails(two_packs: Engine) -> None:
    with two_packs.begin() as conn:
        insert_action(conn, "b", "b.act")
        insert_rule(conn, "b", "b.rule", action_ref="b.act", trigger_ref="a.fired")
    with pytest.raises(IntegrityError), two_packs.begin() as conn:
        conn.execute(delete(t.trigger).where(t.trigger.c.ref == "a.fired"))
    assert count(two_packs, t.trigger) == 2


def test_deleting_an_action_used_by_another_packs_rule_fails(two_packs: Engine) -> None:
    with two_packs.begin() as conn:
        insert_rule(conn, "b", "b.rule", action_ref="a.act", trigger_ref="b.own")
    with pytest.raises(IntegrityError), two_packs.begin() as conn:
        conn.execute(delete(t.pack).where(t.pack.c.ref == "a"))
    assert count(two_packs, t.action) == 1


def test_a_sensor_needs_an_existing_trigger(engine: Engine) -> None:
    apply(engine, managed_pack("a"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            t.sensor.insert().values(
                ref="a.s",
                pack=1,
                pack_ref="a",
                label="s",
                description="d",
                entrypoint="e",
                runtime=2,
                runtime_ref="python3",
                trigger=12345,
                trigger_ref="nope",
            )
        )
