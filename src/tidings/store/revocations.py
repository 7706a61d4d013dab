"""Queries for revocation: the message or task revoked, and its deliveries moved to revoked.

Deliveries are revoked by conditional updates (status in a set, on a channel), so a delivery a
device acknowledges while the revocation runs is counted by what it was when the update reached
it, never twice and never missed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Connection, Row, func, select, update

from tidings.store.chunks import chunks
from tidings.store.msg_keys import sent_under
from tidings.store.tables import deliveries, messages, tasks


def find_message(conn: Connection, app_pk: int, msg_key: str) -> Row | None:
    """The newest message the app sent under ``msg_key``."""
    query = (
        select(messages.c.pk, messages.c.task_id, messages.c.target, messages.c.created_at)
        .where(sent_under(conn, app_pk, msg_key))
        .order_by(messages.c.pk.desc())
    )
    return conn.execute(query).first()


def last_delivery(conn: Connection, message_pk: int) -> int | None:
    query = select(func.max(deliveries.c.created_at)).where(deliveries.c.message_pk == message_pk)
    return conn.execute(query).scalar()


def find_task(conn: Connection, app_pk: int, task_id: int) -> Row | None:
    query = select(
        tasks.c.id,
        tasks.c.parent_id,
        tasks.c.strategy_type,
        tasks.c.state,
        tasks.c.created_at,
        tasks.c.due_at,
    ).where(tasks.c.app_pk == app_pk, tasks.c.id == task_id)
    return conn.execute(query).first()


def occurrences(conn: Connection, parent_id: int) -> list[Row]:
    query = select(tasks.c.id, tasks.c.due_at).where(tasks.c.parent_id == parent_id)
    return list(conn.execute(query))


def revoke_messages(
    conn: Connection, now_ms: int, *, message_pk: int | None = None, task_id: int | None = None
) -> None:
    """Mark a message, or every message of a task, revoked (delivery skips them from now on)."""
    where = messages.c.pk == message_pk if message_pk is not None else messages.c.task_id == task_id
    conn.execute(
        update(messages).where(where, messages.c.revoked_at.is_(None)).values(revoked_at=now_ms)
    )


def revoke_deliveries(
    conn: Connection,
    now_ms: int,
    revoked: int,
    from_statuses: Collection[int],
    *,
    message_pk: int | None = None,
    task_ids: Collection[int] = (),
    channels: Collection[str] | None = None,
) -> list[Row]:
    """Move the deliveries of a message (or of tasks) in ``from_statuses`` (and on one of
    ``channels``, when given) to ``revoked``; (id, device_pk, channel) of each."""
    changed: list[Row] = []
    for where in _scopes(message_pk, task_ids):
        conditions = [where, deliveries.c.status.in_(list(from_statuses))]
        if channels is not None:
            conditions.append(deliveries.c.channel.in_(list(channels)))
        changed.extend(
            conn.execute(
                update(deliveries)
                .where(*conditions)
                .values(status=revoked, revoked_at=now_ms, updated_at=now_ms)
                .returning(deliveries.c.id, deliveries.c.device_pk, deliveries.c.channel)
            )
        )
    return changed


def restore(conn: Connection, ids: Sequence[int], revoked: int, delivered: int) -> None:
    """Deliveries marked ``revoked`` whose vendor would not take them back: ``delivered``
    again, as they are."""
    for chunk in chunks(sorted(ids)):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), deliveries.c.status == revoked)
            .values(status=delivered, revoked_at=None)
        )


def count_deliveries(
    conn: Connection,
    status: int,
    *,
    message_pk: int | None = None,
    task_ids: Collection[int] = (),
) -> int:
    total = 0
    for where in _scopes(message_pk, task_ids):
        query = select(func.count()).select_from(deliveries).where(where)
        total += conn.execute(query.where(deliveries.c.status == status)).scalar_one()
    return total


def _scopes(message_pk: int | None, task_ids: Collection[int]) -> list[ColumnElement[bool]]:
    if message_pk is not None:
        return [deliveries.c.message_pk == message_pk]
    return [deliveries.c.task_id.in_(chunk) for chunk in chunks(sorted(task_ids))]
