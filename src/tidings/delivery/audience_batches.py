"""Resolving a due broadcast into deliveries, a batch of devices per transaction.

A broadcast may go to millions of devices, so it is never resolved in one transaction or held in
one list: each call of ``resolve_batch`` claims one due broadcast, finds where it stopped (the
highest device pk it has a delivery for), writes deliveries for the next ``batch`` devices of its
audience in pk order, and marks it dispatched once a batch comes back short. A crash loses at most
the batch in flight, which the next call writes again; the unique (task, message, device) key
would refuse a second copy anyway.

Most of a broadcast's devices are offline, so a batch is written inside the database: one
``INSERT ... SELECT`` from the devices table, routed by the routing rule turned into a table
(delivery/routing.py's ``route_table``), instead of reading each device into Python and sending
each row back. Python reads only each device's pk and channel: to count the deliveries for
analytics before they are written, to read back and hand over at once the few a vendor carries,
and to name the devices owed a self-built delivery, so that those connected anywhere are sent it
now (read from the database, like a device that connects later); no send item is built for the
others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, Row

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

BATCH = 1000
NOTHING = Written([], [])


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
    who = store.audience(
        task.app_pk,
        audience.platform,
        bound=audience.bound.bounds(at) if audience.bound else None,
        unbound=audience.unbound.bounds(at) if audience.unbound else None,
    )
    options = PushOptions.from_json(task.options)
    usable = delivery_store.configured_channels(conn, [task.app_pk])[task.app_pk] & set(channels)
    routes = route_table(router_for(options, task.delivery_type, usable), audience.platform)
    channel = store.channel_of_device(routes.default, routes.by_manufacturer)
    after = store.last_device(conn, task.id, message.pk)
    found = store.audience_page(conn, who, channel, after, batch)
    if len(found) < batch:
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
    if not found:
        return Batch(True, NOTHING)
    page = _Page(task, message, audience.platform, who, channel, (after, found[-1].device_pk))
    return Batch(True, page.write(conn, found, now_ms))


class _Page(NamedTuple):
    """One batch of a broadcast: its task and message, its devices' platform, the condition
    naming its audience and the expression routing each device, and its device pk range."""

    task: TaskRow
    message: MessageRow
    platform: str
    who: ColumnElement[bool]
    channel: ColumnElement[str]
    pks: tuple[int, int]  # after the first, up to the second

    def write(self, conn: Connection, found: list[Row], now_ms: int) -> Written:
        """Write the deliveries of the ``found`` devices (pk and channel of each), counted;
        the vendors' to hand over, and the devices owed a self-built one."""
        task = self.task
        by_channel: dict[str, list[int]] = defaultdict(list)
        for device in found:
            by_channel[device.channel].append(device.device_pk)
        status = Status.EXPIRED if task.expires_at <= now_ms else Status.PENDING
        kinds = {(task.id, name, self.platform): len(pks) for name, pks in by_channel.items()}
        stat_pks = counters.count_kinds(conn, kinds, now_ms)
        made: list[tuple[str | None, int]] = []
        for name, pks in by_channel.items():
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
            only = self.channel == name if len(by_channel) > 1 else None
            written = store.write_page(conn, self.who, self.pks, values, only)
            # on PostgreSQL a device may have changed between the page's read and its write
            counters.correct_pushed(conn, stat_pk, written - len(pks))
            made.extend([(name, status)] * written)
        if status != Status.PENDING:
            return Written([], made)
        vendors = sorted(name for name in by_channel if name != SELFBUILT)
        outbound = []
        if vendors:
            rows = store.outbound_of_page(conn, task.id, self.message.pk, self.pks, vendors)
            outbound = outbound_from_rows(rows)
        return Written(outbound, made, by_channel.get(SELFBUILT, []))
