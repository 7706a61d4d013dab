"""Connections: pushes written in order, duplicates dropped, acks checked against what was sent."""

from __future__ import annotations

import asyncio
import json

from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions
from tidings.gateway.hub import Connection, Hub


def item(delivery_id: int, device_pk: int = 1) -> Outbound:
    return Outbound(
        delivery_id,
        "selfbuilt",
        DeviceAddress(device_pk, "t", "android", "android", None),
        Payload(1, f"k{delivery_id}", "T", "C", None, {}, 0),
        PushOptions(),
    )


class Peer:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, text: str) -> None:
        await asyncio.sleep(0)
        self.frames.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_pushes_are_written_once_each_in_order() -> None:
    peer = Peer()
    connection = Connection(peer.send, peer.close, 0.0)
    for delivery_id in (3, 1, 3, 2):
        connection.push(item(delivery_id))
    while connection._writer is not None:
        await asyncio.sleep(0)
    assert [json.loads(f)["id"] for f in peer.frames] == [3, 1, 2]
    assert connection.settle((1, 9, 2)) == [1, 2]  # 9 was never sent here
    assert connection.in_flight == {3}
    assert connection.settle((1,)) == []  # acked already


async def test_closing_sends_the_last_frame_then_closes_once() -> None:
    peer = Peer()
    connection = Connection(peer.send, peer.close, 0.0)
    await connection.close(4001, "no", '{"type":"error"}')
    await connection.close(1000, "again")
    connection.push(item(1))
    assert peer.frames == ['{"type":"error"}'] and peer.closed == (4001, "no")


def test_a_device_connected_twice_keeps_its_newer_connection() -> None:
    hub = Hub()
    first, second = (Connection(Peer().send, Peer().close, t) for t in (1.0, 2.0))
    first.device_pk = second.device_pk = 7
    assert hub.attach(first) is None
    assert hub.attach(second) is first
    assert not hub.detach(first)  # the old connection's end does not drop the new one
    assert hub.get(7) is second and len(hub) == 1
    assert hub.silent_since(1.5) == [] and hub.silent_since(2.5) == [second]
    assert hub.detach(second) and hub.get(7) is None
