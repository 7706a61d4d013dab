"""The device socket behind a real uvicorn, in this process: an upgraded connection leaves no
garbage cycle behind (uvicorn's HTTP protocol object would otherwise wait for a full collection,
which ``tidings serve`` runs rarely), a path other than /device is answered 404, and with the
protocols ``tidings serve`` runs, a whole upgrade request skips uvicorn's parser while one split
over reads still goes through it; and the frames a connection is sent in one loop turn are
written at its end, in order, in one write."""

from __future__ import annotations

import asyncio
import gc
import types
from collections import Counter
from pathlib import Path

import pytest
import uvicorn
import websockets
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tests.support.servers import free_port
from tidings.app import build_app
from tidings.config import Settings
from tidings.gateway.transport import Outbox, is_device_upgrade, socket_class
from tidings.limits.connections import ConnectionCaps, Deadlines, guarded_protocols


async def serving(
    data_dir: Path, *, guarded: bool = False
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """uvicorn with the device socket; ``guarded``: with the caps, the deadlines and the
    direct upgrade of ``tidings serve`` (cli/serve.py)."""
    app = build_app(Settings(data_dir=data_dir))
    port = free_port()
    ws: type[asyncio.Protocol] = socket_class(app)
    http: type[HttpToolsProtocol] = HttpToolsProtocol
    if guarded:
        caps, deadlines = ConnectionCaps(100, 100), Deadlines(10, 10, 1)
        http, ws = guarded_protocols(http, ws, caps, deadlines, direct=is_device_upgrade)
    config = uvicorn.Config(app, port=port, http=http, ws=ws, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, task, port


@pytest.mark.parametrize("guarded", [False, True])
async def test_an_upgraded_connection_leaves_no_cycle_behind(tmp_path: Path, guarded: bool) -> None:
    server, task, port = await serving(tmp_path, guarded=guarded)
    gc.collect()
    gc.disable()
    try:
        sockets = [await websockets.connect(f"ws://127.0.0.1:{port}/device") for _ in range(20)]
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = Counter(type(o).__module__ for o in gc.garbage)
        assert not [m for m in left if m.startswith(("uvicorn", "tidings.limits"))], left
        for socket in sockets:
            await socket.close()
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        server.should_exit = True
        await task


async def test_another_path_is_not_found(tmp_path: Path) -> None:
    server, task, port = await serving(tmp_path)
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"ws://127.0.0.1:{port}/other")
        assert refused.value.response.status_code == 404
    finally:
        server.should_exit = True
        await task


async def test_a_whole_upgrade_skips_the_parser_and_a_split_one_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    on_url = HttpToolsProtocol.on_url

    def counted(self: HttpToolsProtocol, url: bytes) -> None:
        parsed.append(url)
        on_url(self, url)

    monkeypatch.setattr(HttpToolsProtocol, "on_url", counted)
    server, task, port = await serving(tmp_path, guarded=True)
    try:
        whole = await websockets.connect(f"ws://127.0.0.1:{port}/device")
        await whole.send('{"type":"ping"}')  # not yet registered: refused with the protocol's code
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await whole.recv()
            await whole.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert parsed == []
        head = (
            b"GET /device HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head[:20])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(head[20:])
        answer = await reader.readuntil(b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 101 "), answer
        assert parsed == [b"/device"]
        writer.close()
    finally:
        server.should_exit = True
        await task


class _Recording:
    """A transport that keeps what is written."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def get_protocol(self) -> None:
        return None


async def test_the_frames_of_one_turn_go_out_in_one_write_in_order() -> None:
    gateway = types.SimpleNamespace(
        frame_limit=65536, unread_limit=1 << 20, outbox=Outbox(), open=lambda link: None
    )
    app = types.SimpleNamespace(state=types.SimpleNamespace(gateway=gateway))
    sockets, transports = [], []
    for _ in range(2):
        socket, transport = socket_class(app)(), _Recording()  # type: ignore[arg-type]
        socket.connection_made(transport)  # type: ignore[arg-type]
        socket.data_received(
            b"GET /device HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        transport.written.clear()  # the handshake's answer
        sockets.append(socket)
        transports.append(transport)
    many, one = sockets
    many.send(b"first")
    one.send(b"alone")
    many.send(b"second")
    many.send(b"third")
    assert transports[0].written == transports[1].written == []  # until the turn ends
    await asyncio.sleep(0)
    assert transports[0].written == [b"firstsecondthird"]
    assert transports[1].written == [b"alone"]
    one.send(b"next turn")
    await asyncio.sleep(0)
    assert transports[1].written == [b"alone", b"next turn"]
