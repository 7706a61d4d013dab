"""Writes done again if lost (``Database.write_unsynced``): committed without waiting for the
disk when alone in their transaction, and as every other write when one shares it; on both
databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from tests.support.servers import database
from tidings.store.database import Database


@pytest.fixture(params=("sqlite", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url or f"sqlite:///{tmp_path / 'u.db'}"


def _waits_for_the_disk(conn: Connection) -> bool:
    """Whether this transaction's commit waits for the disk."""
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    return conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_an_unsynced_write_alone_does_not_wait_for_the_disk_and_others_still_do(
    db_url: str,
) -> None:
    async def scenario() -> list[bool]:
        db = Database(db_url)
        try:
            return [
                await db.write(_waits_for_the_disk),
                await db.write_unsynced(_waits_for_the_disk),
                await db.write(_waits_for_the_disk),  # the connection's level is back
            ]
        finally:
            await db.aclose()

    assert asyncio.run(scenario()) == [True, False, True]


def test_an_unsynced_write_sharing_a_transaction_with_a_synced_one_waits_with_it(
    db_url: str,
) -> None:
    async def scenario() -> tuple[bool, bool]:
        db = Database(db_url)
        try:
            together = await asyncio.gather(
                db.write_unsynced(_waits_for_the_disk), db.write(_waits_for_the_disk)
            )
            return together[0], together[1]
        finally:
            await db.aclose()

    assert asyncio.run(scenario()) == (True, True)
