"""Nonces in the embedded database: claimed once, free again only after their window, purged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from tidings.openapi.replay import DatabaseNonces
from tidings.store.database import Database
from tidings.store.tables import nonces


def test_a_nonce_is_refused_within_its_window_and_purged_after_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        now = [1_000.0]
        db = Database(f"sqlite:///{tmp_path / 'n.db'}")
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
        finally:
            await db.aclose()

    asyncio.run(scenario())
