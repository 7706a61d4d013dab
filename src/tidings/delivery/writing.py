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


# The columns write_planned fills, the rest starting empty: those a group of a task's
# deliveries to one channel, in one status, counted under one analytics row share (the values
# of its key in ``groups``), and each delivery's own, in the order of their tuples.
SHARED_COLUMNS = (
    "task_id",
    "app_pk",
    "channel",
    "status",
    "next_attempt_at",
    "stat_pk",
    "attempts",
    "created_at",
    "expires_at",
    "updated_at",
)
OWN_COLUMNS = ("id", "message_pk", "device_pk", "push_token", "user_id")


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
    tuples of ``OWN_COLUMNS``, grouped by what they share (``SHARED_COLUMNS``), which is
    decided, written and counted once a group. A dispatch of 100 user targets writes 100 rows,
    and a dict per row, read back by name, cost more than the insert.
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
    # Each delivery's own values, by what it shares with others (SHARED_COLUMNS): a group's
    # values are decided and bound once (store.insert_deliveries), and counted once.
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    outbound: list[Outbound] = []
    add_outbound = outbound.append
    # An (id, stat_pk) for each plan, in order; each task takes as many as it has plans.
    numbered = zip(store.new_delivery_ids(conn, len(stat_pks)), stat_pks, strict=True)
    for task, options, planned in tasks:
        task_id, expires_at = task.id, task.expires_at
        for (message, device, user_id, channel, status), (delivery_id, stat_pk) in zip(
            planned, numbered, strict=False
        ):
            # The device columns read inline, not through a helper: a call cost ~0.1 µs a delivery
            if device is None:
                device_pk = push_token = None
            else:
                device_pk = device.pk
                push_token = device.third_token if device_pk is None else None
            kind = (task_id, channel, status, stat_pk)
            rows = groups.get(kind)
            if rows is None:
                rows = groups[kind] = []
            rows.append((delivery_id, message.pk, device_pk, push_token, user_id))
            if status == _PENDING and device is not None:
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
    of_task = {task.id: task for task, _, _ in tasks}
    shared = []
    made: Counter[tuple[str | None, int]] = Counter()
    for (task_id, channel, status, stat_pk), rows in groups.items():
        task = of_task[task_id]
        next_attempt_at = lease if leased(channel, status) else None
        values = (task_id, task.app_pk, channel, int(status), next_attempt_at, stat_pk)  # ints
        shared.append(((*values, 0, now_ms, task.expires_at, now_ms), rows))
        made[channel, status] += len(rows)
    store.insert_deliveries(conn, SHARED_COLUMNS, OWN_COLUMNS, shared)
    return Written(outbound, made)


def leased(channel: str | None, status: Status) -> bool:
    """A vendor delivery handed over at once: due again when its lease runs out."""
    return status == _PENDING and channel not in (None, SELFBUILT)


# Read once: on Python 3.11 reading an enum member from its class costs ~0.16 µs (through the
# enum's metaclass), a module global ~0.02, and the loop above reads it for every delivery.
_PENDING = Status.PENDING
