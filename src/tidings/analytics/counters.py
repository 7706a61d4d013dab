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
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection

from tidings.analytics.labels import channel_label, platform_label, slot_of
from tidings.store import analytics as store

ACKED = ("successful", "arrived")  # a device acknowledged it
ACCEPTED = ("successful",)  # a vendor gateway took it
ARRIVED = ("arrived",)  # the vendor's receipt says the device has what it took
OPENED = ("opened",)


def count_new(
    conn: Connection, made: Sequence[tuple[int, str | None, str | None]], now_ms: int
) -> list[int]:
    """Count deliveries about to be made at ``now_ms``, each given as (task id, channel, device
    platform or None for a row without a device); the ``stat_pk`` of each, in order."""
    facts = store.task_facts(conn, {task_id for task_id, _, _ in made})
    slot = slot_of(now_ms)
    group_of: dict[tuple[int, str | None, str | None], tuple[int, str, str]] = {}
    sizes: Counter[tuple[int, str, str]] = Counter()
    keys = []
    for delivery in made:
        key = group_of.get(delivery)
        if key is None:
            task_id, channel, platform = delivery
            label = platform_label(platform, facts[task_id].delivery_type)
            key = group_of[delivery] = (task_id, label, channel_label(channel, label))
        sizes[key] += 1
        keys.append(key)
    pks: dict[tuple[int, str, str], int] = {}
    for key, size in sizes.items():
        task_id, platform, channel = key
        task = facts[task_id]
        pks[key] = store.add_pushed(
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
            size,
        )
    return [pks[key] for key in keys]


def count(conn: Connection, facts: tuple[str, ...], stat_pks: Iterable[int | None]) -> None:
    """Count deliveries that just gained ``facts`` (ACKED, ACCEPTED or OPENED), given the
    ``stat_pk`` of each."""
    store.add(conn, facts, Counter(pk for pk in stat_pks if pk is not None))
