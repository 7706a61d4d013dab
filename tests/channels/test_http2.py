"""The HTTP/2 client APNs uses, against the fake APNs: requests that get no answer."""

from __future__ import annotations

import asyncio
import time
import uuid

import h2.connection
import pytest

from tests.fakes.apns import FakeApns
from tests.fakes.credentials import BUNDLE_ID, apns_config
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
        after = await connection.request(f"/3/device/{'ef' * 32}", sent, body)
        assert after.status == 200
        assert fake.state.connections == 1
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
    fake,
) -> None:
    connection = Http2Connection(fake.url, tls_context(alpn=("h2",)))
    sent = headers(fake)
    body = b'{"aps":{"content-available":1}}'
    try:
        first = await connection.request(f"/3/device/{'ab' * 32}", sent, body)
        used = await connection._connected()
        last = h2.connection.H2Connection.HIGHEST_ALLOWED_STREAM_ID
        used.h2.highest_outbound_stream_id = last - 2  # as after a billion requests
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
