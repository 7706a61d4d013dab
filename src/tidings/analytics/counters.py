"""Keeping the analytics counters in step with deliveries, inside the transactions that change
them.

A delivery is counted once under the counter row of its task, the quarter hour it was made in,
its platform and its channel (``stat_pk`` on the delivery points there). Each fact is counted
when it becomes true, and none can become true twice: a delivery is made once (pushed), is
acknowledged by its device once (successful and arrived) or accepted by a vendor once
(successful, then arrived once when the vendor's receipt says so), and is opened once. So the
counters always equal what a count over the deliveries would give, without any query ever
making that count. Expiry and revocation change none of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.analytics.labels import channel_label, platform_label, slot_of
from tidings.store import analytics as store

ACKED = ("successful", "arrived")  # a device acknowledged it
ACCEPTED = ("successful",)  # a vendor gateway took it
ARRIVED = ("arrived",)  # the vendor's receipt says the device has what it took
OPENED = ("opened",)


def count_new(
    conn: Connection,
    rows: Sequence[MutableMapping[str, Any]],
    platforms: Sequence[str | None],
) -> None:
    """Count delivery rows about to be inserted and set their ``stat_pk``.

    ``platforms`` holds each row's device platform (None for a row without a device).
    """
    facts = store.task_facts(conn, {row["task_id"] for row in rows})
    groups: dict[tuple[int, int, str, str], list[MutableMapping[str, Any]]] = {}
    for row, platform in zip(rows, platforms, strict=True):
        task = facts[row["task_id"]]
        label = platform_label(platform, task.delivery_type)
        key = (task.id, slot_of(row["created_at"]), label, channel_label(row["channel"], label))
        groups.setdefault(key, []).append(row)
    for (task_id, slot, platform, channel), members in groups.items():
        task = facts[task_id]
        pk = store.add_pushed(
            conn,
            {
                "app_pk": task.app_pk,
                "task_id": task_id,
                "push_id": task.push_id,
                "action": task.action,
                "slot": slot,
                "platform": platform,
                "channel": channel,
            },
            len(members),
        )
        for row in members:
            row["stat_pk"] = pk


def count(conn: Connection, facts: tuple[str, ...], stat_pks: Iterable[int | None]) -> None:
    """Count deliveries that just gained ``facts`` (ACKED, ACCEPTED or OPENED), given the
    ``stat_pk`` of each."""
    store.add(conn, facts, Counter(pk for pk in stat_pks if pk is not None))
