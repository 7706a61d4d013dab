"""A connection to PostgreSQL lost under a transaction (its backend terminated from another
connection, as a restart or a cut link would): the pool hands out a fresh one, and the
transaction runs again on it, once, when the database did not commit it; a commit whose answer
was lost stands if PostgreSQL says it committed. A database that stays out of reach fails the
work with ``StoreUnavailable``. The same for statements SQLAlchemy runs and for those
store/plain.py hands to the driver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from tests.support.servers import POSTGRES_ADMIN, free_port, postgres_schema
from tidings.store import plain
from tidings.store.database import Database
from tidings.store.lost_connections import StoreUnavailable

Work = Callable[..., Any]


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as schema_url:
        yield schema_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _terminate(conn: Connection) -> None:
    """End ``conn``'s server process from another connection, as an operator would."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _insert(conn: Connection, value: int) -> int:
    """A plain statement, through the driver."""
    return plain.fetch_refusable(conn, "INSERT INTO t (v) VALUES (%s) RETURNING v", (value,))[0][0]


def _insert_by_sqlalchemy(conn: Connection, value: int) -> int:
    return conn.exec_driver_sql("INSERT INTO t (v) VALUES (%s) RETURNING v", (value,)).scalar()


def _lost_at_first(statement: Work, value: int, runs: list[int]) -> Work:
    """A write whose first run loses its connection before its statement."""

    def work(conn: Connection) -> int:
        runs.append(value)
        if len(runs) == 1:
            _terminate(conn)
        return statement(conn, value)

    return work


def _scenario(url: str, body: Callable[[Database], Any]) -> Any:
    async def run() -> Any:
        db = Database(url, write_lanes=1)
        await db.write(lambda c: c.exec_driver_sql("CREATE TABLE t (v int PRIMARY KEY)"))
        try:
            return await body(db)
        finally:
            await db.aclose()

    return asyncio.run(run())


async def _stored(db: Database) -> list[int]:
    return await db.read(lambda c: [v for (v,) in plain.fetch(c, "SELECT v FROM t ORDER BY v", ())])


@pytest.mark.parametrize("statement", [_insert, _insert_by_sqlalchemy])
@pytest.mark.parametrize("size", [1, 3])
def test_a_batch_that_lost_its_connection_before_its_commit_runs_again_once(
    url: str, statement: Work, size: int
) -> None:
    runs: list[int] = []

    async def body(db: Database) -> tuple[list[int], list[int]]:
        writes = [db.write(_lost_at_first(statement, value, runs)) for value in range(size)]
        return list(await asyncio.gather(*writes)), await _stored(db)

    answers, stored = _scenario(url, body)
    assert answers == stored == list(range(size))
    assert runs == [0, *range(size)]  # the first write lost its connection, then all ran again


def test_a_statement_on_a_lost_connection_invalidates_it_as_sqlalchemy_does(url: str) -> None:
    seen: list[tuple[bool, bool, str]] = []

    def work(conn: Connection) -> None:
        _terminate(conn)
        try:
            plain.fetch(conn, "SELECT 1", ())
        except DBAPIError as exc:
            seen.append((exc.connection_invalidated, conn.invalidated, type(exc.orig).__name__))
            raise

    async def body(db: Database) -> None:
        with pytest.raises(StoreUnavailable):  # lost again the second time
            await db.write(work)

    _scenario(url, body)
    assert seen == [(True, True, "AdminShutdown")] * 2


def test_a_read_that_lost_its_connection_runs_again(url: str) -> None:
    runs: list[int] = []

    def read(conn: Connection) -> list[Any]:
        runs.append(1)
        if len(runs) == 1:
            _terminate(conn)
        return plain.fetch(conn, "SELECT count(*) FROM t", ())

    async def body(db: Database) -> list[Any]:
        return await db.read(read)

    assert _scenario(url, body) == [(0,)]
    assert len(runs) == 2


def test_a_write_whose_commit_never_reached_the_database_runs_again(url: str) -> None:
    runs: list[int] = []

    def work(conn: Connection) -> int:
        runs.append(len(runs) + 1)
        value = _insert(conn, runs[-1])
        if len(runs) == 1:
            _terminate(conn)  # after the last statement: the COMMIT finds the connection gone
        return value

    async def body(db: Database) -> tuple[int, list[int]]:
        return await db.write(work), await _stored(db)

    assert _scenario(url, body) == (2, [2])  # PostgreSQL had rolled the first run back
    assert runs == [1, 2]


def test_a_write_committed_before_its_connection_was_lost_stands_and_runs_once(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to the COMMIT lost, not the COMMIT: the database did the writes."""
    runs: list[int] = []

    def work(conn: Connection) -> int:
        runs.append(1)
        return _insert(conn, 7)

    async def body(db: Database) -> tuple[int, list[int]]:
        dialect = db.engine.dialect
        commit = dialect.do_commit

        def commit_then_lose_the_connection(pooled: Any) -> None:
            monkeypatch.setattr(dialect, "do_commit", commit)  # this commit alone
            commit(pooled)
            driver = pooled.driver_connection
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (driver.info.backend_pid,))
            driver.execute("SELECT 1")  # the driver's own error for the lost connection

        await db.write(_insert_by_sqlalchemy, 1)  # the table's rows so far
        monkeypatch.setattr(dialect, "do_commit", commit_then_lose_the_connection)
        return await db.write(work), await _stored(db)

    assert _scenario(url, body) == (7, [1, 7])
    assert runs == [1]


def test_a_database_out_of_reach_fails_reads_and_writes_with_store_unavailable() -> None:
    gone = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/{uuid.uuid4().hex}"

    async def run() -> list[str]:
        db = Database(gone, write_lanes=1)
        failures = []
        for attempt in (db.read, db.write):
            with pytest.raises(StoreUnavailable) as failed:
                await attempt(lambda c: plain.fetch(c, "SELECT 1", ()))
            failures.append(str(failed.value))
        await db.aclose()
        return failures

    assert all("out of reach" in failure for failure in asyncio.run(run()))
