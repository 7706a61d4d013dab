"""The broker of several processes: presence in Redis, pokes over Redis pub/sub.

Presence is one hash, device pk -> the id of the process holding its connection. A process
keeps a key of its own alive while it runs (``<prefix>:node:<id>``, refreshed every third of its
time to live), so the devices of a process that died read as offline once that key expires,
without anyone having to clean up after it. A poke is published on the holding process's own
channel, carrying the device pks.

Every command has a deadline (``timeout``, the ``redis_timeout_seconds`` setting): a Redis that
accepts connections but never answers (stopped, swapping, behind a half-open link) raises
``redis.exceptions.TimeoutError`` after it, as an absent Redis raises ``ConnectionError``, and
callers handle both alike. The subscription's wait for pokes has no deadline: silence there is
normal, so it has a connection of its own without one (redis-py applies a connection's read
timeout to a subscription's wait in some versions: 8.0 did, with a default of 5 s), and only its
SUBSCRIBE is bounded. Pokes lost to a silent Redis are made up by the gateway's periodic re-send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Collection

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from tidings.broker.base import PokeHandler
from tidings.gathering import Gathering

log = logging.getLogger("tidings.broker")

NODE_TTL_SECONDS = 30
POOL_SIZE = 64  # connections to Redis per process
POOL_WAIT_SECONDS = 30  # a command waits this long for a free connection
CONNECT_SECONDS = 5
DEFAULT_TIMEOUT_SECONDS = 2.0
# Delete the entry only if this process still holds the device (it may have reconnected to
# another process meanwhile).
_DETACH = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class RedisBroker:
    shared = True

    def __init__(
        self, url: str, *, prefix: str = "tidings", timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        # A blocking pool: past its size a command waits for a free connection instead of
        # failing (the default pool raised "Too many connections" when 300 devices connected
        # at once); a Redis that does not answer a connect fails in seconds, not minutes, and
        # one that does not answer a command fails after ``timeout``. A broken connection (a
        # Redis restarted) is retried once on a new one; a timeout is not retried, so no call
        # waits longer than ``timeout`` for an answer.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT_SECONDS,
            socket_connect_timeout=min(CONNECT_SECONDS, timeout),
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._redis = Redis.from_pool(pool)
        self._subscriber = Redis.from_url(
            url, socket_connect_timeout=min(CONNECT_SECONDS, timeout), socket_timeout=None
        )
        self._timeout = timeout
        self._prefix = prefix
        self.node = uuid.uuid4().hex
        self._presence = f"{prefix}:presence"
        self._tasks: list[asyncio.Task[None]] = []
        self._attach: Gathering[int, None] = Gathering(self._attach_each)
        self._detach = self._redis.register_script(_DETACH)

    def _node_key(self, node: str) -> str:
        return f"{self._prefix}:node:{node}"

    def _channel(self, node: str) -> str:
        return f"{self._prefix}:poke:{node}"

    async def start(self, on_poke: PokeHandler) -> None:
        await self._redis.set(self._node_key(self.node), 1, ex=NODE_TTL_SECONDS)
        pubsub = await self._subscribe()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(pubsub, on_poke)),
            loop.create_task(self._stay_alive()),
        ]

    async def attach(self, device_pk: int) -> None:
        await self._attach(device_pk)

    async def _attach_each(self, device_pks: list[int]) -> list[None]:
        """The devices that connected during one loop turn, in one HSET (gathering.py)."""
        await self._redis.hset(
            self._presence, mapping=dict.fromkeys(map(str, device_pks), self.node)
        )
        return [None] * len(device_pks)

    async def detach(self, device_pk: int) -> None:
        await self._detach(keys=[self._presence], args=[str(device_pk), self.node])

    async def online(self, device_pks: Collection[int]) -> set[int]:
        return set().union(*(await self._holders(device_pks)).values())

    async def poke(self, device_pks: Collection[int]) -> None:
        for node, pks in (await self._holders(device_pks)).items():
            if node != self.node:
                await self._redis.publish(self._channel(node), ",".join(map(str, pks)))

    async def _holders(self, device_pks: Collection[int]) -> dict[str, list[int]]:
        """The live processes holding these devices, with the devices each holds."""
        pks = list(device_pks)
        if not pks:
            return {}
        nodes = await self._redis.hmget(self._presence, [str(pk) for pk in pks])
        held: dict[str, list[int]] = defaultdict(list)
        for pk, node in zip(pks, nodes, strict=True):
            if node is not None:
                held[node.decode()].append(pk)
        names = list(held)
        alive = await self._redis.exists(*(self._node_key(n) for n in names)) if names else 0
        if alive == len(names):
            return held
        return {n: held[n] for n in names if await self._redis.exists(self._node_key(n))}

    async def _subscribe(self) -> PubSub:
        """This process's channel, subscribed within the timeout (or closed, not leaked)."""
        pubsub = self._subscriber.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(self._channel(self.node)), self._timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        return pubsub

    async def _listen(self, pubsub: PubSub, on_poke: PokeHandler) -> None:
        """Handle pokes; if the subscription breaks (Redis restarted), subscribe again. Pokes
        lost meanwhile are made up by the gateway's periodic re-send."""
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await on_poke([int(pk) for pk in message["data"].split(b",")])
                    except Exception:
                        log.exception("handling a poke failed; the devices get it later")
            except Exception:
                log.exception("lost the Redis subscription; subscribing again")
            await asyncio.sleep(1)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                pubsub = await self._subscribe()

    async def _stay_alive(self) -> None:
        while True:
            await asyncio.sleep(NODE_TTL_SECONDS / 3)
            try:
                await self._redis.set(self._node_key(self.node), 1, ex=NODE_TTL_SECONDS)
            except Exception:
                log.exception("cannot reach Redis to stay registered")

    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._redis.delete(self._node_key(self.node))
        await self._redis.aclose()
        await self._subscriber.aclose()
