"""The self-built channel as the services make it: in a process with no gateway (the command
line) it reaches every device through the broker; once a gateway serves its connections, the
devices connected here get their frames directly and the others are poked."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import redis

from tests.channels.outbound import outbound
from tests.support.links import Peer
from tests.support.servers import REDIS_URL, require_redis
from tidings.broker.memory import MemoryBroker
from tidings.broker.redis import RedisBroker
from tidings.channels.selfbuilt import SelfBuiltChannel
from tidings.config import Settings
from tidings.contract import SELFBUILT
from tidings.gateway.hub import Connection, Hub
from tidings.services import Services


async def test_a_command_line_process_pokes_devices_held_by_the_server(tmp_path: Path) -> None:
    require_redis()
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    poked: asyncio.Queue[list[int]] = asyncio.Queue()

    async def on_poke(device_pks: list[int]) -> None:
        await poked.put(device_pks)

    out = outbound(SELFBUILT, "")
    device = out.device.pk
    server = RedisBroker(REDIS_URL, prefix=prefix)  # the process holding the device
    await server.start(on_poke)
    await server.attach(device)
    settings = Settings(data_dir=tmp_path, redis_url=REDIS_URL, redis_prefix=prefix)
    services = await Services.open(settings)  # as the command line opens them: no gateway
    try:
        channel = services.channels[SELFBUILT]
        assert channel is services.selfbuilt
        assert SELFBUILT in services.delivery.channel_names
        assert await channel.send([out]) == ()
        assert await asyncio.wait_for(poked.get(), 10) == [device]
        await channel.recall([device])
        assert await asyncio.wait_for(poked.get(), 10) == [device]
    finally:
        await services.aclose()
        await server.aclose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


async def test_served_connections_get_frames_directly() -> None:
    peer = Peer()
    hub = Hub()
    connection = Connection(peer, lambda: 0.0, 100)
    here = outbound(SELFBUILT, "")
    connection.device_pk = here.device.pk
    hub.attach(connection)
    resent: list[list[int]] = []

    async def resend(device_pks: list[int]) -> None:
        resent.append(device_pks)

    channel = SelfBuiltChannel(MemoryBroker())
    channel.serve(hub, resend)
    elsewhere = outbound(SELFBUILT, "")
    assert await channel.send([here, elsewhere]) == ()
    assert [json.loads(f)["id"] for f in peer.frames] == [here.id]
    await channel.recall([here.device.pk, elsewhere.device.pk])
    assert resent == [[here.device.pk]]  # the other one is poked, wherever it is
