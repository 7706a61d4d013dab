"""Writing planned deliveries: the rows, their analytics counts, and what to send at once.

Dispatch (ordinary tasks) and broadcast resolution both end here, so every delivery is made,
counted and handed over the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row

from tidings.analytics import counters
from tidings.contract import SELFBUILT, Outbound, PushOptions, Status
from tidings.delivery.outbound import build_outbound
from tidings.delivery.plan import Planned, TaskRow
from tidings.store import deliveries as store

# A vendor delivery handed to its channel is due again this long after, unless the channel
# reports first: a process that dies mid-send leaves it to another process's retry sweep.
VENDOR_LEASE_MS = 60_000


class Written(NamedTuple):
    outbound: list[Outbound]  # to send now
    # How many deliveries were written, by (channel, status): a broadcast's page counts its
    # thousands of deliveries per channel, with no item for each.
    made: Mapping[tuple[str | None, int], int]
    # Devices with new self-built deliveries no Outbound was built for (a broadcast's page):
    # those connected anywhere are to be sent what they are owed, read from the database.
    owed: Sequence[int] = ()


# The columns write_planned fills, in the order of its row tuples; the rest start empty.
DELIVERY_COLUMNS = (
    "id",
    "task_id",
    "message_pk",
    "app_pk",
    "device_pk",
    "push_token",
    "user_id",
    "channel",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "expires_at",
    "updated_at",
    "stat_pk",
)


class TaskPlan(NamedTuple):
    """A task's planned deliveries, with its options parsed once."""

    task: TaskRow
    options: PushOptions
    planned: Sequence[Planned]


def write_planned(
    conn: Connection,
    tasks: Sequence[TaskPlan],
    now_ms: int,
    facts: Mapping[int, Row] | None = None,
) -> Written:
    """Insert the planned deliveries, counted for analytics (``facts``: each task's
    store.analytics.TASK_FACTS by id, when the caller has them; else they are read).

    The ids are drawn first, so each row and its Outbound are made in one pass: rows are
    tuples in ``DELIVERY_COLUMNS`` order, with what they share per task looked up once. A
    dispatch of 100 user targets writes 100 rows, and a dict per row, read back by name, cost
    more than the insert.
    """
    stat_pks = counters.count_new(
        conn,
        [
            (task.id, plan.channel, plan.device.platform if plan.device else None)
            for task, _, planned in tasks
            for plan in planned
        ],
        now_ms,
        facts,
    )
    lease = now_ms + VENDOR_LEASE_MS
    rows: list[tuple[Any, ...]] = []
    outbound: list[Outbound] = []
    add_row, add_outbound = rows.append, outbound.append
    # An (id, stat_pk) for each plan, in order; each task takes as many as it has plans.
    numbered = zip(store.new_delivery_ids(conn, len(stat_pks)), stat_pks, strict=True)
    for task, options, planned in tasks:
        task_id, app_pk, expires_at = task.id, task.app_pk, task.expires_at
        for (message, device, user_id, channel, status), (delivery_id, stat_pk) in zip(
            planned, numbered, strict=False
        ):
            # The device columns read inline, not through a helper: a call cost ~0.1 µs a delivery
            pending = status == _PENDING
            if device is None:
                device_pk = push_token = None
            else:
                device_pk = device.pk
                push_token = device.third_token if device_pk is None else None
            add_row(
                (
                    delivery_id,
                    task_id,
                    message.pk,
                    app_pk,
                    device_pk,
                    push_token,
                    user_id,
                    channel,
                    int(status),  # store.insert_deliveries takes ints
                    0,
                    lease if leased(channel, status) else None,
                    now_ms,
                    expires_at,
                    now_ms,
                    stat_pk,
                )
            )
            if pending and device is not None:
                add_outbound(
                    build_outbound(
                        delivery_id,
                        channel or SELFBUILT,
                        device,
                        task_id=task_id,
                        message=message,
                        options=options,
                        expires_at=expires_at,
                        request_id=task.request_id,
                    )
                )
    store.insert_deliveries(conn, DELIVERY_COLUMNS, rows)
    made = Counter((plan.channel, plan.status) for _, _, planned in tasks for plan in planned)
    return Written(outbound, made)


def leased(channel: str | None, status: Status) -> bool:
    """A vendor delivery handed over at once: due again when its lease runs out."""
    return status == _PENDING and channel not in (None, SELFBUILT)


# Read once: on Python 3.11 reading an enum member from its class costs ~0.16 µs (through the
# enum's metaclass), a module global ~0.02, and the loop above reads it for every delivery.
_PENDING = Status.PENDING
