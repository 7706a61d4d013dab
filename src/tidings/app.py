"""The composition root: one Starlette application wired to the services of one process, and
the routes that belong to no edge of their own (/healthz, /metrics)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Connection, text
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings import metrics, readiness
from tidings.channels.receipt_formats import RECEIPT_PATH, ReceiptMalformed, ReceiptRefused
from tidings.config import Settings
from tidings.console import api as console_api
from tidings.console.accounts import Accounts
from tidings.console.routes import console_mount
from tidings.console.web import Console
from tidings.console.web import too_large as console_too_large
from tidings.contract import Status
from tidings.delivery.receipts import NoReceipts, VendorReceipts
from tidings.draining import Drain
from tidings.gateway.server import DeviceGateway
from tidings.limits.bodies import BodyCap, BodyLimits
from tidings.openapi.endpoint import RpcEndpoint
from tidings.openapi.endpoint import too_large as rpc_too_large
from tidings.openapi.replay import DatabaseNonces
from tidings.services import Services
from tidings.store import health
from tidings.tasks import ACCEPTED, PENDING


def build_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    on_ready: Callable[[Services], Awaitable[None]] | None = None,
    drain: Drain | None = None,
) -> Served:
    """``drain``: the graceful stop the server starts on SIGTERM (draining.py). Devices connect
    through ``gateway.transport.socket_class(app)``, given to uvicorn as its WebSocket
    protocol."""
    drain = drain or Drain()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.open(settings, clock=clock)
        nonces = DatabaseNonces(services.db, settings.nonce_ttl_seconds, clock)
        app.state.services = services
        app.state.rpc = RpcEndpoint(services, nonces, clock=clock)
        accounts = Accounts(
            services.db, session_seconds=settings.console_session_seconds, clock=clock
        )
        app.state.console = Console(services, accounts)
        app.state.receipts = VendorReceipts(services.db, services.channel_configs, clock=clock)
        gateway = app.state.gateway = DeviceGateway(services, draining=lambda: drain.draining)
        await gateway.start()
        drain.serve_devices(gateway)
        services.delivery.start()
        services.firing_loop.start()
        services.webhooks.sender.start()
        services.sms.start()
        services.pruner.start()
        services.revocations.start()
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

    async def readyz(request: Request) -> Response:
        verdicts = await readiness.check(request.app.state.services, drain.draining)
        ready = readiness.is_ready(verdicts)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": verdicts},
            status_code=200 if ready else 503,
        )

    async def metrics_text(request: Request) -> Response:
        state = request.app.state
        now_ms = int(clock() * 1000)
        depths, oldest_due = await state.services.db.read(_waiting, now_ms)
        text = metrics.render(depths, oldest_due, len(state.gateway.hub), now_ms)
        return Response(text, media_type=metrics.CONTENT_TYPE)

    async def receipt(request: Request) -> Response:
        """A vendor's receipt callback: the URL an app configures in the vendor's console."""
        path = request.path_params
        try:
            reply = await request.app.state.receipts.take(
                path["channel"], path["workspace"], path["app_id"],
                request.headers, await request.body(),
            )  # fmt: skip
        except NoReceipts as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except ReceiptRefused as exc:
            return JSONResponse({"error": str(exc)}, 401)
        except ReceiptMalformed as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(reply)

    routes = [
        Route(RECEIPT_PATH, receipt, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        # Before the console's mount, which would take every /console path.
        Route("/console/api/apps/{workspace}/{app_id}/trace", console_api.trace, methods=["GET"]),
        console_mount(),
    ]
    starlette = Starlette(routes=routes, lifespan=lifespan)
    return Served(starlette, BodyLimits(_RpcFirst(starlette, _Rpc(drain)), _body_caps(settings)))


def _body_caps(settings: Settings) -> Callable[[Scope], BodyCap]:
    """Which cap a request's body has: the console's forms and its multipart uploads (the
    batch CSV) their own, everything else (the OpenAPI) ``body_limit``."""
    api = BodyCap(settings.body_limit, rpc_too_large)
    form = BodyCap(settings.console_form_limit, console_too_large)
    upload = BodyCap(settings.upload_limit, console_too_large)

    def cap_for(scope: Scope) -> BodyCap:
        if not scope["path"].startswith("/console"):
            return api
        content_type = Headers(scope=scope).get("content-type", "")
        return upload if content_type.startswith("multipart/form-data") else form

    return cap_for


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

    def __init__(self, drain: Drain) -> None:
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._drain.draining:
            response = scope["app"].state.rpc.stopping()
        else:
            with self._drain.request():
                response = await scope["app"].state.rpc(request)
        await response(scope, receive, send)


class _RpcFirst:
    """The RPC route, ``/``, ahead of Starlette's stack: a call to it (nearly every request a
    server takes) goes straight to ``_Rpc``, with the application in its scope as Starlette
    puts it there, and every other request (and the lifespan) to Starlette. Its two exception
    middlewares, its router and its route were a twentieth of a one-target call's work on the
    loop and did nothing for it: the endpoint answers every error itself."""

    def __init__(self, starlette: Starlette, rpc: _Rpc) -> None:
        self._starlette = starlette
        self._rpc = rpc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/":
            scope["app"] = self._starlette
            await self._rpc(scope, receive, send)
        else:
            await self._starlette(scope, receive, send)


class Served:
    """The application as uvicorn runs it: Starlette inside its body limits. ``state`` is
    Starlette's, where the device socket (gateway/transport.py) finds the gateway: devices
    never reach the ASGI application, uvicorn hands their upgrades to that socket."""

    def __init__(self, app: Starlette, wrapped: ASGIApp) -> None:
        self.state = app.state
        self._wrapped = wrapped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._wrapped(scope, receive, send)
