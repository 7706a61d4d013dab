"""Connections are capped per client address and in all, /device WebSockets included, and a
request whose headers never end is closed.

The attack (issue 11): 200 HTTP requests whose headers never ended were all still open after
40 seconds, a descriptor each; nothing capped how many one address could hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.servers import Server, running_server
from tests.support.sockets import connect_from, get_from, still_open_after

PER_ADDRESS = 20
TOTAL = 30


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {
        "TIDINGS_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
        "TIDINGS_MAX_CONNECTIONS": str(TOTAL),
    }
    with running_server("sqlite", tmp_path_factory.mktemp("capped"), settings) as server:
        yield server


def device_socket(server: Server, source: str) -> ClientConnection:
    """A /device WebSocket from ``source`` that never says a word."""
    return connect(f"ws://127.0.0.1:{server.port}/device", sock=connect_from(source, server.port))


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def test_the_caps_count_device_websockets_and_refuse_cleanly(capped: Server) -> None:
    with ExitStack() as held:
        for _ in range(PER_ADDRESS):
            held.enter_context(device_socket(capped, "127.0.0.1"))
        refused = get_from("127.0.0.1", capped.port)
        assert status(refused) == 503, refused
        assert b"connection: close" in refused
        assert status(get_from("127.0.0.2", capped.port)) == 200  # another address may
        for _ in range(TOTAL - PER_ADDRESS):
            held.enter_context(device_socket(capped, "127.0.0.2"))
        assert status(get_from("127.0.0.3", capped.port)) == 503  # the total is reached
    deadline = time.monotonic() + 5
    while status(get_from("127.0.0.1", capped.port)) != 200:  # closed sockets free their slots
        assert time.monotonic() < deadline, "slots were not given back"
        time.sleep(0.1)


def test_headers_that_never_end_are_closed_at_the_deadline(tmp_path) -> None:
    settings = {"TIDINGS_HEADER_TIMEOUT_SECONDS": "2"}
    with running_server("sqlite", tmp_path, settings) as server:
        slow = []
        for i in range(200):
            sock = connect_from(f"127.0.{i // 100 + 1}.{i % 100 + 1}", server.port)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        try:
            idle = connect_from("127.0.9.1", server.port)  # connected, never says a word
            slow.append(idle)
            started = time.monotonic()
            still_open = still_open_after(slow, 6)
            assert not still_open, f"{len(still_open)} of {len(slow)} still open"
            assert time.monotonic() - started < 8
            assert status(get_from("127.0.0.1", server.port)) == 200
        finally:
            for sock in slow:
                sock.close()
