"""Nonces in the database, SQLite and PostgreSQL alike: claimed once, free again only after their
window, purged."""

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
from tidings.store.nonces import claim
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
            assert await store.remember("ak", "n1")
            now[0] += 1799
            assert not await store.remember("ak", "n1")
            assert await store.remember("other-key", "n1")
            now[0] += 1802  # n1 of "ak" and of "other-key" have both left their window
            assert await store.remember("ak", "n2")  # this call purges
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
