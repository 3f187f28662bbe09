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
from attune_sync.runs import RunResult, RunSummary

from .factories import T0, T1


def test_record_and_list_runs(engine: Engine) -> None:
    details = {"errors": [{"path": "a/pack.yaml", "message": "bad"}], "held_back": []}
    with engine.begin() as conn:
        first = record_run(
            conn,
            RunSummary(RunResult.APPLIED, created=3, updated=1, deleted=2, details=details),
            started_at=T0,
            finished_at=T0 + timedelta(seconds=2),
            revision="abc123",
        )
        second = record_run(
            conn,
            RunSummary(RunResult.INVALID, invalid=1),
            started_at=T1,
            finished_at=None,
            revision=None,
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
    weird = RunSummary("weird")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="result must be one of"), engine.begin() as conn:
        record_run(conn, weird, started_at=T0, finished_at=T0, revision=None)


def test_a_daemon_only_result_is_not_history(engine: Engine) -> None:
    unreadable = RunSummary(RunResult.UNREADABLE)
    with pytest.raises(ValueError, match="result must be one of"), engine.begin() as conn:
        record_run(conn, unreadable, started_at=T0, finished_at=T0, revision=None)


def test_timestamps_must_be_timezone_aware(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"), engine.begin() as conn:
        record_run(
            conn,
            RunSummary(RunResult.NOOP),
            started_at=T0.replace(tzinfo=None),
            finished_at=None,
            revision=None,
        )


def _idle(conn: Connection, at: datetime, revision: str = "abc", **over: Any) -> int:
    """Record a run; `over` changes the summary of an idle run (result, counts, details)."""
    fields: dict[str, Any] = {
        "result": RunResult.NOOP,
        "details": {"errors": [], "held_back": []},
    }
    fields.update(over)
    fields["result"] = RunResult(fields["result"])
    summary = RunSummary(**fields)
    finished_at = at + timedelta(seconds=1)
    return record_run(conn, summary, started_at=at, finished_at=finished_at, revision=revision)


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
