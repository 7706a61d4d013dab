"""A webhook receiver for the tests: a real HTTP server in a thread that checks every request's
signature with the ``standardwebhooks`` library (an implementation independent of Tidings'),
records the events, and answers what the test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from tests.support.servers import Server
from tidings.webhooks import signing


@dataclass
class Received:
    headers: dict[str, str]
    events: list[dict[str, Any]]
    verified_with: list[int]  # which of the receiver's secrets verified it


@dataclass
class Receiver:
    url: str
    secrets: list[str] = field(default_factory=list)
    status: int = 200  # what to answer
    requests: list[Received] = field(default_factory=list)  # every request, even refused ones
    unverified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        """The requests answered 2xx... as recorded when they were answered."""
        return [r for r in self.requests if r.headers.get("x-answered", "").startswith("2")]

    def events(self) -> list[dict[str, Any]]:
        """Every event of every request answered 2xx."""
        return [event for request in self.accepted() for event in request.events]

    def wait_until(self, done: Callable[[list[dict]], bool], timeout: float = 30.0) -> list[dict]:
        """The accepted events, once ``done`` says they are all there (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while not done(found := self.events()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def wait_for(self, count: int, timeout: float = 30.0, kind: str | None = None) -> list[dict]:
        """The accepted events (of type ``kind``), once there are at least ``count``."""

        def chosen(events: list[dict]) -> list[dict]:
            return [e for e in events if kind is None or e["type"] == kind]

        return chosen(self.wait_until(lambda events: len(chosen(events)) >= count, timeout))


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender was killed mid-request: nothing arrived whole
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = []
            for i, secret in enumerate(receiver.secrets):
                try:
                    Webhook(secret).verify(body, headers)
                except Exception:
                    continue
                verified.append(i)
            status = receiver.status
            with receiver.lock:
                if not verified:
                    receiver.unverified += 1
                    status = 401
                headers["x-answered"] = str(status)
                receiver.requests.append(
                    Received(headers, json.loads(body)["events"] if verified else [], verified)
                )
            answer = b'{"ok":true}' if status < 300 else b"refused by the test receiver"
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(*secrets: str) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    receiver = Receiver(f"http://127.0.0.1:{server.server_port}/hooks", list(secrets))
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def add_endpoint(
    server: Server, workspace: str, app_id: str, receiver: Receiver, events: str = "*"
) -> int:
    """An endpoint of the app for ``receiver`` (``tidings webhooks add``), signed with a new
    secret the receiver verifies with; the endpoint's number."""
    secret = signing.new_secret()
    receiver.secrets.append(secret)
    out = server.cli(
        "webhooks", "add", "--workspace", workspace, "--app-id", app_id,
        "--url", receiver.url, "--events", events, "--secret", secret,
    ).stdout  # fmt: skip
    assert secret in out
    return int(out.split("Added endpoint ")[1].split(".")[0])
