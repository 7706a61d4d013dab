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
sending each row back. Python learns only how many devices of the page go over each channel and
the highest pk (to count them for analytics before they are written, and to know where the page
ends); it reads back the few deliveries a vendor carries, to hand them over at once, and names the
devices owed a self-built one (the page's pk range, or their pks where the audience is spread
thin), so that those connected anywhere are sent what they are owed, read from the database like
a device that connects later. No send item is built for an offline device.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from sqlalchemy import Connection, Row

from tidings.analytics import counters
from tidings.contract import SELFBUILT, PushOptions, Status
from tidings.delivery.audience import Audience
from tidings.delivery.outbound import outbound_from_rows
from tidings.delivery.plan import MessageRow, TaskRow
from tidings.delivery.routing import route_table, router_for
from tidings.delivery.writing import VENDOR_LEASE_MS, Written, leased
from tidings.store import broadcasts as store
from tidings.store import deliveries as delivery_store
from tidings.tasks import ACCEPTED, BROADCAST, DISPATCHED

# Devices per page: each page pays a claim, its counter row, a few small reads and a commit's
# fsync, as much as writing ~1,000 rows; at 2,000 that is a third of the page instead of half,
# while a page still holds the database writer (and the other due tasks) for only milliseconds.
BATCH = 2000
NOTHING = Written([], [])
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
    messages = MessageRow.from_rows(delivery_store.messages_of(conn, [task.messages_of]))
    if not messages:  # its message was revoked before any device got it
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
        return Batch(True, NOTHING)
    message = messages[0]
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
    after = store.last_device(conn, task.id, message.pk)
    page = store.audience_page(conn, reach, after, batch)
    sizes = {part.channel: part.devices for part in page}
    if sum(sizes.values()) < batch:
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
    if not page:
        return Batch(True, NOTHING)
    pks = (after, max(part.last_pk for part in page))
    found = _Page(task, row, message, audience.platform, reach, pks)
    return Batch(True, found.write(conn, sizes, now_ms))


class _Page(NamedTuple):
    """One batch of a broadcast: its task (and its row as claimed, which holds the facts its
    counters name), message, devices' platform, whom it reaches over which channel, and its
    device pk range."""

    task: TaskRow
    claimed: Row
    message: MessageRow
    platform: str
    reach: store.Reach
    pks: store.Pks

    def write(self, conn: Connection, sizes: dict[str, int], now_ms: int) -> Written:
        """Write the page's deliveries, ``sizes[channel]`` over each channel, counted; the
        vendors' to hand over, and the devices that may be owed a self-built one."""
        task = self.task
        status = Status.EXPIRED if task.expires_at <= now_ms else Status.PENDING
        kinds = {(task.id, name, self.platform): size for name, size in sizes.items()}
        stat_pks = counters.count_kinds(conn, kinds, now_ms, {task.id: self.claimed})
        made: list[tuple[str | None, int]] = []
        for name, size in sizes.items():
            stat_pk = stat_pks[task.id, name, self.platform]
            values = {
                "task_id": task.id,
                "message_pk": self.message.pk,
                "channel": name,
                "status": status,
                "attempts": 0,
                "next_attempt_at": now_ms + VENDOR_LEASE_MS if leased(name, status) else None,
                "created_at": now_ms,
                "expires_at": task.expires_at,
                "updated_at": now_ms,
                "stat_pk": stat_pk,
            }
            only = name if len(sizes) > 1 else None  # the others of the page go elsewhere
            written = store.write_page(conn, self.reach, self.pks, values, only)
            # on PostgreSQL a device may have changed between the page's read and its write
            counters.correct_pushed(conn, stat_pk, written - size)
            made.extend([(name, status)] * written)
        if status != Status.PENDING:
            return Written([], made)
        vendors = sorted(name for name in sizes if name != SELFBUILT)
        outbound = []
        if vendors:
            rows = store.outbound_of_page(conn, task.id, self.message.pk, self.pks, vendors)
            outbound = outbound_from_rows(rows)
        return Written(outbound, made, self._owed(conn, sizes.get(SELFBUILT, 0)))

    def _owed(self, conn: Connection, size: int) -> Sequence[int]:
        """The devices to tell of their new self-built deliveries: every pk of the page's range
        when the audience fills most of it (checking a pk that got none costs less than reading
        the ones that did), else the pks of those that got one."""
        after, last = self.pks
        if size == 0:
            return ()
        if last - after <= DENSE * size:
            return range(after + 1, last + 1)
        return store.device_pks(conn, self.reach, self.pks, SELFBUILT)
