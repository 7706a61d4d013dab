"""A vendor channel: the part every vendor shares around its own protocol module.

A vendor module supplies a ``Sender`` (one per app configuration: its credentials, its access
token, its connections) whose ``attempt`` makes one request and reads the answer into a
``Verdict``. This class does the rest once for all vendors: it finds each delivery's app and that
app's configuration, keeps a sender per configuration (a changed configuration gets a new one),
holds each sender to its concurrency limit, retries, and turns verdicts into the outcomes delivery
records. A delivery the vendor cannot take is handed to ``fallback``, which sends it over the
self-built channel instead: when the device's token is dead (the fallback also removes the token
from the device), or when the app no longer has this channel configured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from tidings.channels.config import ChannelConfig
from tidings.channels.retry import DEFAULT_BACKOFF, Backoff, send_with_retries
from tidings.channels.verdicts import Verdict
from tidings.contract import Outbound, Outcome, Status

log = logging.getLogger("tidings.channels")


class Sender(Protocol):
    async def attempt(self, out: Outbound) -> Verdict:
        """One request for one delivery, its answer read into a verdict (never raises for
        the vendor's or the network's failures)."""
        ...

    def refresh(self) -> None:
        """The vendor refused the access token: fetch a new one before the next request."""
        ...

    async def aclose(self) -> None: ...


MakeSender = Callable[[ChannelConfig], Sender]
ConfigsOf = Callable[[Sequence[int]], Awaitable[dict[int, ChannelConfig]]]
Fallback = Callable[[Sequence[Outbound], bool], Awaitable[None]]  # deliveries, forget their tokens
_DEAD = "dead"  # the token is gone: fall back, and forget the token
_UNCONFIGURED = "unconfigured"  # the app dropped the channel: fall back, keep the token


class VendorChannel:
    def __init__(
        self,
        name: str,
        make_sender: MakeSender,
        configs_of: ConfigsOf,
        fallback: Fallback,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._make_sender = make_sender
        self._configs_of = configs_of  # delivery ids -> the app's config of this channel
        self._fallback = fallback
        self._backoff = backoff
        self._clock = clock
        self._senders: dict[str, tuple[Sender, asyncio.Semaphore]] = {}

    async def send(self, batch: Sequence[Outbound]) -> list[Outcome]:
        configs = await self._configs_of([out.id for out in batch])
        results = await asyncio.gather(*(self._send_one(out, configs.get(out.id)) for out in batch))
        for reroute, forget in ((_DEAD, True), (_UNCONFIGURED, False)):
            moved = [out for out, result in zip(batch, results, strict=True) if result == reroute]
            if moved:
                await self._fallback(moved, forget)
        return [result for result in results if isinstance(result, Outcome)]

    async def _send_one(self, out: Outbound, config: ChannelConfig | None) -> Outcome | str:
        """The delivery's outcome, or why it must go over the self-built channel instead."""
        if config is None:
            return _UNCONFIGURED
        if not out.device.third_token:
            return _DEAD
        sender, limit = self._sender(config)
        async with limit:
            settled = await send_with_retries(
                lambda: sender.attempt(out),
                expires_at=out.payload.expires_at / 1000,
                refresh=sender.refresh,
                backoff=self._backoff,
                clock=self._clock,
            )
        verdict = settled.verdict
        if verdict.dead_token:
            return _DEAD
        if settled.retry_at is not None:
            retry_at = int(settled.retry_at * 1000)
            return Outcome(out.id, Status.PENDING, verdict.reason, retry_at)
        if not verdict.ok:
            log.info("%s refused delivery %d: %s", self.name, out.id, verdict.reason)
        return Outcome(out.id, verdict.status, verdict.reason)

    def _sender(self, config: ChannelConfig) -> tuple[Sender, asyncio.Semaphore]:
        key = config.to_json()
        found = self._senders.get(key)
        if found is None:
            found = (self._make_sender(config), asyncio.Semaphore(config["concurrency"]))
            self._senders[key] = found
        return found

    async def aclose(self) -> None:
        senders, self._senders = self._senders, {}
        for sender, _ in senders.values():
            await sender.aclose()
