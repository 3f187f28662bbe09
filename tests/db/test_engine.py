from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from attune_sync.db import schema as t
from attune_sync.db.engine import (
    DEFAULT_DATABASE_URL,
    DatabaseError,
    make_engine,
    mask_url,
    normalise_url,
)
from attune_sync.db.migrate import upgrade


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:pw@db/attune", "postgresql+psycopg"),
        ("postgresql+psycopg://u:pw@db/attune", "postgresql+psycopg"),
        ("postgres://u:pw@db/attune", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite+pysqlite"),
        (DEFAULT_DATABASE_URL, "sqlite+pysqlite"),
    ],
)
def test_urls_are_normalised(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    "url", ["mysql://u:secret@db/x", "postgresql+psycopg2://u:secret@db/x", "not a url"]
)
def test_unsupported_urls_are_refused_without_leaking_the_password(url: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        make_engine(url)
    assert "secret" not in str(caught.value)
    assert caught.value.url == url


def test_mask_url_hides_the_password() -> None:
    assert mask_url("postgresql://bob:hunter2@db:5432/x") == "postgresql://bob:***@db:5432/x"


def test_unreachable_postgresql_is_a_readable_error() -> None:
    url = "postgresql://bob:hunter2@127.0.0.1:1/attune?connect_timeout=2"
    with pytest.raises(DatabaseError, match=r"cannot connect to database .*bob:\*\*\*@") as caught:
        make_engine(url)
    assert "hunter2" not in str(caught.value)


def test_unknown_postgresql_database_is_a_readable_error(pg_url: str) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        make_engine(pg_url + "_missing")


def test_sqlite_in_a_missing_directory_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="unable to open database file"):
        make_engine(f"sqlite:///{tmp_path}/no/such/dir/a.db")


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_sqlite_connections_are_configured(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_a_transaction_rolls_back_completely(engine: Engine) -> None:
    def doomed() -> None:
        with engine.begin() as conn:
            conn.execute(t.runtime.insert().values(ref="a", label="A"))
            # DDL too: pysqlite's legacy mode would have committed around it.
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
            conn.execute(t.runtime.insert().values(ref="b", label="B"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        doomed()
    with engine.connect() as conn:
        refs = conn.execute(select(t.runtime.c.ref)).scalars().all()
        tables = engine.dialect.get_table_names(conn)
    assert "a" not in refs
    assert "b" not in refs
    assert "scratch" not in tables


def test_sqlite_transactions_take_the_write_lock_up_front(sqlite_engine: Engine) -> None:
    # BEGIN IMMEDIATE: a second transaction cannot even start while the first holds the lock,
    # so a read-then-write apply never fails half-way on a lock upgrade.
    other = make_engine(str(sqlite_engine.url))
    try:
        with sqlite_engine.begin() as first, other.connect() as second:
            first.execute(select(t.runtime.c.id))  # a read is enough to hold the lock
            raw = second.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout = 50")
            with pytest.raises(OperationalError, match="database is locked"):
                second.execute(select(t.runtime.c.id))
            second.rollback()
            reader = second.execution_options(sqlite_begin="DEFERRED")
            assert len(reader.execute(select(t.runtime.c.id)).all()) == 4
    finally:
        other.dispose()
