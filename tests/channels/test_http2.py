"""The HTTP/2 client APNs uses, against the fake APNs: requests that get no answer."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid

import pytest
import trustme

from tests.fakes.apns import FakeApns
from tests.fakes.credentials import BUNDLE_ID, apns_config
from tidings.channels import http2
from tidings.channels.apns import provider_token
from tidings.channels.catalog import check_config
from tidings.channels.http import tls_context
from tidings.channels.http2 import Http2Connection


@pytest.fixture
def fake(tmp_path, monkeypatch: pytest.MonkeyPatch):
    running = FakeApns(tmp_path).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(running.ca_file))
    yield running
    running.stop()


def headers(fake: FakeApns) -> list[tuple[bytes, bytes]]:
    token = provider_token(check_config("apns", apns_config(fake.url)), time.time())
    return [
        (b"authorization", b"bearer " + token.encode()),
        (b"apns-push-type", b"background"),
        (b"apns-topic", BUNDLE_ID.encode()),
        (b"apns-priority", b"5"),
    ]


async def serves_next(connection: Http2Connection, fake: FakeApns, *, connections: int) -> None:
    """The next request is answered, the fake having taken ``connections`` in all."""
    body = b'{"aps":{"content-available":1}}'
    after = await connection.request(f"/3/device/{'ef' * 32}", headers(fake), body)
    assert after.status == 200
    assert fake.state.connections == connections


async def test_unanswered_requests_time_out_and_the_connection_serves_the_next(fake) -> None:
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)), timeout=0.3)
    sent = headers(fake)
    body = b'{"aps":{"content-available":1}}'
    try:
        fake.hang(times=2)
        started = time.monotonic()
        stalled = [connection.request(f"/3/device/{'ab' * 32}", sent, body) for _ in range(2)]
        answered = connection.request(f"/3/device/{'cd' * 32}", sent, body)
        first, second, third = await asyncio.gather(*stalled, answered, return_exceptions=True)
        assert isinstance(first, TimeoutError) and isinstance(second, TimeoutError)
        assert not isinstance(third, BaseException) and third.status == 200
        assert 0.3 <= time.monotonic() - started < 5
        await serves_next(connection, fake, connections=1)
    finally:
        await connection.aclose()


async def test_bodies_beyond_the_flow_control_windows_wait_for_them_to_open(fake) -> None:
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    sent = headers(fake)
    small = b'{"aps":{"content-available":1},"pad":"' + b"x" * 400 + b'"}'
    try:
        # 400 requests of 440 bytes: more than the connection's window of 65,535 at once
        async with asyncio.timeout(20):  # a body waiting on a window that never opens
            answers = await asyncio.gather(
                *(connection.request(f"/3/device/{n:064x}", sent, small) for n in range(400)),
                connection.request(f"/3/device/{'ab' * 32}", sent, b"x" * 100_000),
            )
        assert [a.status for a in answers] == [200] * 400 + [413]
        assert answers[-1].body == b'{"reason": "PayloadTooLarge"}'
    finally:
        await connection.aclose()


async def test_a_connection_out_of_stream_ids_answers_its_last_and_the_next_opens_anew(
    fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http2, "LAST_STREAM_ID", 3)  # as after a billion requests
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    sent = headers(fake)
    body = b'{"aps":{"content-available":1}}'
    try:
        first = await connection.request(f"/3/device/{'ab' * 32}", sent, body)
        used = await connection._connected()
        answers = await asyncio.gather(
            *(connection.request(f"/3/device/{n:064x}", sent, body) for n in range(2))
        )
        assert [first.status, *(a.status for a in answers)] == [200, 200, 200]
        assert fake.state.connections == 2
        assert used.transport is not None and used.transport.is_closing()
    finally:
        await connection.aclose()


async def test_answers_carry_the_request_apns_id_or_a_new_one_like_apple(fake) -> None:
    """The fake answers as APNs does: the apns-id the request gave, else a fresh UUID each
    time; the client reads it from an HPACK literal on every answer, not a constant."""
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    body = b'{"aps":{"content-available":1}}'
    given = "1a2b3c4d-0000-4000-8000-00000000000a"
    try:
        echoed = await connection.request(
            f"/3/device/{'ab' * 32}", [*headers(fake), (b"apns-id", given.encode())], body
        )
        made = [await connection.request(f"/3/device/{'cd' * 32}", headers(fake), body)]
        made.append(await connection.request(f"/3/device/{'cd' * 32}", headers(fake), body))
    finally:
        await connection.aclose()
    assert echoed.headers["apns-id"] == given
    first, second = (str(uuid.UUID(r.headers["apns-id"])) for r in made)
    assert first != second


async def hung(fake: FakeApns, count: int) -> None:
    """Wait until ``count`` requests have reached the fake and been left unanswered."""
    async with asyncio.timeout(5):
        while sum(len(c.hung) for c in list(fake.state.open)) < count:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("ending", ["lost", "GOAWAY"])
async def test_a_connection_that_ends_fails_what_the_server_left_and_the_next_reconnects(
    fake, ending: str
) -> None:
    """Lost, it fails every request it carried; GOAWAY'd, those above the last stream the
    server says it processed (the fake answers the first, then names it)."""
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    sent = headers(fake)
    body = b'{"aps":{"content-available":1}}'
    try:
        fake.hang(times=3)
        stalled = [
            asyncio.ensure_future(connection.request(f"/3/device/{n:064x}", sent, body))
            for n in range(3)
        ]
        await hung(fake, 3)
        if ending == "lost":
            fake.on_connections(lambda c: c.transport.close())
        else:
            fake.on_connections(lambda c: c.go_away())
        results = await asyncio.gather(*stalled, return_exceptions=True)
        answered = 0 if ending == "lost" else 1
        assert [getattr(r, "status", r) for r in results[:answered]] == [200] * answered
        failed = results[answered:]
        assert all(isinstance(r, http2.Http2Error) and ending in str(r) for r in failed), failed
        await serves_next(connection, fake, connections=2)
    finally:
        await connection.aclose()


async def test_no_more_streams_open_at_once_than_the_server_allows(fake) -> None:
    """The fake refuses (as a protocol error) a stream beyond the two it announces."""
    fake.state.max_streams = 2
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)), timeout=5)
    sent = headers(fake)
    body = b'{"aps":{"content-available":1}}'
    try:
        await connection.request(f"/3/device/{'ab' * 32}", sent, body)  # its SETTINGS read
        answers = await asyncio.gather(
            *(connection.request(f"/3/device/{n:064x}", sent, body) for n in range(20))
        )
        assert [a.status for a in answers] == [200] * 20
        assert fake.state.connections == 1
    finally:
        await connection.aclose()


async def test_a_server_without_http2_is_refused(tmp_path) -> None:
    """ALPN must settle on h2: a server that speaks only HTTP/1.1 is not sent the request."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server_context.set_alpn_protocols(["http/1.1"])
    server = await asyncio.get_running_loop().create_server(
        asyncio.Protocol, "127.0.0.1", 0, ssl=server_context
    )
    port = server.sockets[0].getsockname()[1]
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client_context = ssl.create_default_context(cafile=str(ca_file))
    client_context.set_alpn_protocols(["h2"])
    connection = Http2Connection(f"https://127.0.0.1:{port}", client_context, timeout=5)
    try:
        with pytest.raises(http2.Http2Error, match="ALPN h2"):
            await connection.request(f"/3/device/{'ab' * 32}", [], b"{}")
    finally:
        await connection.aclose()
        server.close()


async def test_a_connection_its_state_machine_closed_takes_no_request_and_is_replaced(
    fake,
) -> None:
    """However the state machine came to end the connection, the request fails as any lost
    connection's would (the adapter retries those), and the next one opens a new connection."""
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    try:
        await serves_next(connection, fake, connections=1)
        (await connection._connected()).h2.terminate_connection()
        with pytest.raises(http2.Http2Error):
            await connection.request(f"/3/device/{'ab' * 32}", headers(fake), b"{}")
        await serves_next(connection, fake, connections=2)
    finally:
        await connection.aclose()
