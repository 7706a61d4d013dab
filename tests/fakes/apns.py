"""A fake APNs: HTTP/2 over TLS, provider tokens checked the way Apple checks them.

It takes ``POST /3/device/<hex token>`` with an ES256 JWT (``kid`` the key id, ``iss`` the team,
``iat`` under an hour old, signed by the test key), checks topic, push type, payload size and
collapse id (at most 64 bytes; for ``liveactivity``: the ``<bundle>.push-type.liveactivity``
topic, priority 5 or 10 and the payload keys ActivityKit needs), and answers with APNs' status
codes and ``{"reason": ...}`` bodies, each with the ``apns-id`` Apple's answers carry: the
request's own, or a new UUID when it sent none (a constant one would cost the client's HPACK
decoder nothing, where a real answer's costs it a literal). Like a device, it keeps per token the
alert shown under each ``apns-collapse-id``: a later one with the same id replaces it. Tokens in
``dead`` get 410 Unregistered; ``record.script((status, reason, retry_after))`` makes the next
answers errors, ``hang`` leaves the next requests unanswered, ``on_connections`` drops its
connections or sends them GOAWAY, and ``state.max_streams`` is the stream limit it announces.

``python -m tests.fakes.apns --port P --cert-dir D`` runs it alone (the benchmark does, so it has
a core of its own); it then counts requests instead of recording them, and opens each
connection's receive window to 1 MiB at once, as Go's HTTP/2 server does by default: with the
protocol's initial 65,535 bytes, which the server's state machine gives back only once half is
spent, a third of the benchmark's requests (500 at once, 120-byte payloads) waited for a
WINDOW_UPDATE, in both legs (the client flushed about 3,000 times per 10,000 requests instead of
under 100). The fake in a test's thread keeps the initial window, which
tests/channels/test_http2.py outgrows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import ngh2
import trustme

from tests.fakes.base import Drawer, LoopThread, Received, Record
from tests.fakes.credentials import BUNDLE_ID, KEY_ID, TEAM_ID, apns_key

PUSH_TYPES = {b"alert", b"background", b"location", b"voip", b"complication", b"fileprovider",
              b"mdm", b"liveactivity", b"pushtotalk"}  # fmt: skip
TOPIC = BUNDLE_ID.encode()
LIVE_ACTIVITY_TOPIC = TOPIC + b".push-type.liveactivity"
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
MAX_PAYLOAD = 4096
MAX_COLLAPSE_ID = 64  # bytes
NO_ANSWER = (0, None)  # scripted: the request is left unanswered, its stream open
MAX_STREAMS = 1000  # as APNs announces
ALONE_WINDOW = 1 << 20  # bytes: the receive window of the fake run alone (see above)
DEFAULT_WINDOW = 65_535  # bytes: HTTP/2's initial window


class ApnsState:
    """What the fake knows and remembers, shared by its connections."""

    def __init__(
        self, public_key: Any, *, record: bool = True, window: int = DEFAULT_WINDOW
    ) -> None:
        self.public_key = public_key
        self.window = window  # each connection's receive window (flow control), from the start
        self.record = Record()
        self.drawer = Drawer()
        self.keep = record
        self.count = 0
        self.dead: set[str] = set()
        self.tokens_seen: set[str] = set()
        self.connections = 0
        self.max_streams = MAX_STREAMS  # announced to each new connection
        self.open: set[_ServerProtocol] = set()  # the connections not yet lost
        self._verified: dict[bytes, int] = {}  # token -> its iat, once its signature checked

    def check_token(self, authorization: bytes | None) -> str | None:
        """None when the provider token is good, else the APNs reason."""
        if not authorization or not authorization.startswith(b"bearer "):
            return "MissingProviderToken"
        token = authorization[len(b"bearer ") :]
        iat = self._verified.get(token)
        if iat is None:
            try:
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(
                    token, self.public_key, algorithms=["ES256"], options={"verify_iat": False}
                )
            except jwt.PyJWTError:
                return "InvalidProviderToken"
            if header.get("kid") != KEY_ID or claims.get("iss") != TEAM_ID:
                return "InvalidProviderToken"
            iat = self._verified[token] = int(claims.get("iat", 0))
            self.tokens_seen.add(token.decode())
        if time.time() - iat > 3600:
            return "ExpiredProviderToken"
        return None

    def answer(self, headers: dict[bytes, bytes], body: bytes) -> tuple[int, dict[str, Any] | None]:
        """The answer to a request, its headers as they came (bytes: decoding every request's
        cost the fake a tenth of its CPU)."""
        path = headers.get(b":path", b"")
        if headers.get(b":method") != b"POST":
            return 405, {"reason": "MethodNotAllowed"}
        if not path.startswith(b"/3/device/"):
            return 404, {"reason": "BadPath"}
        device = path[len(b"/3/device/") :].decode()
        problem = self.check_token(headers.get(b"authorization"))
        if problem:
            return 403, {"reason": problem}
        scripted = self.record.scripted(device)
        if scripted is not None:
            return scripted
        if not device:
            return 400, {"reason": "MissingDeviceToken"}
        if not HEX_DIGITS.issuperset(device):
            return 400, {"reason": "BadDeviceToken"}
        problem_status = self._check_headers(headers)
        if problem_status:
            return problem_status
        if not body:
            return 400, {"reason": "PayloadEmpty"}
        if len(body) > MAX_PAYLOAD:
            return 413, {"reason": "PayloadTooLarge"}
        if headers.get(b"apns-push-type") == b"liveactivity":
            problem_status = _check_live_activity(json.loads(body))
            if problem_status:
                return problem_status
        if device in self.dead:
            return 410, {"reason": "Unregistered", "timestamp": int(time.time() * 1000)}
        self.count += 1
        if self.keep:
            payload = json.loads(body)
            self.record.add(
                Received(device, {k.decode(): v.decode() for k, v in headers.items()}, payload)
            )
            collapse = headers.get(b"apns-collapse-id")
            if collapse and headers.get(b"apns-push-type", b"alert") == b"alert":
                self.drawer.show(device, collapse.decode(), payload["aps"].get("alert"))
        return 200, None

    def _check_headers(self, headers: dict[bytes, bytes]) -> tuple[int, dict[str, Any]] | None:
        topic = headers.get(b"apns-topic")
        if not topic:
            return 400, {"reason": "MissingTopic"}
        push_type = headers.get(b"apns-push-type", b"alert")
        if push_type not in PUSH_TYPES:
            return 400, {"reason": "InvalidPushType"}
        live = push_type == b"liveactivity"
        if topic != (LIVE_ACTIVITY_TOPIC if live else TOPIC):
            return 400, {"reason": "DeviceTokenNotForTopic"}
        # ActivityKit pushes go at priority 5 or 10 only; other types may also ask for 1
        priorities = (b"5", b"10") if live else (b"5", b"10", b"1")
        if headers.get(b"apns-priority", b"10") not in priorities:
            return 400, {"reason": "BadPriority"}
        if len(headers.get(b"apns-collapse-id", b"")) > MAX_COLLAPSE_ID:
            return 400, {"reason": "BadCollapseId"}
        expiration = headers.get(b"apns-expiration", b"0")
        if not expiration.isdigit():
            return 400, {"reason": "BadExpirationDate"}
        return None


LIVE_ACTIVITY_EVENTS = ("start", "update", "end")


def _check_live_activity(body: Any) -> tuple[int, dict[str, Any]] | None:
    """What an ActivityKit payload needs for the device to act on it: ``timestamp`` and
    ``event`` always, ``content-state`` an object, and for ``start`` the ``attributes-type``,
    ``attributes`` and an ``alert``; dates in whole seconds. Apple documents these as required
    but not whether APNs itself refuses a payload without them, so the fake refuses with a
    reason of its own (``BadLiveActivityPayload``) to catch a payload the device would drop."""
    aps = body.get("aps") if isinstance(body, dict) else None
    if not isinstance(aps, dict):
        return 400, {"reason": "PayloadEmpty"}
    event = aps.get("event")
    bad = (
        not isinstance(aps.get("timestamp"), int)
        or event not in LIVE_ACTIVITY_EVENTS
        or not isinstance(aps.get("content-state"), dict)
        or any(
            not isinstance(aps[key], int) or aps[key] > 100_000_000_000
            for key in ("stale-date", "dismissal-date")
            if key in aps
        )
    )
    if event == "start":
        bad = bad or not (
            isinstance(aps.get("attributes-type"), str)
            and isinstance(aps.get("attributes"), dict)
            and isinstance(aps.get("alert"), dict)
        )
    return (400, {"reason": "BadLiveActivityPayload"}) if bad else None


class _ServerProtocol(asyncio.Protocol):
    """One client connection, its HTTP/2 server side on libnghttp2 (ngh2, as the client's):
    framing, HPACK, flow control and the stream limit it announces (a stream beyond it is a
    protocol error) run in C, and what a loop turn's answers queue goes out in one TLS write.
    On jh2's Python state machine the fake spent 58-70 µs of CPU a request in bench/vendor.py's
    ceiling, three quarters of it in jh2, five times the bare client's 12, so it set the
    ceiling; on ngh2 14-17, about half of it ngh2 reading the requests (HPACK, its events, the
    never-indexed headers as Python named tuples: 7.4 µs a request replaying 10,000 of the
    adapter's in process, without TLS)."""

    def __init__(self, state: ApnsState) -> None:
        self.state = state
        self.conn = ngh2.Connection(ngh2.Role.SERVER)
        self.requests: dict[int, tuple[dict[bytes, bytes], bytearray]] = {}
        self.hung: list[int] = []  # the streams of requests left unanswered
        self._flush_due = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.state.connections += 1
        self.state.open.add(self)
        self.conn.initiate_connection({ngh2.Setting.MAX_CONCURRENT_STREAMS: self.state.max_streams})
        if self.state.window > DEFAULT_WINDOW:
            self.conn.set_local_window_size(self.state.window)
        self.flush()

    def data_received(self, data: bytes) -> None:
        try:
            self.conn.receive_data(data)
        except ngh2.NGH2Error:
            self.flush()  # the GOAWAY saying why
            self.transport.close()
            return
        requests = self.requests
        for event in self.conn.events():
            kind = type(event)
            if kind is ngh2.RequestReceived:
                headers = dict(event.headers)
                if event.end_stream:
                    self._answer(event.stream_id, headers, b"")
                else:
                    requests[event.stream_id] = (headers, bytearray())
            elif kind is ngh2.DataReceived:
                found = requests.get(event.stream_id)
                if found is not None:
                    found[1].extend(event.data)
                    if event.end_stream:
                        del requests[event.stream_id]
                        self._answer(event.stream_id, found[0], bytes(found[1]))
            elif kind is ngh2.StreamClosed:
                requests.pop(event.stream_id, None)
            elif kind is ngh2.ConnectionClosed:
                self.flush()
                self.transport.close()
                return
        self.flush_soon()

    def _answer(self, stream_id: int, headers: dict[bytes, bytes], body: bytes) -> None:
        answer = self.state.answer(headers, body)
        if answer is NO_ANSWER:
            self.hung.append(stream_id)
        else:
            apns_id = headers.get(b"apns-id") or str(uuid.uuid4()).encode()
            self._respond(stream_id, apns_id, *answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.open.discard(self)

    def go_away(self) -> None:
        """Answer the first unanswered request, then say with GOAWAY that it was the last one
        processed: the client must fail the others, which never will be."""
        first = self.hung.pop(0)
        self._respond(first, str(uuid.uuid4()).encode(), 200, None)
        self.conn.send_goaway(last_stream_id=first)
        self.flush()

    def flush_soon(self) -> None:
        """Write what the state machine queued once this turn of the loop is over, so the
        answers to requests read in one turn share a TLS record and a system call."""
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_due = False
        data = self.conn.data_to_send()
        if data and not self.transport.is_closing():
            self.transport.write(data)

    def _respond(
        self, stream_id: int, apns_id: bytes, status: int, body: Any, wait: int | None = None
    ) -> None:
        headers = [(b":status", b"%d" % status), (b"apns-id", apns_id)]
        if wait is not None:
            headers.append((b"retry-after", b"%d" % wait))
        if body is None:
            self.conn.send_response(stream_id, headers, end_stream=True)
            return
        headers.append((b"content-type", b"application/json"))
        self.conn.send_response(stream_id, headers)
        self.conn.send_data(stream_id, json.dumps(body).encode(), end_stream=True)


def tls(cert_dir: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 from a fresh CA, and the CA file clients should trust."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    context.set_alpn_protocols(["h2"])
    ca_file = cert_dir / "fake-apns-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


class FakeApns:
    """The fake in a thread of the test process; ``url`` and ``ca_file`` are for the client."""

    def __init__(self, cert_dir: Path) -> None:
        self.state = ApnsState(apns_key().public_key())
        self.record = self.state.record
        self._context, self.ca_file = tls(cert_dir)

    def start(self) -> FakeApns:
        self._thread = LoopThread()

        async def listen() -> asyncio.Server:
            return await asyncio.get_running_loop().create_server(
                lambda: _ServerProtocol(self.state), "127.0.0.1", 0, ssl=self._context
            )

        self._server = self._thread.run(listen)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"
        return self

    def fail(self, status: int, reason: str, *, times: int = 1, token: str | None = None,
             retry_after: int | None = None) -> None:  # fmt: skip
        """Answer the next ``times`` requests (to ``token``, or any) with this APNs error."""
        self.record.script((status, {"reason": reason}, retry_after), times=times, token=token)

    def hang(self, *, times: int = 1) -> None:
        """Leave the next ``times`` requests unanswered, as a stalled APNs would."""
        self.record.script(NO_ANSWER, times=times)

    def on_connections(self, act: Callable[[_ServerProtocol], None]) -> None:
        """``act`` on each open connection, in the fake's thread: ``_ServerProtocol.go_away``,
        or ``lambda c: c.transport.close()`` to drop them."""

        async def each() -> None:
            for connection in list(self.state.open):
                act(connection)

        self._thread.run(each)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()

        self._thread.run(close)
        self._thread.stop()


async def _serve_alone(port: int, cert_dir: Path, public_key_pem: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    state = ApnsState(
        load_pem_public_key(public_key_pem.read_bytes()), record=False, window=ALONE_WINDOW
    )
    context, _ = tls(cert_dir)
    server = await asyncio.get_running_loop().create_server(
        lambda: _ServerProtocol(state), "127.0.0.1", port, ssl=context
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert-dir", type=Path, required=True)
    parser.add_argument("--public-key", type=Path, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(_serve_alone(args.port, args.cert_dir, args.public_key))
    except KeyboardInterrupt:
        pass
