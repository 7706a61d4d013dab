"""The device WebSocket as uvicorn's ``ws`` protocol class.

uvicorn parses the HTTP request, serves TLS and the API on the same port, and hands the
transport of a WebSocket upgrade to this protocol, which answers the handshake, reads frames
(gateway/frames.py) and gives their text to the gateway's session for the connection
(gateway/server.py). Only ``/device`` is served; any other path is answered 404.

Frames queued during one loop turn, across all connections, are written at its end, one
``transport.write`` per connection (the gateway's ``Outbox``). A peer that does not read lets
unread bytes pile up in its transport; past ``device_unread_limit`` asyncio calls
``pause_writing`` and the connection is dropped, its unacknowledged deliveries waiting in the
database for its next connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from tidings.gateway import frames
from tidings.gateway.frames import CLOSE, PING, PONG, FrameReader, Refusal
from tidings.gateway.protocol import Violation

if TYPE_CHECKING:
    from tidings.app import Served
    from tidings.gateway.server import DeviceGateway, Session

log = logging.getLogger("tidings.gateway")

DEVICE_PATH = "/device"
CLOSE_WAIT_SECONDS = 5.0  # for the peer's close frame after ours, before the socket is cut


class Outbox:
    """The sockets with frames queued this loop turn, written at its end."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: list[DeviceSocket] = []

    def add(self, socket: DeviceSocket) -> None:
        if not self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self._waiting.append(socket)

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for socket in waiting:
            socket.flush()


def socket_class(app: Served) -> type[DeviceSocket]:
    """``DeviceSocket`` bound to ``app``, whose lifespan starts the gateway (uvicorn takes a
    class for its ``ws`` setting and makes one per upgrade)."""
    return type("DeviceSocketOf", (DeviceSocket,), {"app": app, "__slots__": ()})


def is_device_upgrade(head: bytes) -> bool:
    """Whether a connection's first bytes are a whole upgrade request for ``/device``, which
    ``DeviceSocket`` answers without uvicorn parsing it first (limits/connections.py)."""
    return frames.whole_upgrade(head, DEVICE_PATH)


def _release(http: asyncio.BaseProtocol) -> None:
    """Free uvicorn's HTTP protocol for a connection being upgraded now, not at the next full
    garbage collection.

    uvicorn hands the transport over in the last statement of its last call into this protocol,
    and never touches it again; but its request parser calls back into it, a reference cycle
    that only the collector frees, and ``tidings serve`` collects the oldest generation rarely
    (cli/serve.py): measured, about 5 KiB per idle device connection. Dropping its attributes
    breaks the cycle, so it goes when the upgrade returns.
    """
    if type(http).__module__.startswith("uvicorn.protocols.http."):
        vars(http).clear()


class DeviceSocket(asyncio.Protocol):
    app: ClassVar[Served]

    __slots__ = (
        "_closer",
        "_http",
        "_out",
        "_outbox",
        "_reader",
        "_server_connections",
        "_session",
        "_transport",
    )

    def __init__(self, server_state: Any = None, **_uvicorn: Any) -> None:
        # uvicorn's shutdown calls shutdown() on each of these and waits for them to close.
        self._server_connections: set[Any] | None = getattr(server_state, "connections", None)
        self._transport: asyncio.Transport | None = None
        self._reader: FrameReader | None = None
        self._session: Session | None = None
        self._outbox: Outbox | None = None
        self._out: bytes | list[bytes] | None = None  # frames queued this turn
        self._closer: asyncio.TimerHandle | None = None
        self._http: asyncio.BaseProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._http = transport.get_protocol()  # uvicorn's, released once the upgrade is read
        self._transport = transport  # type: ignore[assignment]
        if self._server_connections is not None:
            self._server_connections.add(self)

    def data_received(self, data: bytes) -> None:
        """Frames read: nearly every read is one whole short text frame (a device's ack),
        taken by ``FrameReader.whole_text``; anything else is ``feed``'s."""
        if self._reader is None:
            self._upgrade(data)
            return
        if self._transport is None:
            return
        reader = self._reader
        try:
            text = reader.whole_text(data)
            if text is not None:
                if self._closer is None:
                    self._session.received(text)  # type: ignore[union-attr]
                return
            for opcode, payload in reader.feed(data):
                if opcode < CLOSE:
                    if self._closer is None:
                        self._session.received(payload)  # type: ignore[union-attr]
                elif opcode == PING:
                    self.send(frames.frame(PONG, payload))  # type: ignore[arg-type]
                elif opcode == CLOSE:
                    self._peer_closed(payload)  # type: ignore[arg-type]
                    return
        except Violation as violation:
            self._session.refuse(violation)  # type: ignore[union-attr]

    def _upgrade(self, head: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if self._http is not None:
            _release(self._http)
            self._http = None
        gateway: DeviceGateway | None = getattr(self.app.state, "gateway", None)
        answer = (
            frames.accept(head, DEVICE_PATH)
            if gateway is not None
            else Refusal(503, "the device gateway is not running")
        )
        if isinstance(answer, Refusal):
            transport.write(frames.refusal(answer))
            transport.close()
            return
        assert gateway is not None
        transport.write(answer)
        transport.set_write_buffer_limits(high=gateway.unread_limit)
        self._reader = FrameReader(gateway.frame_limit)
        self._outbox = gateway.outbox
        self._session = gateway.open(self)

    def _peer_closed(self, payload: bytes) -> None:
        """The peer's close frame: the answer to ours, or its own, which is echoed."""
        transport = self._transport
        assert transport is not None
        if self._closer is None:
            code, _ = frames.close_status(payload)
            self._session.lost()  # type: ignore[union-attr]
            self.flush()
            transport.write(frames.frame(CLOSE, b"" if code == frames.NO_STATUS else payload[:2]))
        transport.close()

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the end of this loop turn. The first frame of a turn is held as
        it is, a list made only for a second: in a burst a device is sent one frame a turn."""
        out = self._out
        if out is None:
            if self._transport is None or self._closer is not None:
                return
            self._out = data
            self._outbox.add(self)  # type: ignore[union-attr]
        elif type(out) is list:
            out.append(data)
        else:
            self._out = [out, data]

    def flush(self) -> None:
        out, self._out = self._out, None
        if out is not None and self._transport is not None:
            self._transport.write(b"".join(out) if type(out) is list else out)

    def close(self, code: int, reason: str) -> None:
        """Write what is queued and the close frame; cut the socket once the peer answers
        it, or after CLOSE_WAIT_SECONDS."""
        transport = self._transport
        if transport is None or self._closer is not None:
            return
        self.flush()
        transport.write(frames.close(code, reason))
        self._closer = asyncio.get_running_loop().call_later(CLOSE_WAIT_SECONDS, transport.abort)

    def pause_writing(self) -> None:
        """The peer left more than ``device_unread_limit`` bytes unread: drop it."""
        if self._transport is not None:
            device_pk = self._session.connection.device_pk if self._session else 0
            log.info("dropped device %d: it left too much unread", device_pk)
            self._transport.abort()

    def shutdown(self) -> None:
        """uvicorn is stopping: tell the device to connect again."""
        if self._session is not None:
            self._session.go_away()
        elif self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._out = None
        if self._closer is not None:
            self._closer.cancel()
        if self._server_connections is not None:
            self._server_connections.discard(self)
        if self._session is not None:
            self._session.lost()
