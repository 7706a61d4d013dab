"""The device socket behind a real uvicorn, in this process: an upgraded connection leaves no
garbage cycle behind (uvicorn's HTTP protocol object would otherwise wait for a full collection,
which ``tidings serve`` runs rarely), and a path other than /device is answered 404."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from pathlib import Path

import pytest
import uvicorn
import websockets

from tests.support.servers import free_port
from tidings.app import build_app
from tidings.config import Settings
from tidings.gateway.transport import socket_class


async def serving(data_dir: Path) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    app = build_app(Settings(data_dir=data_dir))
    port = free_port()
    config = uvicorn.Config(app, port=port, ws=socket_class(app), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, task, port


async def test_an_upgraded_connection_leaves_no_cycle_behind(tmp_path: Path) -> None:
    server, task, port = await serving(tmp_path)
    gc.collect()
    gc.disable()
    try:
        sockets = [await websockets.connect(f"ws://127.0.0.1:{port}/device") for _ in range(20)]
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = Counter(type(o).__module__ for o in gc.garbage)
        assert not [module for module in left if module.startswith("uvicorn")], left
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
