"""Queries for accepted pushes: task rows and their message rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from tidings.store.plain import fetch_refusable, mark
from tidings.store.rows import insert_rows, insert_sql
from tidings.store.tables import messages, tasks


def stored_push(conn: Connection, task_id: int) -> tuple[Row, list[Row]] | None:
    """A task's call-wide values and its messages as accepted (in order, revoked ones too):
    what a retried call is compared with."""
    task = conn.execute(
        select(
            tasks.c.action,
            tasks.c.name,
            tasks.c.delivery_type,
            tasks.c.expired_seconds,
            tasks.c.options,
            tasks.c.strategy,
            tasks.c.template_name,
            tasks.c.audience,
        ).where(tasks.c.id == task_id)
    ).first()
    if task is None:
        return None
    query = (
        select(*(messages.c[name] for name in MESSAGE_TEXT))
        .where(messages.c.task_id == task_id)
        .order_by(messages.c.pk)
    )
    return task, list(conn.execute(query))


def insert_task(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a task row (``values`` by column name); its id. Written as text (store/plain.py):
    every accepted call writes one, through the driver (``fetch_refusable``). Its Nones as NULL
    in the text, as store/rows.py writes messages: a bound None costs SQLite's driver a look-up."""
    nulls = tuple(value is None for value in values.values())
    sql = insert_sql(mark(conn), tasks.name, tuple(values), 1, nulls) + " RETURNING id"
    params = tuple(value for value in values.values() if value is not None)
    ((task_id,),) = fetch_refusable(conn, sql, params)
    return task_id


# What a message says, in RenderedMessage's order.
MESSAGE_TEXT = ("msg_key", "target", "title", "content", "uri", "extended_params")


def insert_messages(
    conn: Connection, task_id: int, app_pk: int, texts: Sequence[Sequence[Any]], now_ms: int
) -> None:
    """Insert a task's messages (values in ``MESSAGE_TEXT`` order), many rows per statement,
    what they share bound once a statement on SQLite (store/rows.insert_rows): a row of its
    own for each message cost the writer a tuple and three values bound a message."""
    shared = ("task_id", "app_pk", "created_at")
    insert_rows(
        conn, messages.name, MESSAGE_TEXT, texts, shared=shared, values=(task_id, app_pk, now_ms)
    )
