"""Request bodies capped while they stream, with or without a Content-Length.

A body announced larger than its cap is refused before a byte of it is read; a chunked one is
counted as it arrives and refused the moment it passes the cap. Either way the 413 answer closes
the connection, so the rest of an oversized body is never read, and the edge that was reading it
(a form parser, the OpenAPI endpoint) sees it end there: nothing past the cap is held in memory
or spooled to disk. A request answered before its body was read whole (a redirect to the
sign-in page, say) closes its connection too, rather than read and drop the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class BodyCap:
    """At most ``limit`` bytes; ``refuse(scope, limit)`` is the 413 answer the edge speaks."""

    limit: int
    refuse: Callable[[Scope, int], Response]


_CLOSE = (b"connection", b"close")


class BodyTooLarge(Exception):
    """Raised into the application from ``receive`` once the body passed its cap."""


class BodyLimits:
    """ASGI middleware: every HTTP request's body is capped by the ``BodyCap`` ``cap_for`` picks."""

    def __init__(self, app: ASGIApp, cap_for: Callable[[Scope], BodyCap]) -> None:
        self._app = app
        self._cap_for = cap_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        cap = self._cap_for(scope)
        declared, chunked = _announced_body(scope)
        if declared > cap.limit:
            await _refuse(cap, scope, receive, send)
            return
        seen = 0
        body_pending = declared > 0 or chunked
        started = answered = False

        async def counted_receive() -> Message:
            nonlocal seen, answered, body_pending
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                body_pending = message.get("more_body", False)
                if seen > cap.limit:
                    if not started:
                        await _refuse(cap, scope, receive, send)
                    answered = True
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if answered:  # what the application answers after the 413, a 500 included
                return
            if message["type"] == "http.response.start":
                started = True
                if body_pending:
                    # Answered without reading the whole body (a redirect to sign in, say):
                    # close rather than read and drop whatever else the client sends.
                    message = {**message, "headers": [*message["headers"], _CLOSE]}
            await send(message)

        # BodyTooLarge: answered already. ClientDisconnect: the client went, or was closed for
        # a body too slow (limits.connections) while the application read it; nobody is left to
        # answer, and nothing went wrong in the server worth a traceback in its log.
        with contextlib.suppress(BodyTooLarge, ClientDisconnect):
            await self._app(scope, counted_receive, tracked_send)


def _announced_body(scope: Scope) -> tuple[int, bool]:
    """The Content-Length a request declares (0 if none) and whether its body is chunked."""
    declared, chunked = 0, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            declared = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def _refuse(cap: BodyCap, scope: Scope, receive: Receive, send: Send) -> None:
    """The edge's 413, marked to close the connection so the rest of the body is never read."""
    response = cap.refuse(scope, cap.limit)
    response.headers["connection"] = "close"
    await response(scope, receive, send)
