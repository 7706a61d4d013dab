"""Queries for accepted pushes: task rows and their message rows."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from tidings.store.tables import messages, tasks


def tasks_of_msg_keys(conn: Connection, app_pk: int, keys: Sequence[str]) -> list[Row]:
    """(msg_key, task_id) for each of ``keys`` the app has used before."""
    query = select(messages.c.msg_key, messages.c.task_id).where(
        messages.c.app_pk == app_pk, messages.c.msg_key.in_(keys)
    )
    return list(conn.execute(query))


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
_ROWS_PER_STATEMENT = 500


def insert_messages(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert message rows (values in ``MESSAGE_COLUMNS`` order), many rows per statement.

    ``executemany`` steps SQLite once per row and the driver lets go of the GIL at every step;
    with the event loop busy in the other thread, each hand-back costs ~0.2 ms, which made a
    100-target call spend 20 ms waiting. One multi-row VALUES statement steps once.
    """
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        sql = _multi_row_insert(conn.dialect.paramstyle, len(chunk))
        conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))


@functools.lru_cache(maxsize=64)
def _multi_row_insert(paramstyle: str, count: int) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(MESSAGE_COLUMNS)) + ")"
    return f"INSERT INTO {messages.name} ({', '.join(MESSAGE_COLUMNS)}) VALUES " + ", ".join(
        [group] * count
    )
