"""One HTTP/2 client connection over TLS, many requests multiplexed on it (for APNs).

Apple asks providers to keep one long-lived connection per key and to put many notifications on
it at once. httpx speaks HTTP/2, but its per-request bookkeeping held it to about 1,100 requests a
second here against the same server this module drives at over 5,000, so this is a thin asyncio
protocol around a sans-I/O HTTP/2 state machine: requests open streams up to the server's
MAX_CONCURRENT_STREAMS, writes made in one turn of the event loop go out in one TLS record, and a
lost or GOAWAY'd connection fails its open streams (the caller retries) and is replaced by the
next request. The state machine is libnghttp2's (the C library curl and most HTTP/2 servers use),
through ``ngh2``'s bindings: framing, HPACK, flow control (a body larger than the windows is
queued and sent as they open) all run in C. With jh2 (h2's state machine in Python, HPACK in
Rust) the bare client spent 45-49 µs of CPU a request against the fake APNs, with ngh2 12-14 (in
process, 500 at once, 5,000 requests, min and median of 5 alternating runs, load 6.3), and the
adapter's whole send (bench/apns_send.py) 57-60 µs a message against 21-22. libcurl through
pycurl, driven by the same loop, spent 47-49: it writes each stream's frames to TLS and the
socket on their own, where this module writes a loop turn's at once; pyreqwest (hyper, in
tokio's threads) 48 in the loop's thread and 133 in the process.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Sequence
from functools import partial
from urllib.parse import urlsplit

import ngh2

Headers = Sequence[tuple[bytes, bytes]]

# ``never_indexed((name, value))``: a header HPACK must never index (ngh2's NeverIndexedHeader),
# made by tuple's own constructor, as every request has a few such headers and the named
# tuple's ``__new__`` is Python.
never_indexed = partial(tuple.__new__, ngh2.NeverIndexedHeader)


class Http2Error(ConnectionError):
    """The connection failed before the request got its answer."""


class Response:
    """A stream's answer. Its headers are decoded when first asked for: an APNs answer's are
    read only when it is a refusal, and decoding them on every answer cost a request 0.5 µs."""

    __slots__ = ("_headers", "body", "raw_headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.raw_headers: Sequence[tuple[bytes, bytes]] = ()  # the fields, as received
        self._headers: dict[str, str] | None = None
        self.body = bytearray()

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {
                name.decode(): value.decode()
                for name, value in self.raw_headers
                if name != b":status"
            }
        return self._headers


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        # The loop it runs on, made by (and within) loop.create_connection. Kept: on Python
        # 3.11 every asyncio.get_running_loop() asks the kernel for the process id (getpid),
        # and a request asked twice (its future, its deadline): 0.4 µs of a 20 µs message.
        self.loop = asyncio.get_running_loop()
        self.h2 = ngh2.Connection(ngh2.Role.CLIENT, _CONFIG)
        self.stream_limit = MAX_STREAMS  # the most streams it opens at once
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[asyncio.Future[Response], Response]] = {}
        # the open streams, by when their answer is overdue, in the order they opened
        self._deadlines: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.open = False
        self.closed: Exception | None = None
        self.changed = asyncio.Event()  # a stream slot opened, or the connection closed
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
            self.h2.receive_data(data)
        except ngh2.NGH2Error as exc:
            self.flush()  # the GOAWAY the state machine queued, saying why
            self._close(Http2Error(f"protocol error: {exc}"))
            if self.transport is not None:
                self.transport.close()
            return
        for event in self.h2.events():
            self._handle(event)
        self.flush()

    def _handle(self, event: ngh2.Event) -> None:
        kind = type(event)  # ngh2 makes these very types: one look-up, not a chain of isinstance
        if kind is ngh2.ResponseReceived:
            found = self.streams.get(event.stream_id)
            if found is not None:
                response = found[1]
                headers = event.headers
                earlier = response.raw_headers  # an informational answer's
                response.raw_headers = (*earlier, *headers) if earlier else headers
                for name, value in headers:
                    if name == b":status":  # the first, as pseudo-headers come first
                        response.status = int(value)
                        break
        elif kind is ngh2.DataReceived:
            found = self.streams.get(event.stream_id)
            if found is not None:
                found[1].body += event.data
        elif kind is ngh2.StreamClosed:
            code = event.error_code
            if code or event.local_error is not None:
                error = Http2Error(f"stream reset ({code}, {event.local_error})")
            elif not (found := self.streams.get(event.stream_id)) or not found[1].status:
                error = Http2Error("stream closed without an answer")
            else:
                error = None
            self._finish(event.stream_id, error)
        elif kind is ngh2.GoAwayReceived:
            self.open = False  # streams above the last one processed never will be
            last = event.last_stream_id
            for stream_id in [s for s in self.streams if s > last]:
                self._finish(stream_id, Http2Error(f"GOAWAY ({event.error_code})"))
            self.changed.set()
            self.close_when_done()
        elif kind is ngh2.SettingsReceived:
            self.stream_limit = min(MAX_STREAMS, self.h2.remote_settings[_MAX_CONCURRENT_STREAMS])
            self.changed.set()
        elif kind is ngh2.ConnectionClosed:
            self._close(Http2Error(f"connection closed ({event.error_code})"))
            if self.transport is not None:
                self.transport.close()

    def expect(self, stream_id: int, timeout: float) -> None:
        """The request on ``stream_id`` fails with ``TimeoutError`` if its answer has not come
        within ``timeout`` seconds."""
        loop = self.loop
        self._deadlines[stream_id] = deadline = loop.time() + timeout
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        """Fail the requests whose answer is overdue and reset their streams. One timer serves
        every request (asyncio.wait_for on each cost a tenth of a request's CPU): the deadlines
        grow in the order the streams opened, so it looks at the oldest, then sleeps until the
        next one is due."""
        self._timer = None
        loop = self.loop
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
                self.h2.terminate_connection()
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
            self.loop.call_soon(self.flush)

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

    def request(self, path: str, headers: Headers, body: bytes) -> Awaitable[Response]:
        """POST ``body`` to ``path``; the answer, to await, raises ``Http2Error`` or
        ``TimeoutError`` when none came. When the connection is open with a stream free (nearly
        always) the request is made at once and its future given back: no coroutine of its
        own, which cost a request about a microsecond."""
        protocol = self._protocol
        if protocol is None or not protocol.open or len(protocol.streams) >= protocol.stream_limit:
            return self._request_later(path, headers, body)
        return self._start(protocol, path, headers, body)

    async def _request_later(self, path: str, headers: Headers, body: bytes) -> Response:
        """The request once there is a connection with a stream free for it."""
        protocol = self._protocol
        if protocol is None or not protocol.open:
            protocol = await self._connected()
        while protocol.open and len(protocol.streams) >= protocol.stream_limit:
            protocol.changed.clear()
            await protocol.changed.wait()
        return await self._start(protocol, path, headers, body)

    def _start(
        self, protocol: _Protocol, path: str, headers: Headers, body: bytes
    ) -> asyncio.Future[Response]:
        future: asyncio.Future[Response] = protocol.loop.create_future()
        if not protocol.open:
            future.set_exception(protocol.closed or Http2Error("connection closed"))
            return future
        conn = protocol.h2
        try:
            stream_id = conn.send_request(
                [
                    (b":method", b"POST"),
                    (b":scheme", b"https"),
                    (b":authority", self._authority),
                    # Unique, yet a plain field: libnghttp2 never indexes a :path (nor an
                    # authorization), and a NeverIndexedHeader cost 1,700 instructions to make.
                    (b":path", path.encode()),
                    *headers,
                ]
            )
        except ngh2.NGH2Error as exc:  # it ended the connection (terminating, out of ids)
            protocol.open = False
            protocol.closed = Http2Error(f"connection closed: {exc}")
            protocol.flush()  # the GOAWAY it queued
            protocol.close_when_done()
            protocol.closed.__cause__ = exc
            future.set_exception(protocol.closed)
            return future
        if stream_id + 2 > LAST_STREAM_ID:
            protocol.open = False  # its last stream id: the next request opens a new connection
        protocol.streams[stream_id] = (future, Response())
        protocol.expect(stream_id, self._timeout)
        conn.send_data(stream_id, body, end_stream=True)  # beyond the windows: sent as they open
        protocol.flush_soon()
        return future

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
                protocol.h2.terminate_connection()
                protocol.flush()
            protocol.transport.close()


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small frames at once: Nagle's algorithm would hold a lone answer-sized write back
    until the peer acknowledges the previous one, stalling a request-response exchange."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


MAX_STREAMS = 1000  # until (and unless) the server announces fewer
LAST_STREAM_ID = 2**31 - 1  # a client's stream ids are odd and grow, up to this one
_MAX_CONCURRENT_STREAMS = int(ngh2.Setting.MAX_CONCURRENT_STREAMS)  # remote_settings' key
# what the state machine assumes the server takes until its SETTINGS say
_CONFIG = ngh2.Configuration(peer_max_concurrent_streams=MAX_STREAMS)
