"""Resolving a due broadcast into deliveries, a batch of devices per transaction.

A broadcast may go to millions of devices, so it is never resolved in one transaction or held in
one list: each call of ``resolve_batch`` claims one due broadcast, finds where it stopped (the
highest device pk it has a delivery for), writes deliveries for the next ``batch`` devices of its
audience in pk order, and marks it dispatched once a batch comes back short. A crash loses at most
the batch in flight, which the next call writes again; the unique (task, message, device) key
would refuse a second copy anyway.

Most of a broadcast's devices are offline, so a batch is written inside the database: one
``INSERT ... SELECT`` from the devices table per channel, routed by the routing rule turned into
a table (delivery/routing.py's ``route_table``), instead of reading each device into Python and
sending each row back. Python learns only where the page starts (the next device past the
highest one delivered to), how many devices of the page go over each channel and the highest pk
(to count them for analytics before they are written, and to know where the page ends); an
audience that goes over one channel only (no vendor routes) skips that read: its page is written
by one ``INSERT ... SELECT ... LIMIT``, counted as full and corrected when short. It reads back
the few deliveries a vendor carries, to hand them over at once, and names the devices owed a
self-built one (the page's pk range, or their pks where the audience is spread thin), so that
those connected anywhere are sent what they are owed, read from the database like a device that
connects later. No send item is built for an offline device.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection

from tidings.analytics import counters
from tidings.contract import SELFBUILT, PushOptions, Status
from tidings.delivery.audience import Audience
from tidings.delivery.outbound import outbound_from_rows
from tidings.delivery.plan import TaskRow
from tidings.delivery.routing import route_table, router_for
from tidings.delivery.writing import VENDOR_LEASE_MS, Written, leased
from tidings.store import broadcasts as store
from tidings.store import deliveries as delivery_store
from tidings.tasks import ACCEPTED, BROADCAST, DISPATCHED

# Devices per page: each page pays a claim, its counter row, a few small reads and a commit's
# fsync whatever its size, about as much as writing 1,000 rows; at 5,000 the server's CPU per
# delivery is within a fifth of a bare INSERT ... SELECT's (bench/broadcast.py), while a page
# holds the database writer, and the other due tasks, for 10-25 ms on this machine class.
BATCH = 5000
NOTHING = Written([], {})
# A page whose pk range is at most this many times its self-built deliveries tells the whole
# range (a device given nothing new finds nothing pending); a sparser one reads its devices.
DENSE = 2


class Batch(NamedTuple):
    claimed: bool  # a broadcast was due (call again: there may be more)
    written: Written


def resolve_batch(
    conn: Connection, now_ms: int, channels: Collection[str], batch: int = BATCH
) -> Batch:
    row = store.claim(conn, ACCEPTED, BROADCAST, now_ms)
    if row is None:
        return Batch(False, NOTHING)
    (task,) = TaskRow.from_rows([row])
    if row.message_pk is None:  # its message was revoked before any device got it
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
        return Batch(True, NOTHING)
    audience = Audience.from_json(row.audience)
    at = task.valid_from
    options = PushOptions.from_json(task.options)
    usable = delivery_store.configured_channels(conn, [task.app_pk])[task.app_pk] & set(channels)
    routes = route_table(router_for(options, task.delivery_type, usable), audience.platform)
    reach = store.Reach(
        task.app_pk,
        audience.platform,
        audience.bound.bounds(at) if audience.bound else None,
        audience.unbound.bounds(at) if audience.unbound else None,
        routes.default,
        tuple(sorted(routes.by_manufacturer.items())),
    )
    first = store.next_device(conn, reach, task.id, row.message_pk)
    if first is None:
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
        return Batch(True, NOTHING)
    page = _Page(task, row, row.message_pk, audience.platform, reach, first - 1)
    if reach.routes:
        return Batch(True, page.write_routed(conn, batch, now_ms))
    return Batch(True, page.write_one_channel(conn, batch, now_ms))


class _Page(NamedTuple):
    """One batch of a broadcast: its task (and its row as claimed, which holds the facts its
    counters name), its message's pk, devices' platform, whom it reaches over which channel, and the
    device pk it starts after."""

    task: TaskRow
    claimed: store.ClaimedBroadcast
    message_pk: int
    platform: str
    reach: store.Reach
    after: int

    def write_routed(self, conn: Connection, batch: int, now_ms: int) -> Written:
        """The next ``batch`` devices, over the channels the routing table gives them: how many
        go over each and where the page ends are read first, then each channel's share is
        counted and written."""
        page = store.audience_page(conn, self.reach, self.after, batch)
        sizes = {part.channel: part.devices for part in page}
        if sum(sizes.values()) < batch:
            delivery_store.set_task_state(conn, [self.task.id], DISPATCHED)
        if not page:  # on PostgreSQL the devices past ``after`` may have gone meanwhile
            return NOTHING
        pks = (self.after, max(part.last_pk for part in page))
        several = len(sizes) > 1  # then each channel's statement leaves the others' devices

        def write(values: dict[str, Any]) -> int:
            only = values["channel"] if several else None
            return store.write_page(conn, self.reach, pks, values, only)

        written = self._write(conn, sizes, write, now_ms)
        return self._hand_over(conn, written, pks, now_ms)

    def write_one_channel(self, conn: Connection, batch: int, now_ms: int) -> Written:
        """The next ``batch`` devices, every one over the default channel: the page is written
        by one statement with no read of it before, counted as a full page beforehand (each
        delivery names its counter row) and corrected by what a last page lacks."""
        first = self.after + 1

        def write(values: dict[str, Any]) -> int:
            return store.write_next(conn, self.reach, first, batch, values)

        written = self._write(conn, {self.reach.default: batch}, write, now_ms)
        if sum(written.values()) < batch:
            delivery_store.set_task_state(conn, [self.task.id], DISPATCHED)
        last = store.last_device(conn, self.task.id, self.message_pk)
        return self._hand_over(conn, written, (self.after, last), now_ms)

    def _status(self, now_ms: int) -> Status:
        return Status.EXPIRED if self.task.expires_at <= now_ms else Status.PENDING

    def _write(
        self,
        conn: Connection,
        sizes: dict[str, int],
        write: Callable[[dict[str, Any]], int],
        now_ms: int,
    ) -> dict[str, int]:
        """Count ``sizes[channel]`` deliveries over each channel, write them with ``write``
        (given each channel's column values; it answers how many it wrote) and correct the
        counts by any difference; how many were written over each channel."""
        task = self.task
        status = self._status(now_ms)
        kinds = {(task.id, name, self.platform): size for name, size in sizes.items()}
        stat_pks = counters.count_kinds(conn, kinds, now_ms, {task.id: self.claimed})
        written: dict[str, int] = {}
        for name, size in sizes.items():
            stat_pk = stat_pks[task.id, name, self.platform]
            written[name] = write(
                {
                    "task_id": task.id,
                    "message_pk": self.message_pk,
                    "channel": name,
                    "status": int(status),
                    "attempts": 0,
                    "next_attempt_at": now_ms + VENDOR_LEASE_MS if leased(name, status) else None,
                    "created_at": now_ms,
                    "expires_at": task.expires_at,
                    "updated_at": now_ms,
                    "stat_pk": stat_pk,
                }
            )
            # a last page counted as full is short; on PostgreSQL a device may have changed
            # between a page's read and its write
            counters.correct_pushed(conn, stat_pk, written[name] - size)
        return written

    def _hand_over(
        self, conn: Connection, written: dict[str, int], pks: store.Pks, now_ms: int
    ) -> Written:
        """What the page's deliveries (``written[channel]`` over each, to devices with a pk in
        ``pks``) give dispatch: the vendors' to hand over, and the devices that may be owed a
        self-built one."""
        status = self._status(now_ms)
        made = {(name, status): count for name, count in written.items() if count}
        if status != Status.PENDING:
            return Written([], made)
        vendors = sorted(name for name, count in written.items() if count and name != SELFBUILT)
        outbound = []
        if vendors:
            rows = store.outbound_of_page(conn, self.task.id, self.message_pk, pks, vendors)
            outbound = outbound_from_rows(rows)
        return Written(outbound, made, self._owed(conn, pks, written.get(SELFBUILT, 0)))

    def _owed(self, conn: Connection, pks: store.Pks, size: int) -> Sequence[int]:
        """The devices to tell of their new self-built deliveries: every pk of the page's range
        when the audience fills most of it (checking a pk that got none costs less than reading
        the ones that did), else the pks of those that got one."""
        after, last = pks
        if size == 0:
            return ()
        if last - after <= DENSE * size:
            return range(after + 1, last + 1)
        return store.device_pks(conn, self.reach, pks, SELFBUILT)
