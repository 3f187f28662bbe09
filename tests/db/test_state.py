from __future__ import annotations

from sqlalchemy import Engine

from attune_sync.db.schema import BUILTIN_RUNTIMES
from attune_sync.model import FIELDS_BY_KIND, ManagedInfo

from .factories import (
    actual,
    apply,
    create,
    insert_action,
    insert_rule,
    managed_pack,
    pack_values,
    sensor_values,
    trigger_values,
)


def test_empty_database(engine: Engine) -> None:
    state = actual(engine)
    assert state.runtimes == BUILTIN_RUNTIMES
    assert state.packs == state.triggers == state.sensors == {}
    assert state.managed == {}
    assert state.action_counts == state.rule_counts == {}
    assert state.rule_trigger_refs == {}


def test_values_round_trip(engine: Engine) -> None:
    pack = pack_values(
        "aws.ec2",
        conf_schema={
            "type": "object",
            "properties": {"region": {"type": "string", "enum": ["us-east-1", "eu-west-1"]}},
            "required": ["region"],
        },
        config={"region": "us-east-1", "retries": 3, "ratio": 0.5, "on": True, "none": None},
        meta={"author": "Ünïcødé ☃", "nested": [{"a": [1, 2, {"b": None}]}]},
        tags=["aws", "ec2", "cloud"],
        runtime_deps=[1, 2],
        is_standard=True,
        version=None,
    )
    trigger = trigger_values("aws.ec2", enabled=False, description=None, out_schema={"x": []})
    sensor = sensor_values("aws.ec2", "aws.ec2.changed", runtime_ref="shell", param_schema=None)
    apply(
        engine,
        create("pack", "aws.ec2", pack),
        create("trigger", "aws.ec2.changed", trigger),
        create("sensor", "aws.ec2.watch", sensor),
    )

    state = actual(engine)
    got_pack = state.packs["aws.ec2"]
    assert got_pack.values == pack
    assert tuple(got_pack.values) == FIELDS_BY_KIND["pack"]
    assert got_pack.pack_id is None
    got_trigger = state.triggers["aws.ec2.changed"]
    assert got_trigger.values == trigger
    assert tuple(got_trigger.values) == FIELDS_BY_KIND["trigger"]
    assert got_trigger.pack_id == got_pack.id
    got_sensor = state.sensors["aws.ec2.watch"]
    assert got_sensor.values == sensor
    assert tuple(got_sensor.values) == FIELDS_BY_KIND["sensor"]
    assert got_sensor.pack_id == got_pack.id
    # Python None came back as SQL NULL, not as the JSON literal null.
    assert got_sensor.values["param_schema"] is None
    assert got_pack.values["is_standard"] is True
    assert got_trigger.values["enabled"] is False


def test_system_wide_trigger_has_no_pack(engine: Engine) -> None:
    apply(engine, create("trigger", "system.tick", trigger_values(None)))
    got = actual(engine).triggers["system.tick"]
    assert got.values["pack_ref"] is None
    assert got.pack_id is None


def test_managed_counts_and_rule_references(engine: Engine) -> None:
    apply(
        engine,
        managed_pack("a"),
        managed_pack("b"),
        create("pack", "api.made", pack_values("api.made")),
        create("trigger", "a.fired", trigger_values("a")),
        create("trigger", "b.fired", trigger_values("b")),
    )
    with engine.begin() as conn:
        insert_action(conn, "a", "a.act1")
        insert_action(conn, "a", "a.act2")
        insert_action(conn, "b", "b.act")
        insert_rule(conn, "a", "a.r1", action_ref="a.act1", trigger_ref="a.fired")
        insert_rule(conn, "b", "b.r1", action_ref="b.act", trigger_ref="a.fired")
        insert_rule(conn, "b", "b.r2", action_ref="b.act", trigger_ref="b.fired")

    state = actual(engine)
    assert state.managed == {"a": ManagedInfo("a", "h-a"), "b": ManagedInfo("b", "h-b")}
    assert state.action_counts == {"a": 2, "b": 1}
    assert state.rule_counts == {"a": 1, "b": 2}
    assert state.rule_trigger_refs == {
        "a.fired": [("a.r1", "a"), ("b.r1", "b")],
        "b.fired": [("b.r2", "b")],
    }
    # Rules by the pack of the action they run: what a pack delete would break.
    assert state.rule_action_packs == {"a": [("a.r1", "a")], "b": [("b.r1", "b"), ("b.r2", "b")]}
