"""Nonces in the database, SQLite and PostgreSQL alike: claimed once, free again only after their
window, purged; recorded in the transaction of a call's own write, and only if it commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.servers import postgres_schema
from tidings.config import Settings
from tidings.openapi.replay import DatabaseNonces
from tidings.store.database import Database
from tidings.store.nonces import Nonce, NonceUsed, claim, write_claiming
from tidings.store.tables import nonces


@contextlib.contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'n.db'}"
        return
    with postgres_schema() as url:
        yield Settings(database_url=url).database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_nonce_is_refused_within_its_window_and_purged_after_it(
    kind: str, tmp_path: Path
) -> None:
    async def scenario(url: str) -> None:
        now = [1_000.0]
        db = Database(url)
        db.migrate()
        try:
            store = DatabaseNonces(db, ttl_seconds=1800, clock=lambda: now[0], purge_every=60)

            async def remember(access_key_id: str, nonce: str) -> bool:
                return await store.record(store.pending(access_key_id, nonce))

            assert await remember("ak", "n1")
            now[0] += 1799
            assert not await remember("ak", "n1")
            assert await remember("other-key", "n1")
            now[0] += 1802  # n1 of "ak" and of "other-key" have both left their window
            assert await remember("ak", "n2")  # this call purges
            left = await db.read(lambda conn: conn.execute(select(nonces.c.nonce)).scalars().all())
            assert left == ["n2"]
            # An expired nonce still stored (not purged yet) is taken over, once.
            later = int((now[0] + 1801) * 1000)
            assert await db.write(claim, "ak", "n2", later, later + 1_800_000)
            assert not await db.write(claim, "ak", "n2", later, later + 1_800_000)
        finally:
            await db.aclose()

    with database_url(kind, tmp_path) as url:
        asyncio.run(scenario(url))


def _recorded(conn) -> list[tuple[str, str]]:
    return sorted(map(tuple, conn.execute(select(nonces.c.access_key_id, nonces.c.nonce))))


def _mark(conn, name: str) -> str:
    """A write of the call's own (a row the test can look for)."""
    claim(conn, "written", name, 0, 2**40)
    return name


def _fail(conn) -> None:
    claim(conn, "written", "rolled back", 0, 2**40)
    raise RuntimeError("the write fails")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_nonce_is_recorded_by_the_write_it_rides_and_only_if_that_commits(
    kind: str, tmp_path: Path
) -> None:
    """Two calls with one nonce, their writes in one group-committed batch (the second then
    fails in its savepoint, store/database.py's ``_apart``): one writes, the other gets
    NonceUsed with nothing written. A write that fails records no nonce, so it is still to be
    recorded; a nonce recorded already rides no write again."""

    async def scenario(url: str) -> None:
        db = Database(url)
        db.migrate()
        try:

            def pending(nonce: str) -> Nonce:
                return Nonce("ak", nonce, 1_000, 10_000_000)

            first, second = pending("n1"), pending("n1")
            outcomes = await asyncio.gather(
                write_claiming(db, first, _mark, "first"),
                write_claiming(db, second, _mark, "second"),
                return_exceptions=True,
            )
            assert outcomes[0] == "first" and isinstance(outcomes[1], NonceUsed)
            assert (first.recorded, second.recorded) == (True, False)
            assert await db.read(_recorded) == [("ak", "n1"), ("written", "first")]

            failing = pending("n2")
            with pytest.raises(RuntimeError):
                await write_claiming(db, failing, _fail)
            assert not failing.recorded
            assert await db.read(_recorded) == [("ak", "n1"), ("written", "first")]
            assert await write_claiming(db, failing, _mark, "again") == "again"
            assert await write_claiming(db, failing, _mark, "later") == "later"
            assert failing.recorded
            assert await db.read(_recorded) == [
                ("ak", "n1"),
                ("ak", "n2"),
                ("written", "again"),
                ("written", "first"),
                ("written", "later"),
            ]
        finally:
            await db.aclose()

    with database_url(kind, tmp_path) as url:
        asyncio.run(scenario(url))
