"""The Redis broker under a burst (more presence calls at once than it has connections), and
facing a Redis that accepts connections but never answers."""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.exceptions import RedisError

from tests.support.servers import REDIS_URL, require_redis
from tidings.broker.redis import POOL_SIZE, POOL_WAIT_SECONDS, RedisBroker


def test_a_burst_of_presence_calls_waits_for_connections_instead_of_failing() -> None:
    """More calls at once than the pool has connections (the detaches: the attaches of a loop
    turn go in one HSET) wait for a free one instead of failing. The broker's deadline here is
    the pool's wait, not the 2 s default: the burst opens the pool's 64 connections at once,
    each connect queued behind the event loop's other work, and on a loaded machine a connect
    took up to 1.85 s of its 2 s deadline; one that ran out would fail its call with "Timeout
    connecting to server", the silent-Redis test's subject, not this one's."""
    require_redis()

    async def burst() -> set[int]:
        broker = RedisBroker(
            REDIS_URL, prefix="t" + uuid.uuid4().hex[:8], timeout=POOL_WAIT_SECONDS
        )

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


def test_a_redis_that_accepts_and_never_answers_fails_each_call_in_its_timeout() -> None:
    """A socket that accepts connections and stays silent (a stopped Redis, a half-open link):
    every broker call raises redis's TimeoutError after the timeout, not never."""

    async def against_silence() -> list[tuple[str, str, float]]:
        held: list[asyncio.StreamWriter] = []

        async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # read nothing, answer nothing, keep it open

        silent = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        broker = RedisBroker(f"redis://127.0.0.1:{port}/0", timeout=0.3)
        calls = {
            "attach": lambda: broker.attach(1),
            "detach": lambda: broker.detach(1),
            "online": lambda: broker.online([1, 2]),
            "poke": lambda: broker.poke([1]),
            "ping": broker.ping,
        }
        results = []
        try:
            for name, call in calls.items():
                began = time.monotonic()
                try:
                    await asyncio.wait_for(call(), 10)
                    outcome = "answered"
                except RedisError as error:
                    outcome = type(error).__name__
                results.append((name, outcome, time.monotonic() - began))
        finally:
            await broker.aclose()
            for writer in held:
                writer.close()
            silent.close()
        assert held, "the broker never connected"
        return results

    for name, outcome, seconds in asyncio.run(against_silence()):
        assert outcome == "TimeoutError", (name, outcome)
        assert 0.25 < seconds < 1.5, (name, seconds)


def test_a_subscription_idle_longer_than_the_timeout_still_gets_pokes() -> None:
    """The command timeout does not cut the wait for pokes: silence on the subscription is
    normal (redis-py 8.0 applied the read timeout to it, and the subscription broke)."""
    require_redis()

    async def poked_after_idling() -> list[int]:
        prefix = "t" + uuid.uuid4().hex[:8]
        holder = RedisBroker(REDIS_URL, prefix=prefix, timeout=0.2)
        sender = RedisBroker(REDIS_URL, prefix=prefix, timeout=0.2)
        got: asyncio.Queue[list[int]] = asyncio.Queue()

        async def nothing(_: list[int]) -> None:
            return None

        await holder.start(got.put)
        await sender.start(nothing)
        try:
            await holder.attach(7)
            await asyncio.sleep(0.8)  # the subscription idles for four timeouts
            await sender.poke([7])
            return await asyncio.wait_for(got.get(), 5)
        finally:
            await holder.detach(7)  # no presence hash left behind in the shared Redis
            await sender.aclose()
            await holder.aclose()

    assert asyncio.run(poked_after_idling()) == [7]
