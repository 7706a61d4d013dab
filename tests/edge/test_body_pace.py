"""A body that trickles in after its headers (slowloris on the body) is answered 408 and its
connection closed once it falls ``body_timeout_seconds`` behind ``body_min_bytes_per_second``,
on the API, the console's forms and its uploads alike; an upload that keeps to the pace, however
long it takes, is read whole and answered."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from tests.console.browsing import Visitor, add_operator
from tests.support.servers import Server, running_server
from tests.support.sockets import answers_until_closed, connect_from, converse

SLACK = 1.5
WORKSPACE, APP_ID = "slow", "ONEX570DA89211721"
BOUNDARY = "tidings-slow"
BATCH = f"/console/apps/{WORKSPACE}/{APP_ID}/push/batch"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {"TIDINGS_BODY_TIMEOUT_SECONDS": str(SLACK)}  # 1 KiB/s, the default pace
    with running_server("sqlite", tmp_path_factory.mktemp("pace"), settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        add_operator(server, "slow", "a long enough password", "--all")
        yield server


@pytest.fixture(scope="module")
def signed_in(site: Server) -> Visitor:
    visitor = Visitor(site)
    assert visitor.sign_in("slow", "a long enough password").status_code == 303
    visitor.get(f"/console/apps/{WORKSPACE}/{APP_ID}/push/batch")
    return visitor


def cookie_of(visitor: Visitor) -> str:
    return "; ".join(f"{k}={v}" for k, v in visitor.http.cookies.items())


def heads(visitor: Visitor) -> list[bytes]:
    """Requests whose headers end at once and whose bodies are still to come: an API form, a
    chunked sign-in form and a console upload (its file part begun)."""
    api = (
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 4096\r\n\r\n"
    )
    sign_in = (
        "POST /console/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    upload = (
        f"POST {BATCH} HTTP/1.1\r\nHost: x\r\nCookie: {cookie_of(visitor)}\r\n"
        f"Content-Length: 100000\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    )
    return [api.encode(), sign_in.encode(), upload.encode() + part_head(visitor)]


def part_head(visitor: Visitor) -> bytes:
    """The CSRF field and the start of the CSV file part."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{visitor.csrf}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csv"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()


def test_bodies_sent_a_byte_every_second_are_closed_at_the_deadline(
    site: Server, signed_in: Visitor
) -> None:
    kinds = heads(signed_in)
    slow = []
    for i in range(30):
        sock = connect_from(f"127.0.3.{i + 1}", site.port)
        sock.sendall(kinds[i % 3])
        slow.append(sock)
    started = time.monotonic()
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for i, sock in enumerate(slow):
                # a chunk of one byte for the chunked one, a byte for the others
                with contextlib.suppress(OSError):
                    sock.sendall(b"1\r\na\r\n" if i % 3 == 1 else b"a")

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        answers, still_open = answers_until_closed(slow, SLACK + 4)
        took = time.monotonic() - started
    finally:
        stop.set()
        sender.join()
        for sock in slow:
            sock.close()
    assert not still_open, f"{len(still_open)} of {len(slow)} still open after {took:.1f} s"
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers.values()), set(answers.values())
    assert took < SLACK + 2


def multipart(visitor: Visitor, size: int) -> bytes:
    head = part_head(visitor)
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return head + b"u,1\n" * ((size - len(head) - len(tail)) // 4) + tail


def test_a_slow_but_steady_upload_is_read_whole(site: Server, signed_in: Visitor) -> None:
    """3 KiB a second, three times the least pace, for over three times the slack."""
    body = multipart(signed_in, 16 * 1024)
    head = (
        f"POST {BATCH} HTTP/1.1\r\nHost: x\r\nCookie: {cookie_of(signed_in)}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode()
    pieces = [body[i : i + 768] for i in range(0, len(body), 768)]
    started = time.monotonic()
    exchange = converse(site.port, head, pieces, every=0.25)
    assert exchange.sent == len(body)
    assert time.monotonic() - started > 3 * SLACK
    assert exchange.status == 400, exchange.answer[:300]  # the page, with the CSV's errors
    api = (
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6000\r\n\r\n"
    )
    steady = converse(site.port, api, [b"a" * 500] * 12, every=0.25)
    assert steady.sent == 6000
    assert b'"Code":' in steady.answer, steady.answer[:300]  # the MPS error, the body read whole
