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
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, Row

from tidings.analytics.labels import channel_label, platform_label, slot_of
from tidings.store import analytics as store

ACKED = ("successful", "arrived")  # a device acknowledged it
ACCEPTED = ("successful",)  # a vendor gateway took it
ARRIVED = ("arrived",)  # the vendor's receipt says the device has what it took
OPENED = ("opened",)


def count_new(
    conn: Connection,
    made: Sequence[tuple[int, str | None, str | None]],
    now_ms: int,
    facts: Mapping[int, Row] | None = None,
) -> list[int]:
    """Count deliveries about to be made at ``now_ms``, each given as (task id, channel, device
    platform or None for a row without a device); the ``stat_pk`` of each, in order.
    ``facts``: as count_kinds takes them."""
    pks = count_kinds(conn, Counter(made), now_ms, facts)
    return [pks[delivery] for delivery in made]


def count_kinds(
    conn: Connection,
    sizes: Mapping[tuple[int, str | None, str | None], int],
    now_ms: int,
    facts: Mapping[int, Row] | None = None,
) -> dict[tuple[int, str | None, str | None], int]:
    """Count deliveries about to be made at ``now_ms``: ``sizes[(task id, channel, platform)]``
    of each kind (a broadcast's page knows its sizes without a tuple per delivery); the
    ``stat_pk`` of each kind. ``facts``: each task's store.analytics.TASK_FACTS when the caller
    has them already (dispatch's and a broadcast's claims read them), else they are read."""
    if facts is None:
        facts = store.task_facts(conn, {task_id for task_id, _, _ in sizes})
    group_of: dict[tuple[int, str | None, str | None], tuple[int, str, str]] = {}
    totals: Counter[tuple[int, str, str]] = Counter()
    for kind, size in sizes.items():
        task_id, channel, platform = kind
        label = platform_label(platform, facts[task_id].delivery_type)
        key = group_of[kind] = (task_id, label, channel_label(channel, label))
        totals[key] += size
    slot = slot_of(now_ms)
    rows = []
    # Sorted: PostgreSQL locks the rows in this order, the same in every transaction.
    for key, size in sorted(totals.items()):
        task_id, platform, channel = key
        task = facts[task_id]
        rows.append(
            (task.app_pk, task_id, task.push_id, task.action, slot, platform, channel, size)
        )
    pks = store.add_pushed(conn, rows)
    return {kind: pks[key] for kind, key in group_of.items()}


def correct_pushed(conn: Connection, stat_pk: int, difference: int) -> None:
    """Counted ``difference`` deliveries too few (negative: too many) under ``stat_pk``: the
    rows written were not the ones counted beforehand."""
    if difference:
        store.add(conn, ("pushed",), {stat_pk: difference})


def count(conn: Connection, facts: tuple[str, ...], stat_pks: Iterable[int | None]) -> None:
    """Count deliveries that just gained ``facts`` (ACKED, ACCEPTED or OPENED), given the
    ``stat_pk`` of each."""
    count_each(conn, facts, Counter(stat_pks))


def count_each(conn: Connection, facts: tuple[str, ...], counts: Mapping[int | None, int]) -> None:
    """Count deliveries that just gained ``facts``, given how many there are under each
    ``stat_pk`` (a batch of acks has them counted by SQL: store.deliveries.settle); those
    without a counter row (None) count nowhere."""
    store.add(conn, facts, {pk: n for pk, n in counts.items() if pk is not None and n})
