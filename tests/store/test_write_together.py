"""Writes gathered over a loop turn (``Database.write_together``): one call for many items, each
answered with its own result; and the multi-row registration and the lookup of resuming devices
they serve, in order, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from tests.support.servers import database
from tidings.store import devices as store
from tidings.store import tenancy
from tidings.store.database import Database


@pytest.fixture(params=("sqlite", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url or f"sqlite:///{tmp_path / 'w.db'}"


@contextlib.asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    db.migrate()
    try:
        yield db
    finally:
        await db.aclose()


def _app(conn: Connection) -> int:
    values = {"app_id": "APP", "tenant_id": None, "timezone": "UTC", "created_at": 1}
    return tenancy.insert_app(conn, "WS", values)


def _device(app_pk: int, n: int) -> dict[str, Any]:
    return {
        "app_pk": app_pk,
        "token": f"token-{n}",
        "secret_hash": b"h",
        "platform": "android",
        "manufacturer": "android",
        "created_at": n,
        "last_seen_at": n,
    }


def test_registrations_of_one_turn_share_one_call_and_each_gets_its_row(db_url: str) -> None:
    calls: list[int] = []

    def register(conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
        calls.append(len(rows))
        return store.register_devices(conn, rows)

    async def scenario() -> None:
        async with migrated(db_url) as db:
            app_pk = await db.write(_app)
            # Shuffled tokens: a row handed to the wrong caller would show.
            order = [7, 3, 250, 0, 99, *range(100, 120)]
            rows = await asyncio.gather(
                *(db.write_together(register, _device(app_pk, n)) for n in order)
            )
            assert calls == [len(order)]
            assert [row.token for row in rows] == [f"token-{n}" for n in order]
            assert len({row.pk for row in rows}) == len(order)
            found = await db.read(store.find, app_pk, "token-250")
            assert found is not None and found.pk == rows[2].pk
            # The next turn's items are another call.
            await db.write_together(register, _device(app_pk, 1000))
            assert calls == [len(order), 1]

    asyncio.run(scenario())


def test_a_failed_gathered_call_fails_its_items_alone(db_url: str) -> None:
    async def scenario() -> None:
        async with migrated(db_url) as db:
            app_pk = await db.write(_app)
            await db.write_together(store.register_devices, _device(app_pk, 1))
            # token-1 again: the UNIQUE constraint refuses the whole call, not the other write.
            clash = [db.write_together(store.register_devices, _device(app_pk, n)) for n in (2, 1)]
            other = db.write(store.insert_device, _device(app_pk, 3))
            results = await asyncio.gather(*clash, other, return_exceptions=True)
            assert all(isinstance(result, Exception) for result in results[:2])
            assert results[2].token == "token-3"
            assert await db.read(store.find, app_pk, "token-2") is None

    asyncio.run(scenario())


def test_devices_resuming_together_are_found_each_in_one_read(db_url: str) -> None:
    async def scenario() -> None:
        async with migrated(db_url) as db:
            app_pk = await db.write(_app)
            other_app = await db.write(
                lambda conn: tenancy.insert_app(
                    conn,
                    "WS",
                    {"app_id": "B", "tenant_id": None, "timezone": "UTC", "created_at": 1},
                )
            )
            rows = [_device(app_pk, n) for n in range(3)] + [_device(other_app, 9)]
            await db.write(store.register_devices, rows)
            keys = [
                (app_pk, "token-2"),
                (app_pk, "token-9"),  # another app's token: not this app's device
                (other_app, "token-9"),
                (app_pk, "missing"),
                (app_pk, "token-0"),
            ]
            found = await asyncio.gather(*(db.read_together(store.find_each, key) for key in keys))
            assert [row and (row.app_pk, row.token) for row in found] == [
                (app_pk, "token-2"),
                None,
                (other_app, "token-9"),
                None,
                (app_pk, "token-0"),
            ]

    asyncio.run(scenario())
