"""Queries for the SMS supplement: its rows (one per message that asked for an SMS), claiming
the due ones, the phone number bound with a target, and settling each.

The states and the rules are the caller's (supplement/), passed in as values.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, and_, exists, func, insert, select, update

from tidings.store.chunks import chunks
from tidings.store.tables import (
    channel_configs,
    deliveries,
    devices,
    messages,
    sms_supplements,
    tasks,
)


def add(
    conn: Connection, task_id: int, app_pk: int, strategy: int, state: str, due_at: int
) -> None:
    """One supplement row for each message of the task, due from ``due_at``."""
    pks = conn.execute(select(messages.c.pk).where(messages.c.task_id == task_id)).scalars()
    conn.execute(
        insert(sms_supplements),
        [
            {"message_pk": pk, "task_id": task_id, "app_pk": app_pk, "strategy": strategy,
             "state": state, "due_at": due_at}
            for pk in pks
        ],
    )  # fmt: skip


def has_config(conn: Connection, app_pk: int, channel: str) -> bool:
    query = select(channel_configs.c.app_pk).where(
        channel_configs.c.app_pk == app_pk, channel_configs.c.channel == channel
    )
    return conn.execute(query).first() is not None


def next_due(conn: Connection, waiting: str, sending: str) -> int | None:
    """When the earliest waiting row falls due, or a claimed row's lease runs out."""
    due = select(func.min(sms_supplements.c.due_at)).where(sms_supplements.c.state == waiting)
    lease = select(func.min(sms_supplements.c.lease_until)).where(
        sms_supplements.c.state == sending
    )
    times = [conn.execute(due).scalar(), conn.execute(lease).scalar()]
    found = [t for t in times if t is not None]
    return min(found) if found else None


def claim(
    conn: Connection, waiting: str, sending: str, now_ms: int, limit: int, lease_until: int
) -> list[Row]:
    """Up to ``limit`` rows due now, locked (others' locked rows skipped on PostgreSQL) and
    marked ``sending`` until ``lease_until``, with what deciding about them needs: the message's
    target and revocation, the task's delivery type and options, and whether any delivery of
    the message has arrived."""
    arrived = exists().where(
        deliveries.c.message_pk == sms_supplements.c.message_pk,
        deliveries.c.acked_at.is_not(None),
    )
    query = (
        select(
            sms_supplements.c.pk,
            sms_supplements.c.app_pk,
            sms_supplements.c.strategy,
            messages.c.target,
            messages.c.revoked_at,
            tasks.c.delivery_type,
            tasks.c.options,
            arrived.label("arrived"),
        )
        .join_from(sms_supplements, messages, sms_supplements.c.message_pk == messages.c.pk)
        .join(tasks, messages.c.task_id == tasks.c.id)
        .where(sms_supplements.c.state == waiting, sms_supplements.c.due_at <= now_ms)
        .order_by(sms_supplements.c.due_at, sms_supplements.c.pk)
        .limit(limit)
        .with_for_update(of=sms_supplements, skip_locked=True)
    )
    rows = list(conn.execute(query))
    for chunk in chunks([row.pk for row in rows]):
        conn.execute(
            update(sms_supplements)
            .where(sms_supplements.c.pk.in_(chunk))
            .values(state=sending, lease_until=lease_until)
        )
    return rows


def lapsed(conn: Connection, sending: str, now_ms: int) -> list[int]:
    """Rows whose sender's lease ran out before it recorded the provider's answer."""
    query = (
        select(sms_supplements.c.pk)
        .where(sms_supplements.c.state == sending, sms_supplements.c.lease_until < now_ms)
        .with_for_update(skip_locked=True)
    )
    return list(conn.execute(query).scalars())


def phone(conn: Connection, app_pk: int, by_user: bool, target: str) -> bytes | None:
    """The sealed phone number bound with the target: the device's (a DeliveryToken), or for a
    user the one bound most recently with a number."""
    column = devices.c.user_id if by_user else devices.c.token
    query = (
        select(devices.c.phone_ciphertext)
        .where(
            devices.c.app_pk == app_pk, column == target, devices.c.phone_ciphertext.is_not(None)
        )
        .order_by(devices.c.bound_at.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def settle(
    conn: Connection, pks: Sequence[int], from_state: str, state: str, detail: str, now_ms: int
) -> int:
    """Move rows still in ``from_state`` to ``state``; how many moved (a row another process
    settled first is left alone)."""
    moved = 0
    for chunk in chunks(list(pks)):
        moved += conn.execute(
            update(sms_supplements)
            .where(and_(sms_supplements.c.pk.in_(chunk), sms_supplements.c.state == from_state))
            .values(state=state, detail=detail, settled_at=now_ms, lease_until=None)
        ).rowcount
    return moved


def of_message(conn: Connection, message_pk: int) -> Row | None:
    """The message's supplement, for its trace."""
    query = select(sms_supplements).where(sms_supplements.c.message_pk == message_pk)
    return conn.execute(query).first()
