"""The device client: connect, register or resume, receive, acknowledge, reconnect.

Every delivery is recorded as seen (and the state saved) before it is acknowledged and handed to
the app; one seen before is acknowledged again, since the server resends it only because the
first ack did not reach its database, and is not handed over twice.

A revoke frame takes a delivery back: the app is told (``Revoked``) if it had the message, and
the id is recorded as seen either way, so a copy still on its way is dropped when it arrives.
The client confirms every revoke frame, and the server stops sending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tidings.device_client import reconnect
from tidings.device_client.state import DeviceState

# Close codes after which reconnecting cannot help (docs/device-protocol.md).
FINAL_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 4000, 4001, 4004})
# 1001 (going away: the server is stopping) is not final: connect again, maybe elsewhere.


class _GoingAway(Exception):
    """The server answered the hello with a code that is not final: it is stopping (1001) or
    failed (1011); the device connects again, maybe elsewhere."""


class Refused(Exception):
    """The server closed the connection for good (bad credentials, unknown app, ...)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Connected:
    registered: bool  # True the first time, False when resuming
    delivery_token: str


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    task_id: str
    msg_key: str
    title: str
    content: str
    uri: str | None
    extended_params: dict[str, str]
    notify_type: str
    silent: int
    push_action: int
    expires_at: int
    push_style: int = 0
    image_urls: dict[str, str] | None = None
    icon_urls: dict[str, str] | None = None

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> Message:
        return cls(
            id=frame["id"],
            task_id=frame["taskId"],
            msg_key=frame["msgKey"],
            title=frame["title"],
            content=frame["content"],
            uri=frame.get("uri"),
            extended_params=frame.get("extendedParams") or {},
            notify_type=frame["notifyType"],
            silent=frame["silent"],
            push_action=frame["pushAction"],
            expires_at=frame["expiresAt"],
            push_style=frame.get("pushStyle", 0),
            image_urls=frame.get("imageUrls"),
            icon_urls=frame.get("iconUrls"),
        )


@dataclass(frozen=True, slots=True)
class Reported:
    """The server recorded the device's vendor push token."""

    vendor: str


@dataclass(frozen=True, slots=True)
class ActivityRegistered:
    """The server recorded a Live Activity's push token: DeliveryType 6 pushes to its id reach
    it."""

    activity_id: str


@dataclass(frozen=True, slots=True)
class StartTokenRegistered:
    """The server recorded a push-to-start token: a push with ActivityEvent ``start`` to the
    device starts a Live Activity of this ActivityAttributes type."""

    attributes_type: str


@dataclass(frozen=True, slots=True)
class Revoked:
    """The server took back a message the app was handed: withdraw it from view."""

    id: int
    task_id: str
    msg_key: str


def device_url(server: str) -> str:
    """``http://host:port`` (the server's address) or a ``ws://`` URL, as the gateway's URL."""
    url = server.rstrip("/")
    for http, ws in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    if not url.startswith(("ws://", "wss://")):
        url = "ws://" + url
    if url.count("/") == 2:
        url += "/device"
    return url


class DeviceClient:
    def __init__(
        self,
        server: str | Sequence[str],
        *,
        app_id: str,
        workspace_id: str,
        platform: str = "android",
        state_path: str | Path | None = None,
        min_backoff: float = 0.2,
        max_backoff: float = 30.0,
        vendor_token: tuple[str, str] | None = None,
        activities: Sequence[tuple[str, str]] = (),
        start_tokens: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``server`` is one server's address or several (every node of a cluster): the
        client connects to the first and moves to the next whenever a connection is lost
        (device_client/reconnect.py). ``vendor_token`` is (vendor, token): the device's push
        token on a vendor channel, reported on every connection as a phone's SDK reports it;
        ``activities`` are (activityId, push token) of the Live Activities the device runs and
        ``start_tokens`` (ActivityAttributes type, push-to-start token), registered on every
        connection."""
        servers = [server] if isinstance(server, str) else list(server)
        if not servers:
            raise ValueError("give at least one server")
        self.urls = [device_url(s) for s in servers]
        self._index = 0
        self.vendor_token = vendor_token
        self.activities = tuple(activities)
        self.start_tokens = tuple(start_tokens)
        self.app_id = app_id
        self.workspace_id = workspace_id
        self.platform = platform
        self.state = DeviceState(Path(state_path) if state_path else None)
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._socket: ClientConnection | None = None

    async def events(
        self,
    ) -> AsyncIterator[
        Connected | Reported | ActivityRegistered | StartTokenRegistered | Message | Revoked
    ]:
        """Connected after each (re)connection (then Reported, when a vendor token is given,
        ActivityRegistered per activity and StartTokenRegistered per push-to-start token),
        a Message per new delivery and a Revoked per message taken back; forever, or until
        the server refuses the device (``Refused``)."""
        failures = 0
        while True:
            try:
                async with connect(self.url, ping_interval=None, max_size=2**20) as socket:
                    self._socket = socket
                    connected, heartbeat = await self._hello(socket)
                    failures = -1  # counted up to 0 below: the next wait is a short one
                    yield connected
                    if self.vendor_token is not None:
                        vendor, token = self.vendor_token
                        await socket.send(
                            json.dumps({"type": "report", "vendor": vendor, "token": token})
                        )
                    for activity_id, push_token in self.activities:
                        frame = {"type": "activity", "activityId": activity_id}
                        await socket.send(json.dumps({**frame, "pushToken": push_token}))
                    for attributes_type, push_token in self.start_tokens:
                        frame = {"type": "activityStartToken", "attributesType": attributes_type}
                        await socket.send(json.dumps({**frame, "pushToken": push_token}))
                    pinger = asyncio.get_running_loop().create_task(self._ping(socket, heartbeat))
                    try:
                        async for frame in socket:
                            message = await self._receive(socket, frame)
                            if message is not None:
                                yield message
                    finally:
                        pinger.cancel()
                    _raise_if_final(socket.close_code, socket.close_reason)
            except ConnectionClosed as closed:
                if closed.rcvd is not None:
                    _raise_if_final(closed.rcvd.code, closed.rcvd.reason)
            except (OSError, InvalidHandshake, TimeoutError, _GoingAway):
                pass  # the server is down, restarting or stopping: try again after the backoff
            finally:
                self._socket = None
            failures += 1
            self._index = reconnect.next_server(self._index, len(self.urls))
            await asyncio.sleep(
                reconnect.delay(
                    failures, len(self.urls), self._min_backoff, self._max_backoff, random.random
                )
            )

    @property
    def url(self) -> str:
        """The gateway URL the client is on, or tries next."""
        return self.urls[self._index]

    async def report_open(self, message_id: int) -> None:
        """Tell the server the user opened this message (analytics counts opens)."""
        if self._socket is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._socket.send(json.dumps({"type": "open", "id": message_id}))

    async def _hello(self, socket: ClientConnection) -> tuple[Connected, int]:
        state = self.state
        if state.delivery_token and state.secret:
            hello = {"type": "resume", "deliveryToken": state.delivery_token}
            hello["secret"] = state.secret
        else:
            hello = {"type": "register", "platform": self.platform}
        hello.update(appId=self.app_id, workspaceId=self.workspace_id)
        await socket.send(json.dumps(hello))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if reply.get("type") == "registered":
            state.delivery_token = reply["deliveryToken"]
            state.secret = reply["secret"]
            state.save()
            return Connected(True, reply["deliveryToken"]), reply["heartbeat"]
        if reply.get("type") == "resumed":
            return Connected(False, reply["deliveryToken"]), reply["heartbeat"]
        if reply.get("type") == "error":  # a draining server answers a hello with 1001
            _raise_if_final(reply.get("code"), reply.get("reason"))
            raise _GoingAway(reply.get("code"))
        raise Refused(reply.get("code", 1002), reply.get("reason", f"unexpected reply {reply}"))

    async def _receive(
        self, socket: ClientConnection, raw: str | bytes
    ) -> Message | Reported | ActivityRegistered | StartTokenRegistered | Revoked | None:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "error":
            # The close follows; only a final code ends the client (1001, 1011, 4008 do not).
            _raise_if_final(frame["code"], frame["reason"])
            return None
        if kind == "revoke":
            return await self._revoke(socket, frame)
        if kind == "reported":
            return Reported(frame["vendor"])
        if kind == "activityRegistered":
            return ActivityRegistered(frame["activityId"])
        if kind == "activityStartTokenRegistered":
            return StartTokenRegistered(frame["attributesType"])
        if kind != "message":
            return None  # pong
        delivery_id = frame["id"]
        fresh = not self.state.has_seen(delivery_id)
        if fresh:
            self.state.remember(delivery_id, frame.get("expiresAt"))
        # Seen is recorded, so the message is handed over even if the ack cannot be sent: the
        # server resends it after the reconnect, and it is then acked as a known duplicate.
        with contextlib.suppress(ConnectionClosed):
            await socket.send(json.dumps({"type": "ack", "ids": [delivery_id]}))
        return Message.from_frame(frame) if fresh else None

    async def _revoke(self, socket: ClientConnection, frame: dict[str, Any]) -> Revoked | None:
        delivery_id = frame["id"]
        had = self.state.has_seen(delivery_id)
        if not had:
            self.state.remember(delivery_id)
        with contextlib.suppress(ConnectionClosed):
            await socket.send(json.dumps({"type": "revoked", "ids": [delivery_id]}))
        return Revoked(delivery_id, frame["taskId"], frame["msgKey"]) if had else None

    async def _ping(self, socket: ClientConnection, heartbeat: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(heartbeat)
                await socket.send('{"type":"ping"}')


def _raise_if_final(code: int | None, reason: str | None) -> None:
    if code in FINAL_CODES:
        raise Refused(code, reason or "")
