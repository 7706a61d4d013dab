"""Queries for /metrics: how much work is waiting, and the oldest overdue occurrence.

Each is an index range count (tasks by state and due time, open deliveries by status and
expiry), so a scrape costs what is waiting, not what was ever sent.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, literal, select

from tidings.store.tables import deliveries, tasks


def tasks_due(conn: Connection, state: str, now_ms: int) -> int:
    query = select(func.count()).where(tasks.c.state == state, tasks.c.due_at <= now_ms)
    return conn.execute(query).scalar_one()


def tasks_in(conn: Connection, state: str) -> int:
    return conn.execute(select(func.count()).where(tasks.c.state == state)).scalar_one()


def deliveries_open(conn: Connection, status: int, now_ms: int) -> int:
    """The deliveries in ``status`` (an open one) still valid, counted in the partial index of
    open deliveries (tables.OPEN_BY_EXPIRY): the status is written into the statement, not
    bound, so that a generic plan on PostgreSQL can see the query lies within it."""
    query = select(func.count()).where(
        deliveries.c.status == literal(status, literal_execute=True),
        deliveries.c.expires_at > now_ms,
    )
    return conn.execute(query).scalar_one()


def oldest_due(conn: Connection, state: str) -> int | None:
    return conn.execute(select(func.min(tasks.c.due_at)).where(tasks.c.state == state)).scalar()
