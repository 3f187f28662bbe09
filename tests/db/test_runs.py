from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from attune_sync.db.runs import recent_runs, record_run

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
    }


def test_unknown_result_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="result must be one of"), engine.begin() as conn:
        record_run(conn, started_at=T0, finished_at=T0, revision=None, result="weird")  # type: ignore[arg-type]


def test_timestamps_must_be_timezone_aware(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"), engine.begin() as conn:
        record_run(
            conn, started_at=T0.replace(tzinfo=None), finished_at=None, revision=None, result="noop"
        )
