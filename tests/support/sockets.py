"""Raw sockets for attacks no HTTP client would make: bodies streamed chunk by chunk, headers
that never end, and measures of the server process they aim at (RSS, open temporary files)."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Exchange:
    """What a raw request got: the bytes the server answered, and how much body it took."""

    answer: bytes = b""
    sent: int = 0
    closed: bool = False  # the server closed the connection (EOF or reset)
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def status(self) -> int:
        return int(self.answer.split(b" ", 2)[1]) if self.answer.startswith(b"HTTP/") else 0


def chunked_post(
    port: int, path: str, headers: dict[str, str], chunks: Iterable[bytes]
) -> Exchange:
    """POST ``chunks`` with Transfer-Encoding: chunked, reading the answer while sending (the
    server may answer and close before the body ends)."""
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    framed = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return converse(port, ("\r\n".join(head) + "\r\n\r\n").encode(), framed, b"0\r\n\r\n")


def converse(
    port: int, head: bytes, pieces: Iterable[bytes], tail: bytes = b"", every: float = 0.0
) -> Exchange:
    """Send ``head``, then each of ``pieces`` (``every`` seconds apart), then ``tail``, reading
    the answer meanwhile; sending stops once the server has closed. ``sent`` counts the bytes
    of the pieces that went out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    exchange = Exchange()

    def read() -> None:
        try:
            while data := sock.recv(65536):
                exchange.answer += data
        except OSError:
            pass
        exchange.closed = True
        exchange._done.set()

    sock.sendall(head)
    threading.Thread(target=read, daemon=True).start()
    try:
        for piece in pieces:
            if exchange.closed or exchange._done.wait(every):
                break
            sock.sendall(piece)
            exchange.sent += len(piece)
        sock.sendall(tail)
    except OSError:
        pass
    exchange._done.wait(60)
    sock.close()
    return exchange


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_bytes_under(pid: int, directory: Path) -> int:
    """The size of the files process ``pid`` holds open under ``directory`` (deleted or not)."""
    total = 0
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            if os.readlink(fd).startswith(str(directory)):
                total += os.stat(fd).st_size
        except OSError:  # closed in between
            continue
    return total


def connect_from(source: str, port: int) -> socket.socket:
    """A TCP connection to the local server from loopback address ``source`` (127.x.y.z)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def still_open_after(socks: list[socket.socket], seconds: float) -> list[socket.socket]:
    """The sockets the server has not closed after ``seconds`` (whatever it said first)."""
    return answers_until_closed(socks, seconds)[1]


def answers_until_closed(
    socks: list[socket.socket], seconds: float
) -> tuple[dict[socket.socket, bytes], list[socket.socket]]:
    """What the server said on each socket it closed within ``seconds``; those still open."""
    answers = {sock: b"" for sock in socks}
    waiting = set(socks)
    deadline = time.monotonic() + seconds
    while waiting and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select(list(waiting), [], [], left)
        for sock in readable:
            try:
                if data := sock.recv(65536):
                    answers[sock] += data
                    continue
            except OSError:  # reset
                pass
            waiting.discard(sock)
    return {s: a for s, a in answers.items() if s not in waiting}, list(waiting)


def get_from(source: str, port: int, path: str = "/healthz") -> bytes:
    """A whole GET answer over a connection from ``source``."""
    sock = connect_from(source, port)
    with sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
        return answer
