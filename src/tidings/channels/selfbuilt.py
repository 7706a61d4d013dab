"""The self-built channel: deliveries written to the devices' own WebSocket connections.

A device connected to this process gets its delivery at once; one connected to another process
is poked through the broker, and that process sends it what is pending; one connected nowhere
gets it when it connects. The channel reports no outcome: the device's ack settles each delivery.

The channel is made with the other channels when the services are put together, so every process
has it; a process that holds device connections (the server's gateway) hands it those with
``serve``. Until then, as in a command-line process, every device is reached through the broker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from tidings.broker.base import Broker, PokeHandler
from tidings.contract import SELFBUILT, NotRecalled, Outbound, Outcome


class Receiver(Protocol):
    def push(self, item: Outbound) -> None: ...


class Connections(Protocol):
    def get(self, device_pk: int) -> Receiver | None: ...

    def held(self, device_pks: Collection[int]) -> list[int]:
        """Those of ``device_pks`` connected here, in ascending order."""
        ...


class _NoConnections:
    def get(self, device_pk: int) -> Receiver | None:
        return None

    def held(self, device_pks: Collection[int]) -> list[int]:
        return []


async def _nothing(device_pks: list[int]) -> None:
    pass


class SelfBuiltChannel:
    name = SELFBUILT
    can_recall = True  # a device withdraws a message it was sent when told to
    recall_asks_vendor = False

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._connections: Connections = _NoConnections()
        self._resend: PokeHandler = _nothing

    def serve(self, connections: Connections, resend: PokeHandler) -> None:
        """This process holds ``connections``; ``resend`` sends devices connected here what
        they are owed, deliveries and revocations (both the gateway's)."""
        self._connections = connections
        self._resend = resend

    async def send(self, batch: Sequence[Outbound]) -> Sequence[Outcome]:
        elsewhere = []
        connection_of = self._connections.get
        for item in batch:
            connection = connection_of(item.device.pk)
            if connection is None:
                elsewhere.append(item.device.pk)
            else:
                connection.push(item)
        if elsewhere:
            await self._broker.poke(elsewhere)
        return ()

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> Sequence[NotRecalled]:
        """Tell the devices, wherever they are connected, that they are owed revoke frames: the
        process holding each sends them what is pending (so none is refused)."""
        await self.owed(device_pks)
        return ()

    async def owed(self, device_pks: Collection[int]) -> None:
        """These devices are owed something new (deliveries, revoke frames), already committed:
        the process holding each sends it what is pending, read from the database; a device
        connected nowhere is sent it when it connects. A broadcast names thousands of devices a
        page, most connected nowhere: the rest are only sorted out when a broker is shared (an
        unshared one has no other process to poke)."""
        if not device_pks:
            return
        here = self._connections.held(device_pks)
        if self._broker.shared and len(here) < len(device_pks):
            held = set(here)
            await self._broker.poke([pk for pk in device_pks if pk not in held])
        if here:
            await self._resend(here)

    async def aclose(self) -> None:
        pass
