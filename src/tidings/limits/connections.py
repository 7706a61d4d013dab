"""Connections the server holds: capped per client address and in all, a deadline for a
request's headers and a minimum pace for its body.

All are enforced where uvicorn's protocols meet the socket, below every edge, so they cover the
OpenAPI, the console (forms and uploads) and the ``/device`` WebSocket alike: a connection is
counted from its first byte to its close, through the upgrade to a WebSocket. A connection past
a cap is answered 503 and closed at once; one whose request headers have not ended within the
deadline (the first request's or a later one's on a kept-alive connection), or whose body falls
behind its pace (``pace.py``), is answered 408 and closed.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidings.limits.pace import BodyPace

_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 28\r\n\r\nToo many connections; retry"
)
_HEADERS_LATE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 32\r\n\r\nThe request headers took too long"
)
_BODY_LATE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 35\r\n\r\nThe request body arrived too slowly"
)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a request's headers may take; how slowly its body may come (``pace.py``)."""

    header_seconds: float
    body_seconds: float
    body_min_rate: float


class ConnectionCaps:
    """Open connections per client address and in all; proxies listed as trusted are held to
    the total only, since every client behind them shares their address."""

    def __init__(self, per_address: int, total: int, trusted_proxies: str = "") -> None:
        self.per_address = per_address
        self.total = total
        self._exempt = _networks(trusted_proxies)
        self._open: Counter[str] = Counter()
        self._count = 0

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and not counted) past a cap."""
        if self._count >= self.total:
            return False
        if self._open[address] >= self.per_address and not self._exempted(address):
            return False
        self._open[address] += 1
        self._count += 1
        return True

    def release(self, address: str) -> None:
        self._count -= 1
        self._open[address] -= 1
        if not self._open[address]:
            del self._open[address]

    def __len__(self) -> int:
        return self._count

    def _exempted(self, address: str) -> bool:
        if self._exempt is None:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._exempt)


def _networks(listed: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The networks a comma-separated list names; None when it is ``*`` (every address)."""
    names = [name.strip() for name in listed.split(",") if name.strip()]
    if "*" in names:
        return None
    return [ipaddress.ip_network(name, strict=False) for name in names]


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) else "unix"


class _Slot:
    """One admitted connection's place in the count, given back once whichever protocol holds
    the socket last (HTTP, or the WebSocket it was upgraded to) sees it close."""

    __slots__ = ("address", "caps", "held")

    def __init__(self, caps: ConnectionCaps, address: str) -> None:
        self.caps = caps
        self.address = address
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.caps.release(self.address)


def guarded_protocols(
    http: type[HttpToolsProtocol],
    ws: type[asyncio.Protocol],
    caps: ConnectionCaps,
    deadlines: Deadlines,
    direct: Callable[[bytes], bool] = lambda _: False,
) -> tuple[type[HttpToolsProtocol], type[asyncio.Protocol]]:
    """uvicorn's protocol classes ``http`` and ``ws`` with the caps and the deadlines.

    ``direct`` tells whether the first bytes of a connection are a whole upgrade request that
    ``ws`` answers itself (gateway/frames.py's ``whole_upgrade``): those go to it at once,
    without uvicorn's parsing and per-connection setup, which cost as much as the rest of a
    device's connect. Every other connection is uvicorn's, set up when its first bytes come.
    """
    slots: dict[asyncio.BaseTransport, _Slot] = {}

    class GuardedHttp(http):  # type: ignore[valid-type, misc]
        _slot: _Slot | None = None
        _made = False  # uvicorn's connection_made has run
        _deadline: asyncio.TimerHandle | None = None
        _pace: BodyPace | None = None  # while a request's body is arriving
        _pace_check: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            address = _peer(transport)
            if not caps.admit(address):
                transport.write(_REFUSED)  # type: ignore[attr-defined]
                transport.close()
                return
            self._slot = slots[transport] = _Slot(caps, address)
            # What uvicorn's shutdown and connection_lost need; the rest waits for the first
            # bytes, which may be a device's upgrade that never needs it.
            self.transport = transport  # type: ignore[assignment]
            self.connections.add(self)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._slot is None:  # refused
                return
            self._headers_arrived()
            self._body_arrived()
            slots.pop(self.transport, None)
            self._slot.release()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._await_headers()

        def on_headers_complete(self) -> None:
            self._headers_arrived()
            self._pace = BodyPace(deadlines.body_min_rate, deadlines.body_seconds, self.loop.time())
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            super().on_body(body)
            if self._pace is not None:
                self._pace.arrived(len(body), self.loop.time())

        def on_message_complete(self) -> None:
            self._body_arrived()
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if not self._made:
                if direct(data):
                    self._hand_over(data)
                    return
                self._made = True
                super().connection_made(self.transport)
            super().data_received(data)
            # Armed only for a body still arriving once this read is parsed: a request whose
            # body came with its headers (most of them) costs no timer.
            if self._pace is not None and self._pace_check is None and self._slot is not None:
                self._pace_check = self.loop.call_at(self._pace.due, self._check_pace)

        def handle_websocket_upgrade(self) -> None:
            self._body_arrived()
            super().handle_websocket_upgrade()
            # Done with this connection: let go of the request parser, which holds this
            # protocol in a reference cycle that only a full collection (rare in tidings
            # serve) would free, some kilobytes per idle device.
            self.parser = None

        def _hand_over(self, head: bytes) -> None:
            """Give the connection to ``ws`` with the upgrade request it sent, as uvicorn's
            ``handle_websocket_upgrade`` does once it has parsed one."""
            self._headers_arrived()
            self.connections.discard(self)
            self.parser = None  # it refers back to this protocol: no cycle left for the collector
            protocol = GuardedWebSocket(server_state=self.server_state)
            protocol.connection_made(self.transport)
            self.transport.set_protocol(protocol)
            protocol.data_received(head)

        def _await_headers(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(deadlines.header_seconds, self._headers_late)

        def _headers_arrived(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_late(self) -> None:
            self._deadline = None
            self._give_up(_HEADERS_LATE)

        def _body_arrived(self) -> None:
            self._pace = None
            if self._pace_check is not None:
                self._pace_check.cancel()
                self._pace_check = None

        def _check_pace(self) -> None:
            self._pace_check = None
            if self._pace is None:
                return
            now = self.loop.time()
            cycle = self.cycle
            if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
                self._pace.excuse(now)
            if not self._pace.late(now):
                self._pace_check = self.loop.call_at(self._pace.due, self._check_pace)
                return
            self._pace = None
            if cycle is not None and cycle.response_started:  # too late for another answer
                self.transport.close()
            else:
                self._give_up(_BODY_LATE)

        def _give_up(self, answer: bytes) -> None:
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()

    class GuardedWebSocket(ws):  # type: ignore[valid-type, misc]
        """Takes over the slot of the HTTP connection it was upgraded from."""

        __slots__ = ("_slot",)  # one per device connection: no instance dictionary

        def connection_made(self, transport: Any) -> None:
            self._slot = slots.pop(transport, None)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._slot is not None:
                self._slot.release()
            super().connection_lost(exc)

    return GuardedHttp, GuardedWebSocket
