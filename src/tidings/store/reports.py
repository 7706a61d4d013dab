"""Queries for the reports over pushes the console's task and analytics pages show
(analytics/reports.py): pushes with their delivery counts by status, and their messages."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Row, func, select

from tidings.store.tables import deliveries, messages, tasks

# A push is a task without a
# parent; a scheduled push's deliveries hang off its occurrences, so they are counted by push.
_PUSH_OF = func.coalesce(tasks.c.parent_id, tasks.c.id)


def push_page(conn: Connection, app_pk: int, offset: int, limit: int) -> tuple[list[Row], int]:
    """One page of the app's pushes, newest first, and how many there are."""
    where = (tasks.c.app_pk == app_pk, tasks.c.parent_id.is_(None))
    rows = conn.execute(
        select(tasks).where(*where).order_by(tasks.c.id.desc()).offset(offset).limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(tasks).where(*where)).scalar_one()
    return list(rows), total


def find_push(conn: Connection, app_pk: int, task_id: int) -> Row | None:
    query = select(tasks).where(
        tasks.c.app_pk == app_pk, tasks.c.id == task_id, tasks.c.parent_id.is_(None)
    )
    return conn.execute(query).first()


def delivery_counts(conn: Connection, push_ids: Collection[int]) -> list[Row]:
    """(push_id, status, deliveries, opened) for each status the pushes' deliveries are in."""
    push = _PUSH_OF.label("push_id")
    query = (
        select(
            push,
            deliveries.c.status,
            func.count().label("deliveries"),
            func.count(deliveries.c.opened_at).label("opened"),
        )
        .join_from(deliveries, tasks, deliveries.c.task_id == tasks.c.id)
        .where(_PUSH_OF.in_(list(push_ids)))
        .group_by(push, deliveries.c.status)
    )
    return list(conn.execute(query))


def push_messages(conn: Connection, task_id: int, offset: int, limit: int) -> tuple[list[Row], int]:
    where = messages.c.task_id == task_id
    rows = conn.execute(
        select(messages).where(where).order_by(messages.c.pk).offset(offset).limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(messages).where(where)).scalar_one()
    return list(rows), total
