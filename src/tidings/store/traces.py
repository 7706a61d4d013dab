"""Queries for message traces: a message by msgKey with its task, its deliveries with their
devices, and their recorded events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Row, func, select

from tidings.store.chunks import chunks
from tidings.store.tables import (
    deliveries,
    delivery_events,
    devices,
    messages,
    tasks,
    webhook_endpoints,
    webhook_outbox,
)


def message(conn: Connection, sent: ColumnElement[bool]) -> Row | None:
    """The newest message of those ``sent`` finds (msg_keys.sent_under: the ones an app sent
    under a msgKey), with the columns of its task a trace shows."""
    query = (
        select(
            messages,
            tasks.c.action,
            tasks.c.name.label("task_name"),
            tasks.c.delivery_type,
            tasks.c.strategy_type,
            tasks.c.state,
            tasks.c.due_at,
        )
        .join_from(messages, tasks, messages.c.task_id == tasks.c.id)
        .where(sent)
        .order_by(messages.c.pk.desc())
    )
    return conn.execute(query).first()


def deliveries_of(conn: Connection, message_pk: int, limit: int) -> list[Row]:
    """The message's first ``limit`` deliveries with their device and the due time of the task
    that made them (an occurrence's, for a scheduled push)."""
    query = (
        select(
            deliveries,
            devices.c.token,
            devices.c.platform,
            tasks.c.due_at.label("task_due_at"),
        )
        .join_from(deliveries, tasks, deliveries.c.task_id == tasks.c.id)
        .outerjoin(devices, deliveries.c.device_pk == devices.c.pk)
        .where(deliveries.c.message_pk == message_pk)
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return list(conn.execute(query))


def count_deliveries(conn: Connection, message_pk: int) -> int:
    query = select(func.count()).where(deliveries.c.message_pk == message_pk)
    return conn.execute(query).scalar_one()


def events_of(conn: Connection, delivery_ids: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for chunk in chunks(list(delivery_ids)):
        query = select(delivery_events).where(delivery_events.c.delivery_id.in_(chunk))
        rows.extend(conn.execute(query.order_by(delivery_events.c.pk)))
    return rows


def webhooks_of(conn: Connection, sent: ColumnElement[bool], limit: int) -> list[Row]:
    """The first ``limit`` webhook events still kept about the messages ``sent`` finds (all an
    app sent under a msgKey, as ``message`` is given), with the URL of the endpoint each is owed
    to. Found from the messages, by the index of the events' message_pk (store/tables.py says
    why not by their msgKey)."""
    query = (
        select(
            webhook_outbox.c.pk,
            webhook_outbox.c.event_type,
            webhook_outbox.c.state,
            webhook_outbox.c.attempts,
            webhook_outbox.c.created_at,
            webhook_outbox.c.delivered_at,
            webhook_endpoints.c.url,
        )
        .join_from(messages, webhook_outbox, webhook_outbox.c.message_pk == messages.c.pk)
        .join(webhook_endpoints, webhook_outbox.c.endpoint_pk == webhook_endpoints.c.pk)
        .where(sent)
        .order_by(webhook_outbox.c.pk)
        .limit(limit)
    )
    return list(conn.execute(query))
