"""Queries for accepted pushes: task rows and their message rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from tidings.store.tables import messages, tasks


def tasks_of_msg_keys(conn: Connection, app_pk: int, keys: Sequence[str]) -> list[Row]:
    """(msg_key, task_id) for each of ``keys`` the app has used before."""
    query = select(messages.c.msg_key, messages.c.task_id).where(
        messages.c.app_pk == app_pk, messages.c.msg_key.in_(keys)
    )
    return list(conn.execute(query))


def task_digest(conn: Connection, task_id: int) -> str | None:
    return conn.execute(select(tasks.c.digest).where(tasks.c.id == task_id)).scalar()


def count_tasks_in_state(conn: Connection, app_pk: int, state: str) -> int:
    query = (
        select(func.count())
        .select_from(tasks)
        .where(tasks.c.app_pk == app_pk, tasks.c.state == state)
    )
    return conn.execute(query).scalar_one()


def insert_task(conn: Connection, values: dict[str, Any]) -> int:
    return conn.execute(insert(tasks).values(values).returning(tasks.c.id)).scalar_one()


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(messages), rows)
