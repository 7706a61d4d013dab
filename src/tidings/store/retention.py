"""Queries for retention: finding finished work past its keeping time and deleting it a few
rows at a time.

A task is finished when nothing about it can change any more: its state is final (delivered,
finished, skipped, cancelled, revoked), its messages' validity (ExpiredSeconds from when it was
due) has ended, so no delivery of it still waits for a device, and, for a scheduled push, none
of its occurrences is left. Each delivery's validity is its task's (delivery/writing.py), so the
task's own columns say it. A task goes in pieces: its deliveries with their events, then its
messages, then its row; occurrences go before their parent, whose messages they delivered.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, cast, delete, exists, select

from tidings.store.tables import deliveries, delivery_events, messages, push_stats, tasks
from tidings.tasks import CANCELLED, DISPATCHED, FINISHED, REVOKED, SKIPPED

FINAL_STATES = (DISPATCHED, FINISHED, SKIPPED, CANCELLED, REVOKED)


def finished_tasks(conn: Connection, due_before_ms: int, now_ms: int, limit: int) -> list[int]:
    """Up to ``limit`` finished tasks that were due before ``due_before_ms``."""
    occurrence = tasks.alias("occurrence")
    query = (
        select(tasks.c.id)
        .where(
            tasks.c.state.in_(FINAL_STATES),
            tasks.c.due_at < due_before_ms,
            tasks.c.due_at + cast(tasks.c.expired_seconds, BigInteger) * 1000 < now_ms,
            ~exists().where(occurrence.c.parent_id == tasks.c.id),
        )
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def delete_tasks_part(conn: Connection, task_ids: list[int], limit: int) -> int:
    """Delete up to ``limit`` rows of these tasks, in the order that keeps every reference
    whole: deliveries with their events, then messages, then the task rows. The rows deleted;
    0 once the tasks are gone."""
    ids = list(
        conn.execute(
            select(deliveries.c.id).where(deliveries.c.task_id.in_(task_ids)).limit(limit)
        ).scalars()
    )
    if ids:
        conn.execute(delete(delivery_events).where(delivery_events.c.delivery_id.in_(ids)))
        conn.execute(delete(deliveries).where(deliveries.c.id.in_(ids)))
        return len(ids)
    pks = list(
        conn.execute(
            select(messages.c.pk).where(messages.c.task_id.in_(task_ids)).limit(limit)
        ).scalars()
    )
    if pks:
        conn.execute(delete(messages).where(messages.c.pk.in_(pks)))
        return len(pks)
    return conn.execute(delete(tasks).where(tasks.c.id.in_(task_ids))).rowcount


def delete_old_counters(conn: Connection, slot_before_ms: int, limit: int) -> int:
    """Delete those of the ``limit`` oldest analytics counter rows that count deliveries made
    before ``slot_before_ms``; the rows deleted. Counter rows are made as deliveries are, so
    their keys follow time: looking at the first rows only, nothing is scanned when none is old.
    """
    oldest = select(push_stats.c.pk, push_stats.c.slot).order_by(push_stats.c.pk).limit(limit)
    pks = [pk for pk, slot in conn.execute(oldest) if slot < slot_before_ms]
    if not pks:
        return 0
    conn.execute(delete(push_stats).where(push_stats.c.pk.in_(pks)))
    return len(pks)
