"""Writing events into the webhook outbox, inside the transaction that makes them happen.

The functions here are called from the same database work that settles a delivery, accepts a
push or fires an occurrence, so an event is in the outbox exactly when its cause committed: a
crash loses neither, and a rolled-back cause leaves no event behind. When no enabled endpoint
of the apps concerned takes the event type, each call costs one read of the small endpoints
table and writes nothing.

Calls that settle deliveries by an update whose changed rows the caller does not learn (an ack
batch) are made *before* that update, with the update's conditions, so they
see the very rows it changes: the transaction holds them (SQLite's one writer; the row locks
or the same snapshot on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.sql import ColumnElement

from tidings.store import webhooks as store
from tidings.webhooks import events


def deliveries_settled(
    conn: Connection,
    event_type: str,
    ids: Sequence[int],
    now_ms: int,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    status: int | None = None,
    reasons: dict[int, str | None] | None = None,
) -> None:
    """Events of ``event_type`` for the deliveries among ``ids`` that meet ``where`` (the
    conditions of the update about to settle them), ``status`` being the status they take
    (their current one when None); ``reasons`` the vendor's words for a refusal, by id.

    The database writes the events itself (store.add_delivery_events), keeping the statement
    for conditions it has seen (the same objects: a module's constants); only refusals, whose
    reasons it does not hold and which are few, are made here from the deliveries' facts."""
    if not ids:
        return
    apps = store.subscribers(conn, event_type)
    if not apps:
        return
    if not reasons:
        endpoints = [pk for pks in apps.values() for pk in pks]
        store.add_delivery_events(conn, event_type, endpoints, ids, now_ms, status, *where)
        return
    rows = store.delivery_facts(conn, list(apps), ids, *where)
    _add(conn, event_type, apps, rows, now_ms, status, reasons)


def _add(
    conn: Connection,
    event_type: str,
    apps: dict[int, list[int]],
    rows: Iterable[Row],
    now_ms: int,
    status: int | None,
    reasons: dict[int, str | None],
) -> None:
    outbox: list[dict[str, Any]] = []
    for row in rows:
        extra: dict[str, Any] = {}
        if row.id in reasons:
            extra = {"code": status, "reason": reasons[row.id]}
        payload = events.data(
            task_id=row.task_id,
            msg_key=row.msg_key,
            target=row.target or row.user_id,
            device=row.token,
            channel=row.channel,
            status=row.status if status is None else status,
            time=now_ms,
            **extra,
        )
        message = (row.msg_key, row.message_pk)
        outbox.extend(_rows(apps[row.app_pk], event_type, payload, now_ms, message))
    store.add_events(conn, outbox)


def messages_accepted(
    conn: Connection,
    app_pk: int,
    task_id: int,
    messages: Iterable[tuple[str, str]],
    now_ms: int,
) -> None:
    """``message.accepted`` for each (msgKey, target) of a task just accepted, naming the pk of
    the message written under it (read by the task's, only when an endpoint takes the event;
    none for a key the task wrote no message under)."""
    endpoints = store.subscribers(conn, events.MESSAGE_ACCEPTED).get(app_pk)
    if not endpoints:
        return
    pks = store.message_pks(conn, task_id)
    outbox: list[dict[str, Any]] = []
    for msg_key, target in messages:
        payload = events.data(task_id=task_id, msg_key=msg_key, target=target, time=now_ms)
        message = (msg_key, pks.get(msg_key))
        outbox.extend(_rows(endpoints, events.MESSAGE_ACCEPTED, payload, now_ms, message))
    store.add_events(conn, outbox)


def occurrences_fired(conn: Connection, task_ids: Sequence[int], now_ms: int) -> None:
    """``schedule.fired`` for each occurrence of a scheduled or loop push that just fired."""
    if not task_ids:
        return
    apps = store.subscribers(conn, events.SCHEDULE_FIRED)
    if not apps:
        return
    outbox: list[dict[str, Any]] = []
    for row in store.task_facts(conn, task_ids):
        if row.app_pk in apps:
            payload = events.data(
                task_id=row.id, time=now_ms, parentTaskId=str(row.parent_id), dueAt=row.due_at
            )
            outbox.extend(_rows(apps[row.app_pk], events.SCHEDULE_FIRED, payload, now_ms))
    store.add_events(conn, outbox)


def tokens_dropped(conn: Connection, dead: Sequence[tuple[int, str]], now_ms: int) -> None:
    """``device.token_invalid`` for each (device pk, vendor token) a vendor declared dead."""
    if not dead:
        return
    apps = store.subscribers(conn, events.TOKEN_INVALID)
    if not apps:
        return
    tokens = dict(dead)
    outbox: list[dict[str, Any]] = []
    for row in store.device_facts(conn, list(tokens)):
        if row.app_pk in apps:
            payload = events.data(
                task_id=None,
                device=row.token,
                channel=row.manufacturer,
                time=now_ms,
                vendorToken=tokens[row.pk],
            )
            outbox.extend(_rows(apps[row.app_pk], events.TOKEN_INVALID, payload, now_ms))
    store.add_events(conn, outbox)


def _rows(
    endpoints: Sequence[int],
    event_type: str,
    payload: str,
    now_ms: int,
    message: tuple[str, int | None] | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows of one event for each endpoint; ``message``: the (msgKey, pk) of the
    message it concerns, if any (the trace finds the rows by the pk)."""
    msg_key, message_pk = message if message is not None else (None, None)
    return [
        {
            "endpoint_pk": pk,
            "event_type": event_type,
            "msg_key": msg_key,
            "message_pk": message_pk,
            "payload": payload,
            "created_at": now_ms,
        }
        for pk in endpoints
    ]
