"""Statements run through the driver's cursor (store/plain.py) skip SQLAlchemy's statement
events, and lose nothing by it: the settings the project gives a connection are all made by
connection and transaction events (database.py: SQLite's pragmas at connect, its BEGIN
IMMEDIATE at begin; PostgreSQL's search_path in the URL, an unsynced write's SET LOCAL in its
transaction), which hold for every statement on the connection. No statement event is
listened to (no timing, no logging of statements), so none is missed. On both databases."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from tests.support.servers import database
from tidings.store import plain
from tidings.store.database import SQLITE_PRAGMAS, Database, sqlite_file


@pytest.fixture(params=("sqlite", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url or f"sqlite:///{tmp_path / 'p.db'}"


def _run(url: str, scenario: Any) -> Any:
    async def run() -> Any:
        db = Database(url)
        try:
            return await scenario(db)
        finally:
            await db.aclose()

    return asyncio.run(run())


def _one(conn: Connection, sql: str) -> Any:
    return plain.fetch(conn, sql, ())[0][0]


def test_sqlite_pragmas_hold_for_plain_statements_in_reads_and_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    expected = {"foreign_keys": 1, "busy_timeout": 30000, "synchronous": 2, "journal_mode": "wal"}
    assert {f"PRAGMA {name}" for name in expected} <= {p.split("=")[0] for p in SQLITE_PRAGMAS}

    def settings(conn: Connection) -> dict[str, Any]:
        return {name: _one(conn, f"PRAGMA {name}") for name in expected}

    async def scenario(db: Database) -> list[dict[str, Any]]:
        return [await db.read(settings), await db.write(settings)]

    assert _run(url, scenario) == [expected, expected]


def test_a_sqlite_write_holds_the_write_lock_from_its_begin_for_plain_statements(
    tmp_path: Path,
) -> None:
    """BEGIN IMMEDIATE (the begin event): a plain read-then-write cannot be overtaken by
    another writer between its read and its write."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    path = sqlite_file(url)
    assert path is not None

    def read_only(conn: Connection) -> str:
        _one(conn, "SELECT 1")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as refused:
            return str(refused)
        finally:
            other.close()
        return "another writer got in"

    async def scenario(db: Database) -> str:
        return await db.write(read_only)

    assert _run(url, scenario) == "database is locked"


def test_connection_settings_hold_for_plain_statements(db_url: str) -> None:
    """Foreign keys are enforced; on PostgreSQL the URL's search_path and an unsynced write's
    SET LOCAL hold for them."""

    def refused(conn: Connection) -> str:
        conn.exec_driver_sql("CREATE TABLE parent (id integer PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE child (parent integer REFERENCES parent (id))")
        mark = plain.mark(conn)
        try:
            plain.fetch_refusable(conn, f"INSERT INTO child (parent) VALUES ({mark})", (1,))
        except Exception as exc:
            return type(exc).__name__
        return "accepted"

    async def scenario(db: Database) -> tuple[str, Any, Any]:
        if db.is_sqlite:
            return await db.write(refused), None, None
        return (
            await db.write(refused),
            await db.read(_one, "SHOW search_path"),
            await db.write_unsynced(_one, "SHOW synchronous_commit"),
        )

    kind, search_path, synchronous = _run(db_url, scenario)
    assert kind == "IntegrityError"
    if "search_path" in db_url:
        assert search_path == db_url.rsplit("search_path%3D", 1)[1]
        assert synchronous == "off"
