"""The composition root: one Starlette application wired to the services of one process, and
the routes that belong to no edge of their own (/healthz, /metrics)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Connection, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings import metrics
from tidings.config import Settings
from tidings.console import api as console_api
from tidings.console.accounts import Accounts
from tidings.console.routes import console_mount
from tidings.console.web import Console
from tidings.contract import Status
from tidings.gateway.server import DeviceGateway
from tidings.openapi.endpoint import RpcEndpoint
from tidings.openapi.replay import DatabaseNonces, MemoryNonces, Nonces
from tidings.services import Services
from tidings.store import health
from tidings.tasks import ACCEPTED, PENDING

DEVICE_PATH = "/device"


def build_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    on_ready: Callable[[Services], Awaitable[None]] | None = None,
) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.open(settings, clock=clock)
        nonces: Nonces
        if settings.embedded:
            nonces = MemoryNonces(settings.nonce_ttl_seconds, clock)
        else:
            nonces = DatabaseNonces(services.db, settings.nonce_ttl_seconds, clock)
        app.state.services = services
        app.state.rpc = RpcEndpoint(services, nonces, clock=clock)
        accounts = Accounts(
            services.db, session_seconds=settings.console_session_seconds, clock=clock
        )
        app.state.console = Console(services, accounts)
        gateway = app.state.gateway = DeviceGateway(services)
        await gateway.start()
        services.delivery.start()
        services.firing_loop.start()
        services.pruner.start()
        if on_ready is not None:
            await on_ready(services)
        try:
            yield
        finally:
            await gateway.aclose()
            await services.aclose()

    async def healthz(request: Request) -> Response:
        services: Services = request.app.state.services
        await services.db.read(lambda conn: conn.execute(text("SELECT 1")))
        return JSONResponse({"status": "ok"})

    async def metrics_text(request: Request) -> Response:
        state = request.app.state
        now_ms = int(clock() * 1000)
        depths, oldest_due = await state.services.db.read(_waiting, now_ms)
        text = metrics.render(depths, oldest_due, len(state.gateway.hub), now_ms)
        return Response(text, media_type=metrics.CONTENT_TYPE)

    routes = [
        Route("/", _Rpc()),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        # Before the console's mount, which would take every /console path.
        Route("/console/api/apps/{workspace}/{app_id}/trace", console_api.trace, methods=["GET"]),
        console_mount(),
    ]
    return _DevicesFirst(Starlette(routes=routes, lifespan=lifespan))


def _waiting(conn: Connection, now_ms: int) -> tuple[dict[str, int], int | None]:
    """The queues /metrics shows, read from the database every process shares, and when the
    most overdue occurrence was due."""
    depths = {
        "tasks_due": health.tasks_due(conn, ACCEPTED, now_ms),
        "deliveries_pending": health.deliveries_open(conn, Status.PENDING, now_ms),
        "deliveries_no_binding": health.deliveries_open(conn, Status.NO_BIND, now_ms),
        "occurrences_waiting": health.tasks_in(conn, PENDING),
    }
    return depths, health.oldest_due(conn, PENDING)


class _Rpc:
    """The RPC route as a plain ASGI app, so every HTTP method reaches the endpoint, which
    answers the ones it does not take with the gateway's UnsupportedHTTPMethod."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await scope["app"].state.rpc(request)
        await response(scope, receive, send)


class _DevicesFirst:
    """Device connections go straight to the gateway, everything else to Starlette.

    Starlette's router and error middleware wrap every ``send`` and ``receive`` of a WebSocket;
    on the device path that is two extra coroutine layers per frame, for thousands of frames a
    second, around a gateway that handles its own errors. Only ``/device`` skips them.
    """

    def __init__(self, app: Starlette) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == DEVICE_PATH:
            await self._app.state.gateway(scope, receive, send)
        else:
            await self._app(scope, receive, send)
