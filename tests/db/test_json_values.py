"""How JSON values survive a trip through each backend (what the planner compares against)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from attune_sync.db import schema as t

# jsonb keeps numbers as `numeric`; Python writes floats of 1e16 and above in exponent form,
# and jsonb hands those back as integers. Below that every value keeps its exact type.
_floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _floats | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=15,
)


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout: True is not 1, and 1 is not 1.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _round_trip(engine: Engine, value: Any) -> Any:
    with engine.connect() as conn:
        conn.execute(t.pack.insert().values(ref="p", label="p", description="p", meta=value))
        got = conn.execute(select(t.pack.c.meta)).scalar_one()
        conn.rollback()
    return got


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.dictionaries(_text, _json, max_size=4) | st.lists(_json, max_size=4))
def test_json_values_keep_their_types(engine: Engine, value: Any) -> None:
    # Top level is an object or a list, as in every JSON column the sync writes.
    assert _same(_round_trip(engine, value), value)


def test_known_backend_differences(engine: Engine) -> None:
    value = {"zz": 1, "a": 1.0, "big": 1e16, "huge": 1.5e300, "neg_zero": -0.0}
    got = _round_trip(engine, value)
    assert got == {"zz": 1, "a": 1.0, "big": 1e16, "huge": got["huge"], "neg_zero": 0.0}
    assert type(got["a"]) is float
    if engine.dialect.name == "postgresql":
        # jsonb: keys reordered (shorter first), big floats come back as (exact decimal) ints,
        # which need not equal the binary float Python started from.
        assert list(got) == ["a", "zz", "big", "huge", "neg_zero"]
        assert type(got["big"]) is int
        assert got["huge"] != 1.5e300
        assert float(got["huge"]) == 1.5e300
    else:
        assert list(got) == list(value)
        assert _same(got, value)


def test_top_level_numbers_lose_their_type_on_sqlite(engine: Engine) -> None:
    # A column declared JSON has NUMERIC affinity in SQLite, which turns the stored text "0.0"
    # into the integer 0. Harmless for the sync, whose JSON fields are all objects or lists.
    got = _round_trip(engine, 0.0)
    assert type(got) is (int if engine.dialect.name == "sqlite" else float)
