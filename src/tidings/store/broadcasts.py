"""Queries for resolving broadcasts: claiming one, finding how far it got, and the next page of
the devices it goes to.

A broadcast's progress is its own deliveries: they are made in device pk order, so the highest
device pk among them is where the next batch starts, and a batch and that progress commit
together.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Row, and_, false, func, or_, select

from tidings.store.deliveries import TASK_COLUMNS
from tidings.store.devices import ADDRESS
from tidings.store.tables import deliveries, devices, tasks


def claim(conn: Connection, state: str, action: str, now_ms: int) -> Row | None:
    """The earliest due task of ``action`` in ``state``, with its audience, locked; one another
    process holds is skipped."""
    query = (
        select(*TASK_COLUMNS, tasks.c.audience)
        .where(tasks.c.state == state, tasks.c.action == action, tasks.c.due_at <= now_ms)
        .order_by(tasks.c.due_at, tasks.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return conn.execute(query).first()


def last_device(conn: Connection, task_id: int, message_pk: int) -> int:
    """The highest device pk the task's message was delivered to so far (0 for none)."""
    query = select(func.max(deliveries.c.device_pk)).where(
        deliveries.c.task_id == task_id, deliveries.c.message_pk == message_pk
    )
    return conn.execute(query).scalar() or 0


Window = tuple[int | None, int | None]


def audience_page(
    conn: Connection,
    app_pk: int,
    platform: str,
    after_pk: int,
    limit: int,
    *,
    bound: Window | None,
    unbound: Window | None,
) -> list[Row]:
    """The next ``limit`` devices (address columns) of the app's ``platform`` after ``after_pk``
    that are bound with ``bound_at`` in ``bound``, or unbound since a time in ``unbound`` (when
    they unbound, or registered if they never were bound). None leaves that side out."""
    sides: list[ColumnElement[bool]] = []
    if bound is not None:
        sides.append(and_(devices.c.user_id.is_not(None), *_within(devices.c.bound_at, bound)))
    if unbound is not None:
        since = func.coalesce(devices.c.unbound_at, devices.c.created_at)
        sides.append(and_(devices.c.user_id.is_(None), *_within(since, unbound)))
    query = (
        select(*ADDRESS)
        .where(
            devices.c.app_pk == app_pk,
            devices.c.platform == platform,
            devices.c.pk > after_pk,
            or_(false(), *sides),
        )
        .order_by(devices.c.pk)
        .limit(limit)
    )
    return list(conn.execute(query))


def _within(column: ColumnElement, window: Window) -> list[ColumnElement[bool]]:
    since, until = window
    found: list[ColumnElement[bool]] = []
    if since is not None:
        found.append(column >= since)
    if until is not None:
        found.append(column <= until)
    return found
