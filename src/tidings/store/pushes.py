"""Queries for accepted pushes: task rows and their message rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from tidings.store.rows import insert_rows
from tidings.store.tables import messages, tasks


def task_digest(conn: Connection, task_id: int) -> str | None:
    return conn.execute(select(tasks.c.digest).where(tasks.c.id == task_id)).scalar()


def insert_task(conn: Connection, values: dict[str, Any]) -> int:
    return conn.execute(insert(tasks).values(values).returning(tasks.c.id)).scalar_one()


MESSAGE_COLUMNS = (
    "task_id",
    "app_pk",
    "msg_key",
    "target",
    "title",
    "content",
    "uri",
    "extended_params",
    "created_at",
)


def insert_messages(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert message rows (values in ``MESSAGE_COLUMNS`` order), many rows per statement."""
    insert_rows(conn, messages.name, MESSAGE_COLUMNS, rows)
