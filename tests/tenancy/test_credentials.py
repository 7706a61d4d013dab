"""The AccessKeys a signature is checked with, on real SQLite: the calls that miss the key's
cache entry together read it once, and a key changed is read again by the calls after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tidings.config import Settings
from tidings.services import Services
from tidings.store import tenancy as tenancy_store


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    opened = await Services.open(Settings(data_dir=tmp_path))
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_the_calls_that_miss_a_key_together_read_it_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await services.tenancy.create_app("ws", "APP1")
    key, secret = await services.tenancy.create_key("ws")
    reads: list[str] = []
    find_key = tenancy_store.find_key

    def counted(conn: object, access_key_id: str) -> object:
        reads.append(access_key_id)
        return find_key(conn, access_key_id)

    monkeypatch.setattr(tenancy_store, "find_key", counted)
    asked = [services.tenancy.credentials(key.access_key_id) for _ in range(20)]
    assert {found[1] for found in await asyncio.gather(*asked)} == {secret}
    assert reads == [key.access_key_id]
    await services.tenancy.set_key_active(key.access_key_id, False)
    found = await services.tenancy.credentials(key.access_key_id)
    assert found is not None and not found[0].active
    assert len(reads) == 2
