"""Queries for scheduled and loop pushes: parents, their occurrence rows, firing and listing.

On PostgreSQL several processes fire occurrences at once, so the queries lock rows in one order:
occurrences first (claimed with ``SKIP LOCKED``, so a firing process never waits for another),
parents after, in id order. Nothing that holds a parent waits for an occurrence, so no two
transactions can wait for each other. SQLite runs one writer at a time and ignores the locks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Row, and_, func, insert, or_, select, update

from tidings.store.tables import apps, messages, tasks

_OCCURRENCE = select(
    tasks.c.id,
    tasks.c.parent_id,
    tasks.c.app_pk,
    tasks.c.action,
    tasks.c.name,
    tasks.c.delivery_type,
    tasks.c.strategy_type,
    tasks.c.state,
    tasks.c.expired_seconds,
    tasks.c.created_at,
    tasks.c.due_at,
)


def lock_app(conn: Connection, app_pk: int) -> None:
    """Serialise scheduled pushes of one app, so the count of waiting ones stays exact.

    ``FOR NO KEY UPDATE`` does not block the key-share locks that inserting tasks takes on the
    app row, so immediate pushes are not held up.
    """
    conn.execute(select(apps.c.pk).where(apps.c.pk == app_pk).with_for_update(key_share=True))


def count_parents(conn: Connection, app_pk: int, state: str) -> int:
    query = (
        select(func.count())
        .select_from(tasks)
        .where(tasks.c.app_pk == app_pk, tasks.c.parent_id.is_(None), tasks.c.state == state)
    )
    return conn.execute(query).scalar_one()


def insert_children(conn: Connection, values: dict[str, Any], due_times: Sequence[int]) -> None:
    """One row per due time, each a copy of ``values`` with its own ``due_at``."""
    conn.execute(insert(tasks), [{**values, "due_at": due_at} for due_at in due_times])


def next_due(conn: Connection, state: str) -> int | None:
    return conn.execute(select(func.min(tasks.c.due_at)).where(tasks.c.state == state)).scalar()


def claim_due(conn: Connection, state: str, now_ms: int, limit: int) -> list[Row]:
    """Rows in ``state`` due by ``now_ms``, earliest first, locked; rows others hold are skipped."""
    query = (
        select(
            tasks.c.id,
            tasks.c.parent_id,
            tasks.c.due_at,
            tasks.c.created_at,
            tasks.c.expired_seconds,
        )
        .where(tasks.c.state == state, tasks.c.due_at <= now_ms)
        .order_by(tasks.c.due_at, tasks.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(conn.execute(query))


def move(conn: Connection, ids: Collection[int], old: str, new: str) -> list[int]:
    """Move the rows among ``ids`` that are in state ``old`` to ``new``; the ids it moved."""
    return _move(conn, tasks.c.id, ids, old, new)


def move_children(conn: Connection, parent_ids: Collection[int], old: str, new: str) -> list[int]:
    """Move every child of ``parent_ids`` in state ``old`` to ``new``; the ids it moved."""
    return _move(conn, tasks.c.parent_id, parent_ids, old, new)


def _move(
    conn: Connection, column: Column, values: Collection[int], old: str, new: str
) -> list[int]:
    if not values:
        return []
    query = (
        update(tasks)
        .where(column.in_(list(values)), tasks.c.state == old)
        .values(state=new)
        .returning(tasks.c.id)
    )
    return sorted(conn.execute(query).scalars())


def lock_tasks(conn: Connection, ids: Collection[int]) -> dict[int, str]:
    """Lock the tasks, in id order, and return their states by id."""
    if not ids:
        return {}
    query = (
        select(tasks.c.id, tasks.c.state)
        .where(tasks.c.id.in_(list(ids)))
        .order_by(tasks.c.id)
        .with_for_update()
    )
    return {row.id: row.state for row in conn.execute(query)}


def first_due_child(conn: Connection, parent_id: int, state: str) -> int | None:
    query = select(func.min(tasks.c.due_at)).where(
        tasks.c.parent_id == parent_id, tasks.c.state == state
    )
    return conn.execute(query).scalar()


def update_task(conn: Connection, task_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(tasks).where(tasks.c.id == task_id).values(values))


def find(conn: Connection, ids: Collection[int], app_pk: int | None) -> list[Row]:
    """The tasks among ``ids`` (of the app, when given), with what cancelling needs."""
    query = _OCCURRENCE.where(tasks.c.id.in_(list(ids)))
    if app_pk is not None:
        query = query.where(tasks.c.app_pk == app_pk)
    return list(conn.execute(query))


def page(
    conn: Connection,
    app_pk: int,
    *,
    since: int | None,
    until: int | None,
    actions: Collection[str] | None,
    task_id: int | None,
    state: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """Occurrences of the app by due time, filtered, one page of them, and how many match."""
    conditions = [tasks.c.app_pk == app_pk, tasks.c.parent_id.is_not(None)]
    if since is not None:
        conditions.append(tasks.c.due_at >= since)
    if until is not None:
        conditions.append(tasks.c.due_at <= until)
    if actions is not None:
        conditions.append(tasks.c.action.in_(list(actions)))
    if task_id is not None:
        conditions.append(or_(tasks.c.id == task_id, tasks.c.parent_id == task_id))
    if state is not None:
        conditions.append(tasks.c.state == state)
    where = and_(*conditions)
    rows = conn.execute(
        _OCCURRENCE.where(where).order_by(tasks.c.due_at, tasks.c.id).offset(offset).limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(tasks).where(where)).scalar_one()
    return list(rows), total


def first_messages(conn: Connection, task_ids: Collection[int]) -> dict[int, Row]:
    """The first message (title and content) of each task, by task id."""
    if not task_ids:
        return {}
    first = (
        select(func.min(messages.c.pk))
        .where(messages.c.task_id.in_(list(task_ids)))
        .group_by(messages.c.task_id)
    )
    rows = conn.execute(
        select(messages.c.task_id, messages.c.title, messages.c.content).where(
            messages.c.pk.in_(first)
        )
    )
    return {row.task_id: row for row in rows}
