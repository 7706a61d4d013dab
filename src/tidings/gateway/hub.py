"""The devices connected to this process, and the sending side of each connection.

A connection writes through its ``Link`` (gateway/transport.py), which frames nothing itself:
every frame arrives as finished bytes and is written with the others of the same loop turn, so
a burst costs no task and no await per message. ``in_flight`` holds the ids sent and not yet
acknowledged on this connection: it drops a delivery pushed twice (dispatch racing the resend on
connect), is the list of acks this connection may make, and is the flow-control window: past
``window`` unacknowledged messages a push is left in the database (``behind``), and the gateway
reads the next page once acks have drained half the window. ``recalled`` does the same for
revoke frames and the confirmations they call for.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

from tidings.contract import Outbound, Recall
from tidings.gateway import frames, protocol


class Link(Protocol):
    def send(self, data: bytes) -> None:
        """Queue one finished frame; written with the others at the end of this loop turn."""

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then the close frame, and close the connection."""


class Connection:
    __slots__ = (
        "_clock",
        "_link",
        "acked_while_read",
        "behind",
        "catching_up",
        "closed",
        "device_pk",
        "in_flight",
        "last_heard",
        "readers",
        "recalled",
        "waiting_since",
        "window",
    )

    def __init__(self, link: Link, clock: Callable[[], float], window: int) -> None:
        self._link = link
        self._clock = clock
        self.window = window
        self.device_pk = 0
        self.in_flight: set[int] = set()
        # While the gateway reads what this device is owed (``readers`` at work), the ids it
        # acknowledges meanwhile: the read may still see them pending, and they are not sent
        # again (gateway/server.py, ``_send_owed``).
        self.readers = 0
        self.acked_while_read: set[int] = set()
        self.recalled: set[int] = set()
        self.last_heard = self.waiting_since = clock()
        self.behind = False  # a push was left for later: the window was full
        self.catching_up = False  # the gateway is reading the next page for this connection
        self.closed = False

    def push(self, item: Outbound) -> None:
        in_flight = self.in_flight
        delivery_id = item.id  # read once: a named tuple's field is a descriptor call each time
        if delivery_id in in_flight or self.closed or delivery_id in self.acked_while_read:
            return
        if len(in_flight) >= self.window:
            self.behind = True
            return
        if not in_flight:
            self.waiting_since = self._clock()
        in_flight.add(delivery_id)
        self._link.send(frames.text(protocol.message(item)))

    def recall(self, item: Recall) -> None:
        if item.id in self.recalled or self.closed:
            return
        self.recalled.add(item.id)
        self._link.send(frames.text(protocol.revoke(item)))

    def write(self, text: str) -> None:
        if not self.closed:
            self._link.send(frames.text(text))

    def settle(self, ids: tuple[int, ...]) -> set[int]:
        """The acknowledged ids this connection was sent; others are ignored."""
        known = _take(self.in_flight, ids)
        if known:
            self.waiting_since = self._clock()
            if self.readers:
                self.acked_while_read |= known
        return known

    def reading(self) -> None:
        """A read of what this device is owed begins."""
        self.readers += 1

    def read(self) -> None:
        """A read of what this device is owed ended, and what it found was pushed."""
        self.readers -= 1
        if not self.readers:
            self.acked_while_read.clear()

    def withdrawn(self, ids: tuple[int, ...]) -> set[int]:
        """The confirmed revocations this connection was sent; others are ignored."""
        return _take(self.recalled, ids)

    def wants_more(self) -> bool:
        """Messages were left waiting and acks have emptied half the window."""
        return (
            self.behind
            and not self.catching_up
            and not self.closed
            and len(self.in_flight) <= self.window // 2
        )

    def stalled(self, deadline: float) -> bool:
        """Messages are in flight and none was acknowledged since ``deadline``."""
        return bool(self.in_flight) and self.waiting_since < deadline

    def close(self, code: int, reason: str, last_frame: str | None = None) -> None:
        """Close with ``code``; ``last_frame`` (the protocol's error frame) is sent first."""
        if self.closed:
            return
        self.closed = True
        if last_frame is not None:
            self._link.send(frames.text(last_frame))
        self._link.close(code, reason)


def _take(sent: set[int], ids: tuple[int, ...]) -> set[int]:
    """Those of ``ids`` in ``sent``, taken out of it; a set, by two C calls: a list kept in
    the ack's order cost half as much again, for an order nothing reads. Taken out by ``-=``,
    the set's own slot, not ``difference_update``, a method looked up and called with a tuple
    of arguments: 2,250 instructions an ack of one id against 2,600 (callgrind)."""
    known = sent.intersection(ids)
    sent -= known
    return known


class Hub:
    """Connections by device; a device connected twice keeps only its newer connection."""

    def __init__(self) -> None:
        self._connections: dict[int, Connection] = {}
        # The connection of a device, or None: the dict's own method, called once per message
        # sent, without a Python method around it.
        self.get: Callable[[int], Connection | None] = self._connections.get

    def held(self, device_pks: Collection[int]) -> list[int]:
        """Those of ``device_pks`` connected here, in ascending order: the smaller side is
        walked, since a broadcast's page names thousands of devices and few are connected."""
        connections = self._connections
        if len(connections) >= len(device_pks):
            return sorted(pk for pk in device_pks if pk in connections)
        wanted = device_pks if isinstance(device_pks, range | set | frozenset) else set(device_pks)
        return sorted(pk for pk in connections if pk in wanted)

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

    def stalled_since(self, deadline: float) -> list[Connection]:
        return [c for c in self._connections.values() if c.stalled(deadline)]

    def __len__(self) -> int:
        return len(self._connections)
