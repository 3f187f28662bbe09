"""A tree the size of the real one (41,000 objects) must apply in seconds on both backends."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from attune_sync.model import Change

from .factories import (
    actual,
    apply,
    create,
    delete,
    managed_pack,
    sensor_values,
    trigger_values,
    update,
)

PACKS, PER_PACK = 1000, 20
BUDGET_SECONDS = 20.0
"""Generous against ~2 s measured on PostgreSQL and ~1 s on SQLite, to survive slow CI."""


@pytest.mark.slow
def test_41000_objects_create_update_delete(engine: Engine) -> None:
    creates: list[Change] = [managed_pack(f"p{i}") for i in range(PACKS)]
    creates += [
        create("trigger", f"p{i}.t{j}", trigger_values(f"p{i}"))
        for i in range(PACKS)
        for j in range(PER_PACK)
    ]
    creates += [
        create("sensor", f"p{i}.s{j}", sensor_values(f"p{i}", f"p{i}.t{j}"))
        for i in range(PACKS)
        for j in range(PER_PACK)
    ]
    assert len(creates) == 41_000

    started = time.perf_counter()
    apply(engine, *creates)
    state = actual(engine)
    assert time.perf_counter() - started < BUDGET_SECONDS
    assert (len(state.packs), len(state.triggers), len(state.sensors)) == (1000, 20_000, 20_000)

    # Every sensor moves to its neighbour trigger: ids stay, FKs follow.
    updates = [
        update("sensor", f"p{i}.s{j}", {"trigger_refs": [f"p{i}.t{(j + 1) % PER_PACK}"]})
        for i in range(PACKS)
        for j in range(PER_PACK)
    ]
    started = time.perf_counter()
    apply(engine, *updates)
    after = actual(engine)
    assert time.perf_counter() - started < BUDGET_SECONDS
    assert after.sensors["p7.s19"].values["trigger_refs"] == ["p7.t0"]
    assert after.sensors["p7.s19"].id == state.sensors["p7.s19"].id

    started = time.perf_counter()
    apply(engine, *(delete("pack", f"p{i}") for i in range(PACKS)))
    assert time.perf_counter() - started < BUDGET_SECONDS
    emptied = actual(engine)
    assert emptied.packs == emptied.triggers == emptied.sensors == {}
