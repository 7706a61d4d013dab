"""What every fake vendor shares: a thread with its own event loop, a record of what arrived,
and a script of errors to answer with.

A fake runs in a thread of the test process so tests can read its record directly while the
code under test (an adapter in the test's loop, or a ``tidings serve`` subprocess) talks to it
over real sockets.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    """One accepted request: the device token it was for and what the fake parsed from it."""

    token: str
    headers: dict[str, str]
    body: Any


@dataclass
class Scripted:
    """An error to answer with: ``answer`` is the fake's own description of it."""

    answer: Any
    times: int
    token: str | None  # only for this device token; None: any


@dataclass
class Record:
    received: list[Received] = field(default_factory=list)
    auth_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _script: list[Scripted] = field(default_factory=list)

    def add(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def script(self, answer: Any, *, times: int = 1, token: str | None = None) -> None:
        with self._lock:
            self._script.append(Scripted(answer, times, token))

    def scripted(self, token: str | None) -> Any:
        """The next scripted answer for a request to ``token``, if any (used up as taken)."""
        with self._lock:
            for item in self._script:
                if item.token is None or item.token == token:
                    item.times -= 1
                    if item.times <= 0:
                        self._script.remove(item)
                    return item.answer
        return None

    def for_token(self, token: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token == token]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"the fake received {len(self.received)} requests, not {count}")

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._script.clear()
            self.auth_requests = 0


class LoopThread:
    """An event loop running in a daemon thread until ``stop``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(work(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class HttpFake:
    """A fake vendor over HTTP: a Starlette app served by uvicorn on a free loopback port.

    Subclasses give ``routes``; the base issues and checks access tokens (``expire_tokens``
    makes every issued one stale, as a vendor's expiry would) and answers scripted errors:
    ``fail(status, body)`` answers the next request (to ``token``, or any) with that body.
    """

    token_lifetime = 3600

    def __init__(self) -> None:
        self.record = Record()
        self.drawer = Drawer()  # vendors that replace notifications by id fill it
        self.dead: set[str] = set()
        self._tokens: set[str] = set()
        self._issued = 0
        app = Starlette(routes=self.routes())
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def start(self) -> HttpFake:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake vendor did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def reset(self) -> None:
        self.record.clear()
        self.dead.clear()
        self.drawer.clear()

    def issue_token(self) -> str:
        self._issued += 1
        self.record.auth_requests += 1
        token = f"{type(self).__name__}-token-{self._issued}-{uuid.uuid4().hex[:8]}"
        self._tokens.add(token)
        return token

    def valid_token(self, token: str | None) -> bool:
        return token is not None and token in self._tokens

    def expire_tokens(self) -> None:
        self._tokens.clear()

    def fail(
        self,
        status: int,
        body: Any,
        *,
        times: int = 1,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.record.script((status, body, headers or {}), times=times, token=token)

    def scripted(self, token: str | None) -> Response | None:
        answer = self.record.scripted(token)
        if answer is None:
            return None
        status, body, headers = answer
        return JSONResponse(body, status_code=status, headers=headers)


class Drawer:
    """What devices show, as a vendor that replaces notifications by id keeps it: per token,
    the notifications shown under each id (notify_id, tag), the last one on screen."""

    def __init__(self) -> None:
        self._shown: dict[str, dict[object, list[dict]]] = {}

    def show(self, token: str, key: object, notification: dict) -> None:
        self._shown.setdefault(token, {}).setdefault(key, []).append(notification)

    def on_screen(self, token: str, key: object) -> tuple[dict | None, int]:
        """The notification shown under ``key`` and how many it replaced."""
        stack = self._shown.get(token, {}).get(key, [])
        return (stack[-1] if stack else None), max(0, len(stack) - 1)

    def clear(self) -> None:
        self._shown.clear()
