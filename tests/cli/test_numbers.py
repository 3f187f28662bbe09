"""Numbers compare as the database stores them: no change shown forever on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from attune_sync.db import schema as t
from attune_sync.planner import json_equal
from cli.helpers import run_json
from core.trees import pack_doc, write_tree


def test_large_floats_apply_once(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # jsonb stores 1e23 as the exact decimal and returns the integer 10**23, which is not
    # the binary float 1e23: before the fix every run showed meta as changed.
    meta = "meta: {big: 1e23, huge: 1.5e300, small: 1.0e-7, exact: 100000000000000000000000}\n"
    root = write_tree(tmp_path / "packs", {"p/pack.yaml": pack_doc("p", extra=meta)})
    code, first = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 0
    assert [c["action"] for c in first["changes"]] == ["create"]
    code, second = run_json(capsys, "apply", str(root), "--database", db_url)
    assert (code, second["changes"], second["result"]) == (0, [], "noop")


def test_a_different_stored_number_is_still_a_change() -> None:
    # 99999999999999991611392 is the float 1e23's exact binary value, but the database holds
    # what the file wrote (1e+23): as stored, the two numbers differ.
    assert 99999999999999991611392 == 1e23
    assert not json_equal(99999999999999991611392, 1e23)
    assert json_equal(10**23, 1e23)


def _stored(engine: Engine, value: Any) -> Any:
    with engine.connect() as conn:
        conn.execute(t.pack.insert().values(ref="p", label="p", description="p", meta=value))
        got = conn.execute(select(t.pack.c.meta)).scalar_one()
        conn.rollback()
    return got


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(number=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**30), 10**30))
def test_every_number_equals_itself_after_a_round_trip(engine: Engine, number: float) -> None:
    assert json_equal(_stored(engine, {"n": number}), {"n": number})
