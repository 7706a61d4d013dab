"""Writing planned deliveries: the rows, their analytics counts, and what to send at once.

Dispatch (ordinary tasks) and broadcast resolution both end here, so every delivery is made,
counted and handed over the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection

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
    made: list[tuple[str | None, int]]  # (channel, status) of each delivery written


def write_planned(
    conn: Connection, planned: Sequence[tuple[TaskRow, PushOptions, Planned]], now_ms: int
) -> Written:
    """Insert the planned deliveries, counted for analytics."""
    rows = [_row(task, plan, now_ms) for task, _, plan in planned]
    counters.count_new(conn, rows, [p.device.platform if p.device else None for _, _, p in planned])
    ids = store.insert_deliveries(conn, rows)
    outbound = [
        build_outbound(
            delivery_id,
            plan.channel or SELFBUILT,
            plan.device,
            task_id=task.id,
            message=plan.message,
            options=options,
            expires_at=task.expires_at,
        )
        for delivery_id, (task, options, plan) in zip(ids, planned, strict=True)
        if plan.device is not None and plan.status == Status.PENDING
    ]
    return Written(outbound, [(row["channel"], row["status"]) for row in rows])


def _row(task: TaskRow, planned: Planned, now_ms: int) -> dict[str, Any]:
    vendor = planned.channel not in (None, SELFBUILT) and planned.status == Status.PENDING
    return {
        "task_id": task.id,
        "message_pk": planned.message.pk,
        "app_pk": task.app_pk,
        "device_pk": planned.device.pk if planned.device else None,
        "user_id": planned.user_id,
        "channel": planned.channel,
        "status": planned.status,
        "reason": None,
        "attempts": 0,
        "next_attempt_at": now_ms + VENDOR_LEASE_MS if vendor else None,
        "created_at": now_ms,
        "expires_at": task.expires_at,
        "updated_at": now_ms,
        "acked_at": None,
        "opened_at": None,
    }
