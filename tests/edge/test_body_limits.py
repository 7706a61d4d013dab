"""Bodies are capped while they stream: a chunked body past its cap is answered 413 and its
connection closed, without the server holding the rest in memory or spooling it to disk.

The attacks (issue 11): 300 form fields of 1 MiB sent chunked to the sign-in page grew the
server by 300 MB before it answered; a chunked multipart file part of 1 GB was spooled to /tmp.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.console.browsing import Visitor, add_operator
from tests.support.servers import Server, running_server
from tests.support.sockets import chunked_post, open_bytes_under, rss_bytes

MIB = 1024 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BOUNDARY = "tidings-attack"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("bodies")
    temp = data / "tmp"
    temp.mkdir()
    with running_server("sqlite", data / "data", {"TMPDIR": str(temp)}) as server:
        yield server


def fields(count: int) -> Iterator[bytes]:
    for i in range(count):
        yield b"f%d=%s&" % (i, b"x" * MIB)


def test_a_chunked_sign_in_form_of_300_mib_costs_no_memory(site: Server) -> None:
    pid = site.process.pid
    warm = chunked_post(site.port, "/console/login", FORM, [b"username=a&password=b"])
    assert warm.status == 400  # no CSRF cookie: the page has been rendered once, though
    before = rss_bytes(pid)
    attack = chunked_post(site.port, "/console/login", FORM, fields(300))
    grown = rss_bytes(pid) - before
    assert attack.status == 413, attack.answer[:200]
    assert attack.closed
    assert attack.sent < 64 * MIB  # the server stopped reading near the cap
    assert grown < 5 * MIB, f"RSS grew by {grown / MIB:.1f} MiB"


def upload(size_mib: int) -> list[bytes]:
    """A multipart body whose CSV file part is ``size_mib`` MiB, in 1 MiB chunks."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csv"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return [head, *(b"u,1\n" * (MIB // 4) for _ in range(size_mib))]


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
BATCH = "/console/apps/w/a/push/batch"


def test_a_chunked_upload_is_not_spooled_past_its_cap(site: Server) -> None:
    add_operator(site, "mallory", "a long enough password", "--all")
    visitor = Visitor(site)
    assert visitor.sign_in("mallory", "a long enough password").status_code == 303
    cookie = "; ".join(f"{k}={v}" for k, v in visitor.http.cookies.items())
    temp = site.data_dir.parent / "tmp"
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, open_bytes_under(site.process.pid, temp))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        attack = chunked_post(site.port, BATCH, {**MULTIPART, "Cookie": cookie}, upload(256))
    finally:
        done.set()
        watcher.join()
    assert attack.status == 413, attack.answer[:200]
    assert attack.closed
    assert attack.sent < 64 * MIB
    assert peak <= 3 * MIB, f"{peak / MIB:.1f} MiB spooled"


def test_a_body_answered_unread_closes_the_connection(site: Server) -> None:
    """Not signed in: redirected at once, and the rest of the upload is not read and dropped."""
    attack = chunked_post(site.port, BATCH, MULTIPART, upload(256))
    assert attack.status == 303, attack.answer[:200]
    assert attack.closed
    assert attack.sent < 64 * MIB


def test_a_chunked_api_body_past_the_limit_closes_the_connection(site: Server) -> None:
    attack = chunked_post(site.port, "/", FORM, fields(64))
    assert attack.status == 413, attack.answer[:200]
    assert b'"Code":"RequestEntityTooLarge"' in attack.answer
    assert b"connection: close" in attack.answer.lower()
    assert attack.closed
    assert attack.sent < 32 * MIB
