"""A device whose hello is answered with 1001 (a draining server says it is stopping before the
close) connects again instead of giving up; a final code in that answer still ends it."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from tidings.device_client import DeviceClient, Refused
from tidings.device_client.client import Connected


async def answering(codes: list[int]) -> tuple[list[str], Server]:
    """A WebSocket server answering each hello with the next error code of ``codes`` (and its
    close), then with ``registered``; the hello types it was sent."""
    hellos: list[str] = []

    async def handler(socket: ServerConnection) -> None:
        hello = json.loads(await socket.recv())
        hellos.append(hello["type"])
        if codes:
            code = codes.pop(0)
            await socket.send(json.dumps({"type": "error", "code": code, "reason": "stopping"}))
            await socket.close(code, "stopping")
            return
        registered = {"type": "registered", "deliveryToken": "tok", "secret": "s", "heartbeat": 30}
        await socket.send(json.dumps(registered))
        await socket.wait_closed()

    server = await serve(handler, "127.0.0.1", 0)
    return hellos, server


async def first_event(codes: list[int]) -> tuple[object, list[str]]:
    hellos, server = await answering(codes)
    port = next(iter(server.sockets)).getsockname()[1]
    client = DeviceClient(
        f"http://127.0.0.1:{port}", app_id="A", workspace_id="W", min_backoff=0.01
    )
    try:
        async with asyncio.timeout(10):
            async for event in client.events():
                return event, hellos
    finally:
        server.close()
    raise AssertionError("no event")


async def test_a_hello_answered_with_going_away_is_tried_again() -> None:
    event, hellos = await first_event([1001, 1001])
    assert event == Connected(True, "tok")
    assert hellos == ["register"] * 3


async def test_a_hello_answered_with_a_final_code_ends_the_client() -> None:
    with pytest.raises(Refused) as refused:
        await first_event([4001])
    assert refused.value.code == 4001
