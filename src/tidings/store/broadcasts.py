"""Queries for resolving broadcasts: claiming one, finding how far it got, the next page of the
devices it goes to, and writing that page's deliveries from the devices table.

A broadcast's progress is its own deliveries: they are made in device pk order, so the highest
device pk among them is where the next batch starts, and a batch and that progress commit
together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    String,
    and_,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)

from tidings.store.deliveries import OUTBOUND, TASK_COLUMNS
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


def audience(
    app_pk: int, platform: str, *, bound: Window | None, unbound: Window | None
) -> ColumnElement[bool]:
    """The devices of the app's ``platform`` that are bound with ``bound_at`` in ``bound``, or
    unbound since a time in ``unbound`` (when they unbound, or registered if they never were
    bound), as a condition on devices. None leaves that side out."""
    sides: list[ColumnElement[bool]] = []
    if bound is not None:
        sides.append(and_(devices.c.user_id.is_not(None), *_within(devices.c.bound_at, bound)))
    if unbound is not None:
        since = func.coalesce(devices.c.unbound_at, devices.c.created_at)
        sides.append(and_(devices.c.user_id.is_(None), *_within(since, unbound)))
    return and_(devices.c.app_pk == app_pk, devices.c.platform == platform, or_(false(), *sides))


def channel_of_device(default: str, by_manufacturer: Mapping[str, str]) -> ColumnElement[str]:
    """Each device's channel as an expression: ``by_manufacturer``'s for a device that holds a
    vendor token and has that manufacturer, ``default`` for any other (a routing table,
    delivery/routing.py's ``route_table``)."""
    if not by_manufacturer:
        return literal(default, String)
    named: dict[str, list[str]] = defaultdict(list)
    for manufacturer, channel in sorted(by_manufacturer.items()):
        named[channel].append(manufacturer)
    holds_token = and_(devices.c.third_token.is_not(None), devices.c.third_token != "")
    return case(
        *(
            (and_(holds_token, devices.c.manufacturer.in_(labels)), channel)
            for channel, labels in named.items()
        ),
        else_=literal(default, String),
    )


def audience_page(
    conn: Connection,
    who: ColumnElement[bool],
    channel: ColumnElement[str],
    after_pk: int,
    limit: int,
) -> list[Row]:
    """The next ``limit`` devices ``who`` names after ``after_pk``, in pk order: each one's pk
    (``device_pk``) and ``channel``, nothing else (the deliveries are written from the devices
    table, not from these rows)."""
    query = (
        select(devices.c.pk.label("device_pk"), channel.label("channel"))
        .where(who, devices.c.pk > after_pk)
        .order_by(devices.c.pk)
        .limit(limit)
    )
    return list(conn.execute(query))


def write_page(
    conn: Connection,
    who: ColumnElement[bool],
    pks: tuple[int, int],
    values: Mapping[str, Any],
    only: ColumnElement[bool] | None = None,
) -> int:
    """A delivery to each device ``who`` names with a pk in ``pks`` (after the first, up to the
    second), written inside the database in one INSERT ... SELECT: ``app_pk`` and
    ``device_pk`` from the device, every other column from ``values``; ``only`` narrows the
    devices further (one channel's). How many were written."""
    after_pk, last_pk = pks
    names = list(values)
    query = select(
        devices.c.app_pk,
        devices.c.pk,
        *(literal(values[name], deliveries.c[name].type) for name in names),
    ).where(who, devices.c.pk > after_pk, devices.c.pk <= last_pk)
    if only is not None:
        query = query.where(only)
    statement = insert(deliveries).from_select(["app_pk", "device_pk", *names], query)
    # an INSERT's rowcount is kept only when asked for (SQLAlchemy leaves it -1 on psycopg)
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def outbound_of_page(
    conn: Connection, task_id: int, message_pk: int, pks: tuple[int, int], channels: list[str]
) -> list[Row]:
    """The OUTBOUND rows of the message's deliveries over ``channels`` to devices with a pk in
    ``pks`` (after the first, up to the second): a page just written, to hand to vendors."""
    after_pk, last_pk = pks
    query = OUTBOUND.where(
        deliveries.c.task_id == task_id,
        deliveries.c.message_pk == message_pk,
        deliveries.c.device_pk > after_pk,
        deliveries.c.device_pk <= last_pk,
        deliveries.c.channel.in_(channels),
    ).order_by(deliveries.c.id)
    return list(conn.execute(query))


def _within(column: ColumnElement, window: Window) -> list[ColumnElement[bool]]:
    since, until = window
    found: list[ColumnElement[bool]] = []
    if since is not None:
        found.append(column >= since)
    if until is not None:
        found.append(column <= until)
    return found
