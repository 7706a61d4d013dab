"""One HTTP/2 client connection over TLS, many requests multiplexed on it (for APNs).

Apple asks providers to keep one long-lived connection per key and to put many notifications on
it at once. httpx speaks HTTP/2, but its per-request bookkeeping held it to about 1,100 requests a
second here against the same server this module drives at over 5,000, so this is a thin asyncio
protocol around an HTTP/2 state machine: requests open streams up to the server's
MAX_CONCURRENT_STREAMS, writes made in one turn of the event loop go out in one TLS record, and a
lost or GOAWAY'd connection fails its open streams (the caller retries) and is replaced by the
next request. The state machine is ``jh2``, the maintained fork of python-hyper's ``h2`` (same
API) whose HPACK coding is in Rust: with h2, HPACK in pure Python was about half of it (the
header encoder had to be kept from Huffman coding and given a cache to hold its cost down), and
jh2 took the bare client from 86-103 to 50-53 µs of CPU a request against the fake APNs, the
adapter's ApnsSender.attempt from 105-134 to 80-84 (in process, 500 at once, min of 5, load
7-11). What it does by default that cost more than the request itself is set aside through its
public means (the stream count, below).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlsplit

import jh2.config
import jh2.connection
import jh2.events
import jh2.exceptions
from jh2.hpack import NeverIndexedHeaderTuple

Headers = Sequence[tuple[bytes, bytes]]

# ``never_indexed((name, value))``: a header HPACK must never index (jh2's
# NeverIndexedHeaderTuple), made by tuple's own constructor: the class's Python ``__new__``
# cost three times as much, and every request has a few such headers.
never_indexed = partial(tuple.__new__, NeverIndexedHeaderTuple)


class Http2Error(ConnectionError):
    """The connection failed before the request got its answer."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()


class _Client(jh2.connection.H2Connection):
    """jh2's client connection, counting its open streams only when the count matters.
    ``stream_limit`` is the most streams it opens at once, kept as a number: the settings
    look it up by enum, a few µs per request where every request asked."""

    def __init__(self) -> None:
        super().__init__(
            jh2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
            )
        )
        self.stream_limit = MAX_STREAMS
        self.remote_settings_changed()

    def remote_settings_changed(self) -> None:
        self.stream_limit = min(MAX_STREAMS, self.remote_settings.max_concurrent_streams)

    @property
    def open_outbound_streams(self) -> int:
        """jh2 (as h2) asks this before opening each stream and counts by walking every
        stream it holds (dropping the closed ones): with hundreds open, that walk was about a
        third of the CPU the request spent in this module and h2 (py-spy, bench/vendor.py).
        The streams it holds, closed ones not yet dropped included, are never fewer than the
        open ones, so below the server's limit their number says as well that one more may
        open; only at the limit are they walked and counted."""
        held = len(self.streams)
        if held < self.stream_limit:
            return held
        return super().open_outbound_streams


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.h2 = _Client()
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[asyncio.Future[Response], Response]] = {}
        # the open streams, by when their answer is overdue, in the order they opened
        self._deadlines: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.open = False
        self.closed: Exception | None = None
        self.changed = asyncio.Event()  # a stream slot or flow-control window opened
        self._flush_due = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        _no_delay(transport)
        self.h2.initiate_connection()
        self.open = True
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._close(Http2Error(f"connection lost: {exc or 'closed by the server'}"))

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except jh2.exceptions.ProtocolError as exc:
            self._close(Http2Error(f"protocol error: {exc}"))
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            self._handle(event)
        self.flush()

    def _handle(self, event: jh2.events.Event) -> None:
        if isinstance(event, jh2.events.ResponseReceived):
            found = self.streams.get(event.stream_id)
            if found is not None:
                response = found[1]
                for name, value in event.headers:
                    if name == b":status":
                        response.status = int(value)
                    else:
                        response.headers[name.decode()] = value.decode()
        elif isinstance(event, jh2.events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            found = self.streams.get(event.stream_id)
            if found is not None:
                found[1].body += event.data
        elif isinstance(event, jh2.events.StreamEnded):
            self._finish(event.stream_id, None)
        elif isinstance(event, jh2.events.StreamReset):
            self._finish(event.stream_id, Http2Error(f"stream reset ({event.error_code!r})"))
        elif isinstance(event, jh2.events.ConnectionTerminated):
            self.open = False  # GOAWAY: streams above the last one processed never will be
            last = event.last_stream_id or 0
            for stream_id in [s for s in self.streams if s > last]:
                self._finish(stream_id, Http2Error(f"GOAWAY ({event.error_code!r})"))
            self.changed.set()
            self.close_when_done()
        elif isinstance(event, jh2.events.RemoteSettingsChanged):
            self.h2.remote_settings_changed()
            self.changed.set()
        elif isinstance(event, jh2.events.WindowUpdated):
            self.changed.set()

    def expect(self, stream_id: int, timeout: float) -> None:
        """The request on ``stream_id`` fails with ``TimeoutError`` if its answer has not come
        within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        self._deadlines[stream_id] = deadline = loop.time() + timeout
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        """Fail the requests whose answer is overdue and reset their streams. One timer serves
        every request (asyncio.wait_for on each cost a tenth of a request's CPU): the deadlines
        grow in the order the streams opened, so it looks at the oldest, then sleeps until the
        next one is due."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        overdue = []
        for stream_id, deadline in self._deadlines.items():
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                break
            overdue.append(stream_id)
        for stream_id in overdue:
            if self.open:
                self.h2.reset_stream(stream_id)
                self.flush_soon()
            self._finish(stream_id, TimeoutError(f"no answer on stream {stream_id}"))

    def _finish(self, stream_id: int, error: Exception | None) -> None:
        self._deadlines.pop(stream_id, None)
        found = self.streams.pop(stream_id, None)
        if found is None:
            return
        future, response = found
        if not future.done():
            if error is None:
                future.set_result(response)
            else:
                future.set_exception(error)
        self.changed.set()
        self.close_when_done()

    def close_when_done(self) -> None:
        """A connection that takes no new requests (GOAWAY'd, or out of stream ids) is closed
        once its last answer is in."""
        if not self.open and not self.streams and self.transport is not None:
            if self.closed is None:
                self.closed = Http2Error("connection retired")
                self.h2.close_connection()
                self.flush()
            self.transport.close()

    def _close(self, error: Exception) -> None:
        self.open = False
        self.closed = error
        streams, self.streams = self.streams, {}
        self._deadlines.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for future, _ in streams.values():
            if not future.done():
                future.set_exception(error)
        self.changed.set()

    def flush_soon(self) -> None:
        """Send what the state machine has queued once this turn of the loop is over, so
        requests started together share TLS records and system calls."""
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_due = False
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class Http2Connection:
    """Requests to one origin over one connection, opened on first use and reopened after a
    failure."""

    def __init__(self, base_url: str, context: ssl.SSLContext, *, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 443
        self._authority = parts.netloc.encode()
        self._context = context
        self._timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def request(self, path: str, headers: Headers, body: bytes) -> Response:
        """POST ``body`` to ``path``; raises ``Http2Error`` or ``TimeoutError`` when no answer
        came."""
        protocol = self._protocol
        if protocol is None or not protocol.open:
            protocol = await self._connected()
        while protocol.open and len(protocol.streams) >= protocol.h2.stream_limit:
            protocol.changed.clear()
            await protocol.changed.wait()
        if not protocol.open:
            raise protocol.closed or Http2Error("connection closed")
        conn = protocol.h2
        stream_id = conn.get_next_available_stream_id()
        if stream_id + 2 > conn.HIGHEST_ALLOWED_STREAM_ID:
            protocol.open = False  # its last stream id: the next request opens a new connection
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        protocol.streams[stream_id] = (future, Response())
        protocol.expect(stream_id, self._timeout)
        conn.send_headers(
            stream_id,
            [
                (b":method", b"POST"),
                (b":scheme", b"https"),
                (b":authority", self._authority),
                never_indexed((b":path", path.encode())),  # unique: keep it out of HPACK
                *headers,
            ],
        )
        left = _send_body(protocol, stream_id, body)
        while left:
            protocol.changed.clear()
            await protocol.changed.wait()
            if stream_id not in protocol.streams:
                break  # over (timed out, reset, the connection lost): the future says how
            left = _send_body(protocol, stream_id, left)
        return await future

    async def _connected(self) -> _Protocol:
        """The connection, opened anew (once, however many requests wait for it) when there
        is none that takes requests."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or not self._protocol.open:
                self._protocol = await self._connect()
            return self._protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(
                    _Protocol, self._host, self._port, ssl=self._context, server_hostname=self._host
                ),
                self._timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise Http2Error(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            transport.close()
            raise Http2Error(f"{self._host}:{self._port} does not speak HTTP/2 (ALPN h2)")
        return protocol

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            if protocol.open:
                protocol.h2.close_connection()
                protocol.flush()
            protocol.transport.close()


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small frames at once: Nagle's algorithm would hold a lone answer-sized write back
    until the peer acknowledges the previous one, stalling a request-response exchange."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _send_body(protocol: _Protocol, stream_id: int, body: bytes) -> bytes:
    """Send ``body`` in frames as large as the peer takes, as far as the flow-control windows
    allow; what they hold back, to send once a WINDOW_UPDATE opens them (nothing, nearly
    always: then no more than a look at the windows was spent on it)."""
    conn = protocol.h2
    while True:
        size = min(
            len(body), conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size
        )
        if size == len(body):
            conn.send_data(stream_id, body, end_stream=True)
            protocol.flush_soon()
            return b""
        if size == 0:
            protocol.flush()  # what the windows let through, before waiting for them to open
            return body
        conn.send_data(stream_id, body[:size])
        body = body[size:]


MAX_STREAMS = 1000  # until (and unless) the server announces fewer
