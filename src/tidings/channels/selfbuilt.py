"""The self-built channel: deliveries written to the devices' own WebSocket connections.

A device connected to this process gets its delivery at once; one connected to another process
is poked through the broker, and that process sends it what is pending; one connected nowhere
gets it when it connects. The channel reports no outcome: the device's ack settles each delivery.
``nudge`` tells devices, wherever they are connected, that they are owed something new (a
revocation): the process holding each sends it what is pending.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from tidings.broker.base import Broker, PokeHandler
from tidings.contract import SELFBUILT, Outbound, Outcome


class Receiver(Protocol):
    def push(self, item: Outbound) -> None: ...


class Connections(Protocol):
    def get(self, device_pk: int) -> Receiver | None: ...


class SelfBuiltChannel:
    name = SELFBUILT

    def __init__(self, connections: Connections, broker: Broker, resend: PokeHandler) -> None:
        """``resend`` sends devices connected here what they are owed (the gateway's)."""
        self._connections = connections
        self._broker = broker
        self._resend = resend

    async def send(self, batch: Sequence[Outbound]) -> Sequence[Outcome]:
        elsewhere = []
        connections = self._connections
        for item in batch:
            connection = connections.get(item.device.pk)
            if connection is None:
                elsewhere.append(item.device.pk)
            else:
                connection.push(item)
        if elsewhere:
            await self._broker.poke(elsewhere)
        return ()

    async def nudge(self, device_pks: Collection[int]) -> None:
        here = [pk for pk in device_pks if self._connections.get(pk) is not None]
        if len(here) < len(device_pks):
            held = set(here)
            await self._broker.poke([pk for pk in device_pks if pk not in held])
        if here:
            await self._resend(here)

    async def aclose(self) -> None:
        pass
