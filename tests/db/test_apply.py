from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from attune_sync.db import schema as t
from attune_sync.db.apply import ApplyError, ObjectResult
from attune_sync.model import Change, ManagedInfo

from .factories import (
    T0,
    T1,
    actual,
    apply,
    count,
    create,
    delete,
    managed_pack,
    pack_values,
    sensor_values,
    trigger_values,
    update,
)


def _row(engine: Engine, table: Any, ref: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.ref == ref)).one()


def _everything(engine: Engine) -> dict[str, int]:
    tables = (t.pack, t.trigger, t.sensor, t.action, t.rule, t.sync_managed_pack)
    return {table.name: count(engine, table) for table in tables}


@pytest.fixture
def base(engine: Engine) -> Engine:
    """A managed pack with a trigger and a sensor, plus an API-made pack with a trigger."""
    apply(
        engine,
        managed_pack("mon"),
        create("pack", "api", pack_values("api")),
        create("trigger", "mon.cpu", trigger_values("mon")),
        create("trigger", "api.hook", trigger_values("api")),
        create("sensor", "mon.cpu_sensor", sensor_values("mon", "mon.cpu")),
        now=T0,
    )
    return engine


def test_creates_resolve_ids_within_the_same_plan(engine: Engine) -> None:
    result = apply(
        engine,
        managed_pack("mon"),
        create("trigger", "mon.cpu", trigger_values("mon")),
        create("sensor", "mon.cpu_sensor", sensor_values("mon", "mon.cpu", runtime_ref="shell")),
    )
    assert result.counts == {
        ("pack", "create"): 1,
        ("trigger", "create"): 1,
        ("sensor", "create"): 1,
    }
    assert result.results == [
        ObjectResult("pack", "mon", "create"),
        ObjectResult("trigger", "mon.cpu", "create"),
        ObjectResult("sensor", "mon.cpu_sensor", "create"),
    ]
    assert result.bookkeeping == 1
    pack, trig, sensor = (
        _row(engine, t.pack, "mon"),
        _row(engine, t.trigger, "mon.cpu"),
        _row(engine, t.sensor, "mon.cpu_sensor"),
    )
    assert trig.pack == pack.id
    assert (sensor.pack, sensor.trigger, sensor.runtime) == (pack.id, trig.id, 1)
    assert (sensor.pack_ref, sensor.trigger_ref, sensor.runtime_ref) == ("mon", "mon.cpu", "shell")
    assert pack.created == pack.updated == sensor.created == T0


def test_sensor_may_use_a_trigger_of_an_unmanaged_pack(base: Engine) -> None:
    apply(base, create("sensor", "mon.hook_sensor", sensor_values("mon", "api.hook")))
    sensor = _row(base, t.sensor, "mon.hook_sensor")
    assert sensor.trigger == _row(base, t.trigger, "api.hook").id


def test_update_keeps_id_and_created_and_moves_updated(base: Engine) -> None:
    before = actual(base)
    result = apply(
        base,
        update("pack", "mon", {"label": "Monitoring", "tags": ["ops"]}),
        update("trigger", "mon.cpu", {"enabled": False}),
        # Moving the sensor to another trigger updates the id and the denormalised ref.
        update("sensor", "mon.cpu_sensor", {"trigger_refs": ["api.hook"], "runtime_ref": "native"}),
        now=T1,
    )
    assert result.count("update") == 3
    after = actual(base)
    for kind in ("pack", "trigger", "sensor"):
        old, new = before.objects(kind), after.objects(kind)
        assert {ref: o.id for ref, o in old.items()} == {ref: o.id for ref, o in new.items()}

    pack = after.packs["mon"].values
    assert pack == {**before.packs["mon"].values, "label": "Monitoring", "tags": ["ops"]}
    assert after.triggers["mon.cpu"].values["enabled"] is False
    sensor_row = _row(base, t.sensor, "mon.cpu_sensor")
    assert sensor_row.trigger == after.triggers["api.hook"].id
    assert (sensor_row.trigger_ref, sensor_row.runtime, sensor_row.runtime_ref) == (
        "api.hook",
        4,
        "native",
    )
    for table, ref in ((t.pack, "mon"), (t.trigger, "mon.cpu"), (t.sensor, "mon.cpu_sensor")):
        row = _row(base, table, ref)
        assert (row.created, row.updated) == (T0, T1)
    untouched = _row(base, t.trigger, "api.hook")
    assert untouched.updated == T0


def test_updates_with_different_fields_in_one_run(base: Engine) -> None:
    apply(
        base,
        create("trigger", "mon.mem", trigger_values("mon")),
        now=T0,
    )
    apply(
        base,
        update("trigger", "mon.cpu", {"label": "CPU"}),
        update("trigger", "mon.mem", {"description": None, "param_schema": {"type": "object"}}),
        now=T1,
    )
    state = actual(base)
    assert state.triggers["mon.cpu"].values["label"] == "CPU"
    assert state.triggers["mon.cpu"].values["description"] == "Fires when something happens"
    assert state.triggers["mon.mem"].values["description"] is None
    assert state.triggers["mon.mem"].values["param_schema"] == {"type": "object"}


def test_deletes_in_plan_order_and_pack_delete_cascades(base: Engine) -> None:
    result = apply(
        base,
        delete("sensor", "mon.cpu_sensor"),
        delete("trigger", "mon.cpu"),
        delete("pack", "mon"),
    )
    assert result.count("delete") == 3
    assert _everything(base) == {
        "pack": 1,
        "trigger": 1,
        "sensor": 0,
        "action": 0,
        "rule": 0,
        "sync_managed_pack": 0,
    }


def test_pack_delete_alone_takes_its_components_and_bookkeeping(base: Engine) -> None:
    apply(base, delete("pack", "mon"))
    state = actual(base)
    assert set(state.packs) == {"api"}
    assert set(state.triggers) == {"api.hook"}
    assert state.sensors == {}
    assert state.managed == {}


def test_failure_midway_rolls_back_everything(base: Engine) -> None:
    before = _everything(base)
    with pytest.raises(ApplyError, match=r"sensor 'new.s': trigger 'new.missing' does not exist"):
        apply(
            base,
            managed_pack("new"),
            update("pack", "mon", {"label": "changed"}),
            create("trigger", "new.t", trigger_values("new")),
            delete("sensor", "mon.cpu_sensor"),
            create("sensor", "new.s", sensor_values("new", "new.missing")),
        )
    assert _everything(base) == before
    assert actual(base).packs["mon"].values["label"] == "mon pack"


def test_database_refusal_rolls_back_everything(base: Engine) -> None:
    # api.hook is still used by a sensor of another pack: the FK refuses the delete.
    apply(base, create("sensor", "mon.hook_sensor", sensor_values("mon", "api.hook")))
    before = _everything(base)
    with pytest.raises(ApplyError, match="delete of triggers failed"):
        apply(base, managed_pack("new"), delete("trigger", "api.hook"))
    assert _everything(base) == before


def test_duplicate_create_is_an_apply_error(base: Engine) -> None:
    with pytest.raises(ApplyError, match="create of triggers failed"):
        apply(base, create("trigger", "mon.cpu", trigger_values("mon")))


@pytest.mark.parametrize(
    "change",
    [
        update("trigger", "mon.gone", {"label": "x"}),
        delete("sensor", "mon.gone"),
    ],
    ids=["update", "delete"],
)
def test_stale_plans_are_refused(base: Engine, change: Change) -> None:
    with pytest.raises(ApplyError, match="no longer exist"):
        apply(base, managed_pack("new"), change)
    assert "new" not in actual(base).packs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nonsense": 1}, "unknown fields"),
        ({"runtime_deps": [2, 99]}, r"runtime ids \[99\] do not exist"),
        ({"meta": {"x": float("nan")}}, "Out of range float"),
        ({"meta": {"x": "nul\x00"}}, "NUL"),
        # YAML 1.1 turns 2024-01-01 into a date, which JSON cannot hold.
        ({"config": {"since": date(2024, 1, 1)}}, "not JSON serializable"),
    ],
    ids=["unknown-field", "runtime-id", "nan", "nul", "date"],
)
def test_bad_values_are_refused_on_both_backends(
    base: Engine, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApplyError, match=message):
        apply(base, update("pack", "mon", values))


def test_bookkeeping_upserts(base: Engine) -> None:
    assert actual(base).managed == {"mon": ManagedInfo("mon", "h-mon")}
    result = apply(
        base,
        # Adopting the API-made pack: from now on the sync manages it.
        Change(
            "update",
            "pack",
            "api",
            None,
            values={"label": "Adopted"},
            adopt=True,
            folder="packs/api",
            content_hash="h2",
        ),
        bookkeeping={"mon": ManagedInfo("renamed/mon", "h-mon-2")},
        now=T1,
    )
    assert result.bookkeeping == 2
    assert actual(base).managed == {
        "mon": ManagedInfo("renamed/mon", "h-mon-2"),
        "api": ManagedInfo("packs/api", "h2"),
    }
    with base.connect() as conn:
        synced = conn.execute(select(t.sync_managed_pack.c.synced_at)).scalars().all()
    assert synced == [T1, T1]


def test_adoption_without_field_changes_leaves_the_row_alone(base: Engine) -> None:
    apply(
        base,
        Change(
            "update", "pack", "api", None, values={}, adopt=True, folder="api", content_hash="h"
        ),
        now=T1,
    )
    assert actual(base).managed["api"] == ManagedInfo("api", "h")
    assert _row(base, t.pack, "api").updated == T0


def test_bookkeeping_for_a_missing_pack_is_refused(base: Engine) -> None:
    with pytest.raises(ApplyError, match="does not exist"):
        apply(base, bookkeeping={"ghost": ManagedInfo("ghost", "h")})


def test_consecutive_changes_are_batched(engine: Engine) -> None:
    changes = [managed_pack(f"p{i}") for i in range(50)]
    changes += [
        create("trigger", f"p{i}.t{j}", trigger_values(f"p{i}"))
        for i in range(50)
        for j in range(20)
    ]
    changes += [
        create("sensor", f"p{i}.s{j}", sensor_values(f"p{i}", f"p{i}.t{j}"))
        for i in range(50)
        for j in range(20)
    ]
    statements: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        result = apply(engine, *changes)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert result.count("create") == 2050
    # 2,050 rows: a few multi-row INSERTs per kind, id look-ups, one bookkeeping upsert.
    assert len(statements) < 25, statements
    assert count(engine, t.sensor) == 1000
