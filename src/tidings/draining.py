"""A graceful stop: on SIGTERM, stop taking new work, finish what was accepted, send the devices
elsewhere, then exit.

The order matters for what is never lost. While draining, ``/readyz`` answers 503 so a load
balancer stops sending traffic; new OpenAPI calls are answered 503 (nothing of theirs is written)
and new device connections are closed with 1001 at once. Calls already being handled finish
and are answered; then every device is closed with 1001 (going away), which the device client
takes as "reconnect, maybe elsewhere". Only then does uvicorn close its socket and the services
close: deliveries being sent finish, and the acks gathered are written (delivery/outcomes.py).
A delivery written to a device but not acked stays pending and is sent again on its next
connection; the device client drops it if it had it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

import uvicorn

log = logging.getLogger("tidings.server")

POLL_SECONDS = 0.05


class Gateway(Protocol):
    hub: Sized

    def go_away(self) -> None: ...


class Drain:
    """Shared by the application (which refuses new work while draining) and the server (which
    starts the drain on SIGTERM)."""

    def __init__(self) -> None:
        self.draining = False
        self._requests = 0
        self._gateway: Gateway | None = None

    def serve_devices(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @contextmanager
    def request(self) -> Iterator[None]:
        """Count a request being handled, so the drain waits for its answer."""
        self._requests += 1
        try:
            yield
        finally:
            self._requests -= 1

    async def run(self, seconds: float) -> None:
        """Drain within ``seconds``: wait for requests in hand, then close every device."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        log.info("draining: %d requests in hand", self._requests)
        await _until(lambda: self._requests == 0, deadline)
        gateway = self._gateway
        if gateway is not None:
            log.info("draining: closing %d device connections (1001)", len(gateway.hub))
            gateway.go_away()
            await _until(lambda: len(gateway.hub) == 0, deadline)
        log.info("drained; stopping")


async def _until(done: Callable[[], bool], deadline: float) -> None:
    loop = asyncio.get_running_loop()
    while not done() and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)


class DrainingServer(uvicorn.Server):
    """uvicorn, but the first SIGTERM drains (see the module's docstring) before the usual
    shutdown; a second SIGTERM or a SIGINT stops at once as uvicorn does."""

    def __init__(self, config: uvicorn.Config, drain: Drain, seconds: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._seconds = seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._drain.draining or self._loop is None or not self.started:
            super().handle_exit(sig, frame)
            return
        self._drain.draining = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        self._draining = asyncio.get_running_loop().create_task(self._drain_then_exit())

    async def _drain_then_exit(self) -> None:
        try:
            await self._drain.run(self._seconds)
        finally:
            self.should_exit = True
