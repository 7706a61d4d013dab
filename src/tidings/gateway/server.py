"""The device gateway: a session per connection, driving the protocol (gateway/protocol.py) with
the frames the transport (gateway/transport.py) reads, and sending devices what they are owed.

Frames are handled as they are read, with no task: acks, opens, confirmations and pings need no
await. A frame that needs the database (register, resume, report) runs as the session's one task,
and the frames that come meanwhile wait for it, in order. A violation closes that connection
alone, with the protocol's code and reason. Connections are bounded: a first frame within
``device_hello_seconds``; at most ``device_window`` unacknowledged messages, the rest read from
the database page by page as acks come back; a connection whose messages go unacknowledged for
as long as a silent one is closed (4009).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING

from tidings.errors import ServiceError
from tidings.gateway import protocol
from tidings.gateway.hub import Connection, Hub, Link
from tidings.gateway.protocol import (
    Ack,
    Activity,
    DeviceProtocol,
    Event,
    Open,
    Register,
    Report,
    Resume,
    Revoked,
    StartToken,
    State,
    Violation,
)
from tidings.gateway.transport import Outbox
from tidings.gathering import Gathering

if TYPE_CHECKING:
    from tidings.services import Services

log = logging.getLogger("tidings.gateway")

# A device that has sent nothing for this many heartbeat intervals is gone.
SILENT_HEARTBEATS = 2.5


class Session:
    """One device connection, from the upgrade to the socket's end."""

    __slots__ = ("_backlog", "_deadline", "_gateway", "_task", "connection", "machine")

    def __init__(self, gateway: DeviceGateway, link: Link) -> None:
        self._gateway = gateway
        self.connection = Connection(link, gateway.clock, gateway.window)
        self.machine = DeviceProtocol(gateway.frame_limit)
        self._backlog: collections.deque[str | bytes] | None = None  # frames waiting for _task
        self._task: asyncio.Task[None] | None = None
        self._deadline: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            gateway.hello_seconds, self._too_late
        )

    def received(self, data: str | bytes) -> None:
        if self._backlog is not None:
            self._backlog.append(data)
            return
        connection = self.connection
        if connection.closed:
            self._settle_late(data)
            return
        connection.last_heard = self._gateway.clock()
        try:
            work = self._gateway.handle(self.machine.receive(data), self)
        except Violation as violation:
            self.refuse(violation)
            return
        if work is not None:
            self._backlog = collections.deque()
            self._task = asyncio.get_running_loop().create_task(self._run(work))

    async def _run(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Violation as violation:
            self.refuse(violation)
        except Exception:
            log.exception("device connection failed")
            self.refuse(Violation(protocol.SERVER_ERROR, "server error"))
        self._task = None
        backlog, self._backlog = self._backlog, None
        while backlog:
            self.received(backlog.popleft())
            if self._backlog is not None:  # another frame needs the database: it goes first
                self._backlog.extend(backlog)
                return

    def _settle_late(self, data: str | bytes) -> None:
        """A frame the device sent before it left, held while earlier work ran: what it settles
        (an ack, an open, a confirmed revocation) still counts; nothing else is answered."""
        try:
            event = self.machine.receive(data)
        except Violation:
            return
        if isinstance(event, Ack | Open | Revoked):
            self._gateway.handle(event, self)

    def ready(self) -> None:
        self.machine.ready()
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_late(self) -> None:
        self._deadline = None
        if self.machine.state is State.HELLO and self._task is None:
            seconds = self._gateway.hello_seconds
            self.refuse(Violation(protocol.SILENT, f"no register or resume within {seconds:g} s"))

    def refuse(self, violation: Violation) -> None:
        last_frame = self.machine.close(violation.code, violation.reason)
        self.connection.close(violation.code, violation.reason, last_frame)

    def go_away(self) -> None:
        code, reason = protocol.GOING_AWAY, "server shutting down"
        self.connection.close(code, reason, protocol.error(code, reason))

    def lost(self) -> None:
        """The socket closed (or the peer sent its close frame)."""
        connection = self.connection
        connection.closed = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._gateway.forget(self)


class DeviceGateway:
    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], float] = time.monotonic,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        """``draining``: whether the server is stopping (draining.py), when a device that
        connects is told at once to go elsewhere."""
        settings = services.settings
        self._services = services
        self._draining = draining
        self.clock = clock
        self._heartbeat = settings.device_heartbeat_seconds
        self.frame_limit = settings.device_frame_limit
        self.hello_seconds = settings.device_hello_seconds
        self.window = settings.device_window
        self.unread_limit = settings.device_unread_limit
        self.hub = Hub()
        self.outbox = Outbox()
        self._sessions: set[Session] = set()
        # Devices resuming in a storm: what those of one loop turn are owed, read at once.
        self._owed_on_resume: Gathering[int, None] = Gathering(self._send_owed_each)
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # held until done

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

    def open(self, link: Link) -> Session:
        """A device connected (its WebSocket handshake is done)."""
        session = Session(self, link)
        self._sessions.add(session)
        if self._draining():
            session.go_away()
        return session

    def forget(self, session: Session) -> None:
        if session not in self._sessions:
            return
        self._sessions.discard(session)
        connection = session.connection
        if connection.device_pk and self.hub.detach(connection):
            self._spawn(self._services.broker.detach(connection.device_pk))

    def go_away(self) -> None:
        """Close every device connection with 1001 (going away): the server is stopping, and
        devices connect again, to this server once it is back or to another one."""
        for session in list(self._sessions):
            session.go_away()

    def handle(self, event: Event, session: Session) -> Awaitable[None] | None:
        """Act on ``event``; what needs the database comes back as an awaitable to run."""
        connection = session.connection
        if type(event) is Ack:  # nearly every frame: found before the match, which took 0.27 µs
            known = connection.settle(event.ids)
            if known:
                self._services.delivery.acked(known)
                if connection.wants_more():
                    self._catch_up(connection)
            return None
        match event:
            case Open(delivery_id):
                self._services.delivery.opened(connection.device_pk, (delivery_id,))
            case Revoked(ids):
                withdrawn = connection.withdrawn(ids)
                if withdrawn:
                    self._services.delivery.revoke_confirmed(withdrawn)
            case Report():
                devices = self._services.devices
                told = devices.report_vendor(connection.device_pk, event.vendor, event.token)
                return _recorded(told, protocol.reported(event.vendor), connection)
            case Activity():
                devices = self._services.devices
                told = devices.register_activity(
                    connection.device_pk, event.activity_id, event.push_token
                )
                return _recorded(told, protocol.activity_registered(event.activity_id), connection)
            case StartToken():
                told = self._services.devices.register_start_token(
                    connection.device_pk, event.attributes_type, event.push_token
                )
                answer = protocol.start_token_registered(event.attributes_type)
                return _recorded(told, answer, connection)
            case Register() | Resume():
                return self._hello(event, session)
            case _:
                connection.write(protocol.PONG)
        return None

    async def _hello(self, event: Register | Resume, session: Session) -> None:
        services = self._services
        connection = session.connection
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
        if connection.closed:
            return
        connection.device_pk = device.pk
        session.ready()
        # Presence first: it may wait on Redis, and until the hello is written the connection
        # must not be in the hub, where a poke or the reaper would send it messages before the
        # reply the device is waiting for.
        await services.broker.attach(device.pk)
        if connection.closed:  # it left meanwhile, and its close found it in no hub
            await services.broker.detach(device.pk)
            return
        replaced = self.hub.attach(connection)
        connection.write(hello)
        if replaced is not None:
            reason = "the device connected again"
            replaced.close(protocol.REPLACED, reason, protocol.error(protocol.REPLACED, reason))
        if isinstance(event, Resume):  # a device registered just now is owed nothing yet
            await self._owed_on_resume(device.pk)

    def _catch_up(self, connection: Connection) -> None:
        """Acks drained the window of a connection that was left messages: read its next page
        once those acks are written (until then they would read as still pending)."""
        connection.catching_up = True

        async def next_page() -> None:
            try:
                connection.behind = False
                if not connection.closed:
                    await self._send_owed([connection.device_pk])
            except Exception:
                log.exception("reading a device's next page of deliveries failed")
            finally:
                connection.catching_up = False
            if connection.wants_more():  # the acks for this page came while it was read
                self._catch_up(connection)

        self._spawn(next_page())

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poked(self, device_pks: list[int]) -> None:
        """There is news (deliveries, revocations) for some devices, maybe connected here."""
        here = [pk for pk in device_pks if self.hub.get(pk) is not None]
        if here:
            await self._send_owed(here)

    async def _send_owed_each(self, device_pks: list[int]) -> list[None]:
        await self._send_owed(device_pks)
        return [None] * len(device_pks)

    async def _send_owed(self, device_pks: list[int]) -> None:
        """What these devices are owed, a window's worth each: pending deliveries, then revoke
        frames. What does not fit comes as acks make room."""
        # The acks these devices sent are written first (until then they would read as
        # pending); one that comes meanwhile, or while the read runs, may still read so, and
        # its delivery is not sent again on the same connection.
        readers = [c for c in map(self.hub.get, device_pks) if c is not None]
        for connection in readers:
            connection.reading()
        try:
            await self._services.delivery.acks_written()
            await self._push_owed(device_pks)
        finally:
            for connection in readers:
                connection.read()

    async def _push_owed(self, device_pks: list[int]) -> None:
        pending, recalls = await self._services.delivery.owed(device_pks, self.window)
        paged: collections.Counter[int] = collections.Counter()
        for item in pending:
            paged[item.device.pk] += 1
            connection = self.hub.get(item.device.pk)
            if connection is not None:
                connection.push(item)
        for device_pk, count in paged.items():
            connection = self.hub.get(device_pk)
            if count == self.window and connection is not None:
                connection.behind = True  # a full page: more may wait behind it
        for recall in recalls:
            connection = self.hub.get(recall.device_pk)
            if connection is not None:
                connection.recall(recall)

    async def _reap(self) -> None:
        """Close connections that stopped sending heartbeats or acknowledging what they are
        sent; with other processes about, send the devices here what a lost poke may have
        left pending."""
        while True:
            await asyncio.sleep(self._heartbeat)
            deadline = self.clock() - SILENT_HEARTBEATS * self._heartbeat
            self._close_all(self.hub.silent_since(deadline), protocol.SILENT, "no heartbeat")
            self._close_all(
                self.hub.stalled_since(deadline), protocol.SLOW, "messages not acknowledged"
            )
            if self._services.broker.shared:
                try:
                    await self._poked(self.hub.device_pks())
                except Exception:
                    log.exception("re-sending pending deliveries failed")

    @staticmethod
    def _close_all(connections: list[Connection], code: int, reason: str) -> None:
        for connection in connections:
            connection.close(code, reason, protocol.error(code, reason))


async def _recorded(told: Awaitable[None], reply: str, connection: Connection) -> None:
    """Record what a device told of itself and confirm it; a refusal closes the connection,
    naming why."""
    try:
        await told
    except ServiceError as error:
        raise Violation(protocol.POLICY, error.detail[:120]) from None
    connection.write(reply)
