"""The Redis broker under a burst: more devices attaching at once than it has connections."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.servers import REDIS_URL, require_redis
from tidings.broker.redis import POOL_SIZE, RedisBroker


def test_a_burst_of_attaches_waits_for_connections_instead_of_failing() -> None:
    require_redis()

    async def burst() -> set[int]:
        broker = RedisBroker(REDIS_URL, prefix="t" + uuid.uuid4().hex[:8])

        async def nothing(_: list[int]) -> None:
            return None

        await broker.start(nothing)
        try:
            devices = range(1, 5 * POOL_SIZE)
            await asyncio.gather(*(broker.attach(pk) for pk in devices))
            online = await broker.online(list(devices))
            await asyncio.gather(*(broker.detach(pk) for pk in devices))
            return online
        finally:
            await broker.aclose()

    assert asyncio.run(burst()) == set(range(1, 5 * POOL_SIZE))
