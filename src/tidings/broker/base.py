"""The broker interface: where devices are connected, and how to reach the process holding one.

A process that holds a device's WebSocket says so (``attach``/``detach``); any process can ask
who is online (PushQueryDeviceState) and can ``poke`` devices held elsewhere, which makes their
process send those devices what is pending for them. Only wake-ups cross processes: deliveries
themselves are read from the database by the process that holds the connection, so a lost poke
delays a delivery until the device reconnects but never loses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

# Called in the holding process with the pks of its devices that have something new.
PokeHandler = Callable[[list[int]], Awaitable[None]]


class Broker(Protocol):
    # True when other processes hold devices too. A poke dies with the process that was to
    # send it, so then the gateway re-sends, now and then, what its devices are still owed.
    shared: bool

    async def start(self, on_poke: PokeHandler) -> None: ...

    async def attach(self, device_pk: int) -> None: ...

    async def detach(self, device_pk: int) -> None: ...

    async def online(self, device_pks: Collection[int]) -> set[int]: ...

    async def poke(self, device_pks: Collection[int]) -> None:
        """Ask the processes holding these devices (not this one) to send what is pending."""
        ...

    async def ping(self) -> None:
        """Raise if the broker cannot be reached (for /readyz)."""
        ...

    async def aclose(self) -> None: ...
