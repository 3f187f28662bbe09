from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert

from attune_sync.db.engine import make_engine
from attune_sync.db.migrate import upgrade
from attune_sync.db.runs import recent_runs, record_run
from attune_sync.db.schema import sync_run
from attune_sync.db.settings import DEFAULT_HISTORY_LIMIT

from .factories import T0, T1


def test_record_and_list_runs(engine: Engine) -> None:
    details = {"errors": [{"path": "a/pack.yaml", "message": "bad"}], "held_back": []}
    with engine.begin() as conn:
        first = record_run(
            conn,
            started_at=T0,
            finished_at=T0 + timedelta(seconds=2),
            revision="abc123",
            result="applied",
            created=3,
            updated=1,
            deleted=2,
            details=details,
        )
        second = record_run(
            conn, started_at=T1, finished_at=None, revision=None, result="invalid", invalid=1
        )
    assert second > first

    with engine.connect() as conn:
        runs = recent_runs(conn, limit=10)
        assert [run["id"] for run in recent_runs(conn, limit=1)] == [second]
    assert [run["id"] for run in runs] == [second, first]
    newest, oldest = runs
    assert newest["result"] == "invalid"
    assert newest["finished_at"] is None
    assert newest["details"] is None
    assert (newest["created"], newest["invalid"]) == (0, 1)
    assert oldest == {
        "id": first,
        "started_at": T0,
        "finished_at": T0 + timedelta(seconds=2),
        "revision": "abc123",
        "result": "applied",
        "created": 3,
        "updated": 1,
        "deleted": 2,
        "held_back": 0,
        "invalid": 0,
        "details": details,
        "run_count": 1,
    }


def test_unknown_result_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="result must be one of"), engine.begin() as conn:
        record_run(conn, started_at=T0, finished_at=T0, revision=None, result="weird")  # type: ignore[arg-type]


def test_timestamps_must_be_timezone_aware(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"), engine.begin() as conn:
        record_run(
            conn, started_at=T0.replace(tzinfo=None), finished_at=None, revision=None, result="noop"
        )


def _idle(conn: Connection, at: datetime, **over: Any) -> int:
    kwargs: dict[str, Any] = {
        "started_at": at,
        "finished_at": at + timedelta(seconds=1),
        "revision": "abc",
        "result": "noop",
        "details": {"errors": [], "held_back": []},
    }
    kwargs.update(over)
    return record_run(conn, **kwargs)


def test_repeated_idle_runs_are_one_row(engine: Engine) -> None:
    with engine.begin() as conn:
        first = _idle(conn, T0)
    for minute in range(1, 5):
        with engine.begin() as conn:
            assert _idle(conn, T0 + timedelta(minutes=minute)) == first
    with engine.connect() as conn:
        [row] = recent_runs(conn)
    assert row["id"] == first
    assert row["run_count"] == 5
    assert row["started_at"] == T0
    assert row["finished_at"] == T0 + timedelta(minutes=4, seconds=1)


def test_a_run_that_differs_gets_its_own_row(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = [
            _idle(conn, T0),
            _idle(conn, T0, revision="def"),  # another commit
            _idle(conn, T0, revision="def", result="invalid", invalid=1),
            _idle(conn, T0, revision="def", result="invalid", invalid=1),  # the same again
            _idle(conn, T0, revision="def", result="applied", updated=1),
            _idle(conn, T0, revision="def", result="applied", updated=1),  # changes count
            _idle(conn, T0, revision="def", details={"errors": ["x"], "held_back": []}),
        ]
    assert ids[3] == ids[2]
    assert len(set(ids)) == 6
    with engine.connect() as conn:
        counts = [run["run_count"] for run in recent_runs(conn)]
    assert counts == [1, 1, 1, 2, 1, 1]


def test_history_is_pruned_to_the_limit(db_url: str) -> None:
    engine = make_engine(db_url, history_limit=3)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            ids = [_idle(conn, T0, revision=str(n)) for n in range(6)]
        with engine.connect() as conn:
            assert [run["id"] for run in recent_runs(conn)] == ids[:2:-1]
    finally:
        engine.dispose()


def test_history_limit_zero_keeps_everything(db_url: str) -> None:
    engine = make_engine(db_url, history_limit=0)
    total = DEFAULT_HISTORY_LIMIT + 2
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(sync_run),
                [{"started_at": T0, "result": "noop", "revision": str(n)} for n in range(total)],
            )
            _idle(conn, T1)
        with engine.connect() as conn:
            assert len(recent_runs(conn, total + 10)) == total + 1
    finally:
        engine.dispose()
