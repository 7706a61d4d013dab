"""Resolving a due broadcast into deliveries, a batch of devices per transaction.

A broadcast may go to millions of devices, so it is never resolved in one transaction or held in
one list: each call of ``resolve_batch`` claims one due broadcast, finds where it stopped (the
highest device pk it has a delivery for), writes deliveries for the next ``batch`` devices of its
audience in pk order, and marks it dispatched once a batch comes back short. A crash loses at most
the batch in flight, which the next call writes again; the unique (task, message, device) key
would refuse a second copy anyway.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import Connection

from tidings.contract import DeviceAddress, PushOptions, Status
from tidings.delivery.audience import Audience
from tidings.delivery.plan import MessageRow, Planned, TaskRow
from tidings.delivery.routing import router_for
from tidings.delivery.writing import Written, write_planned
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
    found = store.audience_page(
        conn,
        task.app_pk,
        audience.platform,
        store.last_device(conn, task.id, message.pk),
        batch,
        bound=audience.bound.bounds(at) if audience.bound else None,
        unbound=audience.unbound.bounds(at) if audience.unbound else None,
    )
    if len(found) < batch:
        delivery_store.set_task_state(conn, [task.id], DISPATCHED)
    if not found:
        return Batch(True, NOTHING)
    options = PushOptions.from_json(task.options)
    usable = delivery_store.configured_channels(conn, [task.app_pk])[task.app_pk] & set(channels)
    router = router_for(options, task.delivery_type, usable)
    status = Status.EXPIRED if task.expires_at <= now_ms else Status.PENDING
    planned = []
    for device in DeviceAddress.from_rows(found):
        planned.append((task, options, Planned(message, device, None, router(device), status)))
    return Batch(True, write_planned(conn, planned, now_ms))
