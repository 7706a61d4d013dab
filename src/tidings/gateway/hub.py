"""The devices connected to this process, and the writing side of each connection.

A delivery is pushed onto its connection's queue and written by a task that exists only while
the queue has something in it, so an idle connection costs no task of its own; the same queue
keeps one slow device from holding up a burst to every other one. ``in_flight`` holds the ids
sent and not yet acknowledged on this connection: it drops a delivery pushed twice (dispatch
racing the resend on connect) and is the list of acks this connection may make. ``recalled`` does
the same for revoke frames and the confirmations they call for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tidings.contract import Outbound, Recall
from tidings.gateway import protocol

log = logging.getLogger("tidings.gateway")

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class Connection:
    __slots__ = (
        "_close",
        "_queue",
        "_send",
        "_writer",
        "closed",
        "device_pk",
        "in_flight",
        "last_heard",
        "recalled",
    )

    def __init__(self, send: Send, close: Close, now: float) -> None:
        self._send = send
        self._close = close
        self._queue: collections.deque[str] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self.device_pk = 0
        self.in_flight: set[int] = set()
        self.recalled: set[int] = set()
        self.last_heard = now
        self.closed = False

    def push(self, item: Outbound) -> None:
        if item.id in self.in_flight or self.closed:
            return
        self.in_flight.add(item.id)
        self.write(protocol.message(item))

    def recall(self, item: Recall) -> None:
        if item.id in self.recalled or self.closed:
            return
        self.recalled.add(item.id)
        self.write(protocol.revoke(item))

    def write(self, text: str) -> None:
        self._queue.append(text)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    def settle(self, ids: tuple[int, ...]) -> list[int]:
        """The acknowledged ids this connection was sent; others are ignored."""
        return _take(self.in_flight, ids)

    def withdrawn(self, ids: tuple[int, ...]) -> list[int]:
        """The confirmed revocations this connection was sent; others are ignored."""
        return _take(self.recalled, ids)

    async def _drain(self) -> None:
        try:
            while self._queue and not self.closed:
                await self._send(self._queue.popleft())
        except Exception:  # the peer went away mid-write; the receive loop sees it too
            self.closed = True
        finally:
            self._writer = None

    async def close(self, code: int, reason: str, last_frame: str | None = None) -> None:
        """Close with ``code``; ``last_frame`` (the protocol's error frame) is sent first."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            if last_frame is not None:
                await self._send(last_frame)
            await self._close(code, reason)


def _take(sent: set[int], ids: tuple[int, ...]) -> list[int]:
    known = [i for i in ids if i in sent]
    sent.difference_update(known)
    return known


class Hub:
    """Connections by device; a device connected twice keeps only its newer connection."""

    def __init__(self) -> None:
        self._connections: dict[int, Connection] = {}

    def get(self, device_pk: int) -> Connection | None:
        return self._connections.get(device_pk)

    def attach(self, connection: Connection) -> Connection | None:
        """Hold ``connection``; the one it replaces, if any (the caller closes it)."""
        old = self._connections.get(connection.device_pk)
        self._connections[connection.device_pk] = connection
        return old if old is not connection else None

    def detach(self, connection: Connection) -> bool:
        """Forget ``connection``; False if a newer one holds its device already."""
        if self._connections.get(connection.device_pk) is not connection:
            return False
        del self._connections[connection.device_pk]
        return True

    def device_pks(self) -> list[int]:
        return list(self._connections)

    def silent_since(self, deadline: float) -> list[Connection]:
        return [c for c in self._connections.values() if c.last_heard < deadline]

    def __len__(self) -> int:
        return len(self._connections)
