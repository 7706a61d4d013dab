"""The WebSocket endpoint devices connect to (``/device``), on the same server as the OpenAPI.

Each connection is one loop: read a frame, let the protocol turn it into an event, act on it.
Only that loop reads; writes go through the connection's queue (gateway/hub.py). A violation
closes that connection alone, with the protocol's code and reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from tidings.errors import ServiceError
from tidings.gateway import protocol
from tidings.gateway.hub import Connection, Hub
from tidings.gateway.protocol import (
    Ack,
    DeviceProtocol,
    Event,
    Open,
    Register,
    Report,
    Resume,
    Revoked,
    Violation,
)

if TYPE_CHECKING:
    from tidings.services import Services

log = logging.getLogger("tidings.gateway")

# A device that has sent nothing for this many heartbeat intervals is gone.
SILENT_HEARTBEATS = 2.5


class DeviceGateway:
    def __init__(self, services: Services, *, clock: Callable[[], float] = time.monotonic) -> None:
        settings = services.settings
        self._services = services
        self._clock = clock
        self._heartbeat = settings.device_heartbeat_seconds
        self._max_frame = settings.device_frame_limit
        self.hub = Hub()
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        services = self._services
        services.selfbuilt.serve(self.hub, self._poked)
        await services.broker.start(self._poked)
        self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper

    def go_away(self) -> None:
        """Close every device connection with 1001 (going away): the server is stopping, and
        devices connect again, to another server or to this one once it is back."""
        code, reason = protocol.GOING_AWAY, "server shutting down"
        for connection in self.hub.silent_since(float("inf")):
            closing = asyncio.get_running_loop().create_task(
                connection.close(code, reason, protocol.error(code, reason))
            )
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})

        async def send_text(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        async def close(code: int, reason: str) -> None:
            await send({"type": "websocket.close", "code": code, "reason": reason})

        connection = Connection(send_text, close, self._clock())
        machine = DeviceProtocol(self._max_frame)
        try:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    break
                connection.last_heard = self._clock()
                event = machine.receive(message.get("text", message.get("bytes")))
                await self._handle(event, machine, connection)
        except Violation as violation:
            await self._refuse(connection, machine, violation)
        except Exception:
            log.exception("device connection failed")
            await self._refuse(
                connection, machine, Violation(protocol.SERVER_ERROR, "server error")
            )
        finally:
            connection.closed = True
            if connection.device_pk and self.hub.detach(connection):
                await self._services.broker.detach(connection.device_pk)

    async def _handle(self, event: Event, machine: DeviceProtocol, connection: Connection) -> None:
        delivery = self._services.delivery
        match event:
            case Ack(ids):
                known = connection.settle(ids)
                if known:
                    delivery.acked(known)
            case Open(delivery_id):
                delivery.opened(connection.device_pk, (delivery_id,))
            case Revoked(ids):
                withdrawn = connection.withdrawn(ids)
                if withdrawn:
                    delivery.revoke_confirmed(withdrawn)
            case Report(vendor, token):
                try:
                    await self._services.devices.report_vendor(connection.device_pk, vendor, token)
                except ServiceError as error:
                    raise Violation(protocol.POLICY, error.detail[:120]) from None
                connection.write(protocol.reported(vendor))
            case Register() | Resume():
                await self._hello(event, machine, connection)
            case _:
                connection.write(protocol.PONG)

    async def _hello(
        self, event: Register | Resume, machine: DeviceProtocol, connection: Connection
    ) -> None:
        services = self._services
        try:
            app = await services.tenancy.resolve_app(event.workspace_id, event.app_id, None)
        except ServiceError:
            raise Violation(
                protocol.UNKNOWN_APP,
                f"no app {event.app_id[:40]!r} in workspace {event.workspace_id[:40]!r}",
            ) from None
        if isinstance(event, Register):
            device, secret = await services.devices.register(app.pk, event.platform)
            hello = protocol.registered(device.token, secret, self._heartbeat)
        else:
            found = await services.devices.authenticate(app.pk, event.delivery_token, event.secret)
            if found is None:
                raise Violation(protocol.REFUSED, "unknown DeliveryToken or wrong secret")
            device = found
            services.delivery.seen(device.pk)
            hello = protocol.resumed(device.token, self._heartbeat)
        connection.device_pk = device.pk
        machine.ready()
        replaced = self.hub.attach(connection)
        if replaced is not None:
            reason = "the device connected again"
            await replaced.close(
                protocol.REPLACED, reason, protocol.error(protocol.REPLACED, reason)
            )
        await services.broker.attach(device.pk)
        connection.write(hello)
        await self._send_owed([device.pk])

    async def _refuse(
        self, connection: Connection, machine: DeviceProtocol, violation: Violation
    ) -> None:
        last_frame = machine.close(violation.code, violation.reason)
        await connection.close(violation.code, violation.reason, last_frame)

    async def _poked(self, device_pks: list[int]) -> None:
        """There is news (deliveries, revocations) for some devices, maybe connected here."""
        here = [pk for pk in device_pks if self.hub.get(pk) is not None]
        if here:
            await self._send_owed(here)

    async def _send_owed(self, device_pks: list[int]) -> None:
        """What these devices are owed: pending deliveries, then revoke frames."""
        delivery = self._services.delivery
        for item in await delivery.pending(device_pks):
            connection = self.hub.get(item.device.pk)
            if connection is not None:
                connection.push(item)
        for recall in await delivery.pending_recalls(device_pks):
            connection = self.hub.get(recall.device_pk)
            if connection is not None:
                connection.recall(recall)

    async def _reap(self) -> None:
        """Close connections that stopped sending heartbeats; with other processes about,
        send the devices here what a lost poke may have left pending."""
        while True:
            await asyncio.sleep(self._heartbeat)
            deadline = self._clock() - SILENT_HEARTBEATS * self._heartbeat
            for connection in self.hub.silent_since(deadline):
                reason = "no heartbeat"
                await connection.close(
                    protocol.SILENT, reason, protocol.error(protocol.SILENT, reason)
                )
            if self._services.broker.shared:
                try:
                    await self._poked(self.hub.device_pks())
                except Exception:
                    log.exception("re-sending pending deliveries failed")
