"""The device channel's bounds against hostile or broken devices, on a real ``tidings serve``
with real sockets: a deadline for the first frame, a size cap read from the frame header, a
window of unacknowledged messages with the rest paged from the database, bounded memory for a
device that never reads, 1001 when the server stops, and no device secret in its logs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from alibabacloud_mpaas20201028 import models

from tests.gateway.test_frames import client_frame
from tests.support.clients import new_sdk
from tests.support.devices import push_multiple
from tests.support.servers import Server, running_server
from tidings.gateway.frames import CLOSE, PING, TEXT

APP_ID = "ONEXBOUNDS000001"
WORKSPACE = "bounds"
TEMPLATE = "Bounds template"
WINDOW = 5
HEARTBEAT = 5  # the shortest allowed: a stalled device is closed after 2.5 of them
BOUNDS = {
    "TIDINGS_DEVICE_HEARTBEAT_SECONDS": str(HEARTBEAT),
    "TIDINGS_DEVICE_HELLO_SECONDS": "1",
    "TIDINGS_DEVICE_WINDOW": str(WINDOW),
    "TIDINGS_DEVICE_UNREAD_LIMIT": str(64 * 1024),
}
REGISTER = json.dumps(
    {"type": "register", "appId": APP_ID, "workspaceId": WORKSPACE, "platform": "android"}
)


def prepare(server: Server) -> object:
    server.create_app(WORKSPACE, APP_ID)
    sdk = new_sdk(server, server.create_key(WORKSPACE))
    sdk.create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, template_name=TEMPLATE, title="T", content="C"
        )
    )
    return sdk


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("bounds"), BOUNDS) as running:
        running.sdk = prepare(running)  # type: ignore[attr-defined]
        yield running


def ws_url(server: Server) -> str:
    return server.url.replace("http", "ws") + "/device"


def push_to(server: Server, token: str, count: int, label: str) -> list[str]:
    """``count`` messages to the device with ``token``, in calls of 100; their msgKeys."""
    keys = [f"{label}-{time.time_ns()}-{i}" for i in range(count)]
    for start in range(0, count, 100):
        targets = [(token, k, {}) for k in keys[start : start + 100]]
        push_multiple(server.sdk, APP_ID, WORKSPACE, TEMPLATE, targets)  # type: ignore[attr-defined]
    return keys


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def raw_device(server: Server, receive_buffer: int | None = None):
    """A TCP connection upgraded by hand, for frames no WebSocket client would send."""
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /device HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, size = await reader.readexactly(2)
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(size)


def test_connections_that_never_send_a_first_frame_are_closed_at_the_deadline(
    server: Server,
) -> None:
    async def silent() -> tuple[int, float]:
        started = time.monotonic()
        async with websockets.connect(ws_url(server)) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
                await asyncio.wait_for(ws.recv(), 10)
        return closed.value.rcvd.code, time.monotonic() - started

    async def many() -> list[tuple[int, float]]:
        return await asyncio.gather(*(silent() for _ in range(200)))

    results = asyncio.run(many())
    assert {code for code, _ in results} == {4008}
    assert max(seconds for _, seconds in results) < 6  # a 1 s deadline, on a loaded machine


def test_a_message_over_the_cap_is_refused_from_its_header(server: Server) -> None:
    async def announce_100_mib() -> tuple[int, int]:
        reader, writer = await raw_device(server)
        # FIN + text, masked, a 64-bit length of 100 MiB, the mask, and only 1,000 bytes of it
        writer.write(b"\x81\xff" + (100 << 20).to_bytes(8, "big") + b"\0\0\0\0" + b"x" * 1000)
        opcode, payload = await asyncio.wait_for(read_frame(reader), 10)
        while opcode != CLOSE:
            opcode, payload = await asyncio.wait_for(read_frame(reader), 10)
        writer.close()
        return opcode, int.from_bytes(payload[:2], "big")

    assert asyncio.run(announce_100_mib()) == (CLOSE, 1009)


def test_the_window_bounds_messages_in_flight_and_the_rest_follow_acks(server: Server) -> None:
    async def run() -> list[int]:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(REGISTER)
            token = json.loads(await ws.recv())["deliveryToken"]
            await asyncio.to_thread(push_to, server, token, 23, "window")
            first = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(WINDOW)]
            with pytest.raises(TimeoutError):  # the window is full: nothing more comes
                await asyncio.wait_for(ws.recv(), 1.5)
            received = [m["id"] for m in first]
            await ws.send(json.dumps({"type": "ack", "ids": received}))
            while len(received) < 23:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                received.append(message["id"])
                await ws.send(json.dumps({"type": "ack", "ids": [message["id"]]}))
            with pytest.raises(TimeoutError):
                extra = await asyncio.wait_for(ws.recv(), 1)
                pytest.fail(f"a frame after all 23 were acknowledged: {extra} (had {received})")
            return received

    received = asyncio.run(run())
    assert len(received) == len(set(received)) == 23


def test_a_device_that_never_reads_costs_bounded_memory_and_keeps_its_messages(
    server: Server,
) -> None:
    pid = server.process.pid  # type: ignore[union-attr]

    async def run() -> tuple[int, list[int], list[int]]:
        reader, writer = await raw_device(server, receive_buffer=4096)
        writer.write(client_frame(TEXT, REGISTER.encode()))
        _, hello = await read_frame(reader)
        registered = json.loads(hello)
        before = rss_kib(pid)
        await asyncio.to_thread(push_to, server, registered["deliveryToken"], 3000, "unread")
        grown = rss_kib(pid) - before
        writer.close()
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "resume",
                        "appId": APP_ID,
                        "workspaceId": WORKSPACE,
                        "deliveryToken": registered["deliveryToken"],
                        "secret": registered["secret"],
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "resumed"
            again = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(WINDOW)]
        return grown, [m["id"] for m in again], []

    grown, again, _ = asyncio.run(run())
    assert grown < 16 * 1024, f"RSS grew {grown} KiB over 3,000 messages to a non-reader"
    assert again == sorted(again) and len(again) == WINDOW  # kept for the next connection


def test_a_device_that_does_not_read_its_answers_is_dropped_past_the_unread_limit(
    server: Server,
) -> None:
    pid = server.process.pid  # type: ignore[union-attr]

    async def run() -> tuple[float, int]:
        reader, writer = await raw_device(server, receive_buffer=4096)
        writer.write(client_frame(TEXT, REGISTER.encode()))
        await read_frame(reader)
        before = rss_kib(pid)
        started = time.monotonic()
        ping = client_frame(PING, b"p" * 125)
        # Pings until the server cuts the connection: their pongs, never read, fill the kernel
        # buffers (4 MiB at most here), then the server's own past the unread limit.
        with pytest.raises((ConnectionError, OSError)):
            while time.monotonic() < started + 60:
                writer.write(ping * 100)
                await asyncio.wait_for(writer.drain(), 10)
                await asyncio.sleep(0.005)
        return time.monotonic() - started, rss_kib(pid) - before

    seconds, grown = asyncio.run(run())
    assert seconds < 60
    assert grown < 16 * 1024, f"RSS grew {grown} KiB for one device that does not read"


def test_a_device_that_pings_but_never_acknowledges_is_closed_with_4009(server: Server) -> None:
    async def run() -> tuple[int, float]:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(REGISTER)
            token = json.loads(await ws.recv())["deliveryToken"]
            await asyncio.to_thread(push_to, server, token, 1, "stalled")
            assert json.loads(await ws.recv())["type"] == "message"
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while time.monotonic() < started + 60:
                    await ws.send('{"type":"ping"}')  # alive, so never closed as silent
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ws.recv(), 1)
        return closed.value.rcvd.code, time.monotonic() - started

    code, seconds = asyncio.run(run())
    assert code == 4009
    assert seconds < 3.5 * HEARTBEAT + 5  # 2.5 intervals, found at the next sweep, under load


def test_stopping_the_server_sends_going_away_and_logs_no_secret(tmp_path: Path) -> None:
    async def connect_then_wait(server: Server) -> tuple[str, str, int]:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(REGISTER)
            registered = json.loads(await ws.recv())
        async with websockets.connect(ws_url(server)) as ws:
            resume = {"type": "resume", "appId": APP_ID, "workspaceId": WORKSPACE}
            await ws.send(
                json.dumps(
                    {
                        **resume,
                        "deliveryToken": registered["deliveryToken"],
                        "secret": registered["secret"],
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "resumed"
            server.process.terminate()  # type: ignore[union-attr]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 20)
        return registered["secret"], registered["deliveryToken"], closed.value.rcvd.code

    with running_server("sqlite", tmp_path, {"TIDINGS_LOG_LEVEL": "debug"}) as server:
        prepare(server)
        secret, token, code = asyncio.run(connect_then_wait(server))
        output = server.stop()
    assert code == 1001
    assert "DEBUG" in output  # the log did run at debug
    for value in (secret, token):
        for part in (value, value[: len(value) // 2], value[len(value) // 2 :]):
            assert part not in output
