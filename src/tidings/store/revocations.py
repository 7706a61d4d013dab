"""Queries for revocation: the message or task revoked, and its deliveries moved to revoked a
page at a time.

Deliveries are revoked by conditional updates (status in a set, on a channel) over ranges of
ids, so a delivery a device acknowledges while the revocation runs is counted by what it was
when its page's update reached it, never twice and never missed.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from typing import NamedTuple

from sqlalchemy import (
    Connection,
    Row,
    func,
    select,
    update,
)

from tidings.store.chunks import chunks
from tidings.store.msg_keys import sent_under
from tidings.store.plain import (
    fetch,
    mark,
    marks,
    one_of,
    one_of_values,
    padded_size,
    run_many,
    unindexed,
)
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


class Scope(NamedTuple):
    """The deliveries a revocation moves: those of ``message_pks`` (one message, or every message
    of a push, whose occurrences deliver its messages too), only the occurrence ``task_id``'s
    when given. Found by the message index, in id order within each message."""

    message_pks: tuple[int, ...]
    task_id: int | None = None


Ids = tuple[int, int]  # a page of deliveries: ids after the first, up to the second


def message_pks(conn: Connection, task_id: int) -> tuple[int, ...]:
    """The pks of a push's messages."""
    query = select(messages.c.pk).where(messages.c.task_id == task_id).order_by(messages.c.pk)
    return tuple(conn.execute(query).scalars())


def page_ends(conn: Connection, scope: Scope, rows: int) -> list[int]:
    """Where pages of ``rows`` deliveries of ``scope`` end: the id of every ``rows``-th one in id
    order, and of the last. With more messages than one ``IN (...)`` takes, each chunk of them is
    counted apart, so a page holds up to ``rows`` of each chunk."""
    placeholder = mark(conn)
    ends: set[int] = set()
    for where, values in _scopes(placeholder, scope):
        ranked = (
            "SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total "
            f"FROM deliveries WHERE {where}"
        )
        modulo = "%%" if placeholder == "%s" else "%"  # psycopg reads a lone % as a placeholder
        sql = f"SELECT id FROM ({ranked}) AS ranked WHERE n {modulo} {placeholder} = 0 OR n = total"
        ends.update(found for (found,) in fetch(conn, sql, (*values, rows)))
    return sorted(ends)


Page = tuple[int, int | None, str | None]  # (id, device_pk, channel) of a delivery a page moved


def revoke_deliveries(
    conn: Connection,
    now_ms: int,
    revoked: int,
    from_statuses: Collection[int],
    scope: Scope,
    ids: Ids,
) -> list[Page]:
    """Move the deliveries of ``scope`` with an id in ``ids`` in ``from_statuses`` to
    ``revoked``; (id, device_pk, channel) of each."""
    placeholder = mark(conn)
    sets = f"status = {placeholder}, revoked_at = {placeholder}, updated_at = {placeholder}"
    return _update(conn, sets, (revoked, now_ms, now_ms), from_statuses, scope, ids, None)


def recall_delivered(
    conn: Connection,
    now_ms: int,
    due_ms: int,
    revoked: int,
    delivered: int,
    scope: Scope,
    ids: Ids,
    on_devices: Collection[str],
    by_vendor: Collection[str],
) -> list[Page]:
    """Take back the ``delivered`` deliveries of ``scope`` with an id in ``ids`` on a channel
    that recalls: those on one of ``on_devices`` move to ``revoked``; those on one of
    ``by_vendor`` are marked as being asked back from their vendor (asked at ``now_ms``), due
    again at ``due_ms``, and stay ``delivered`` until it answers. One statement for both, so
    that a page walks its range of the message index no more often than before vendors'
    recalls were marked (an update of its own cost a page about 1 ms more CPU). (id,
    device_pk, channel) of each."""
    if not on_devices and not by_vendor:
        return []
    placeholder = mark(conn)
    on_device = f"channel {one_of(placeholder, len(on_devices))}"
    listed = one_of_values(placeholder, list(on_devices))
    sets = ", ".join(
        [
            f"status = CASE WHEN {on_device} THEN {placeholder} ELSE status END",
            f"revoked_at = CASE WHEN {on_device} THEN {placeholder} ELSE revoked_at END",
            f"updated_at = CASE WHEN {on_device} THEN {placeholder} ELSE updated_at END",
            f"recall_due_at = CASE WHEN {on_device} THEN recall_due_at ELSE {placeholder} END",
            f"recall_asked_at = CASE WHEN {on_device} THEN recall_asked_at ELSE {placeholder} END",
        ]
    )
    # each CASE's parameters: the channels its test lists, then its value
    values = [v for value in (revoked, now_ms, now_ms, due_ms, now_ms) for v in (*listed, value)]
    channels = [*on_devices, *by_vendor]
    return _update(conn, sets, values, (delivered,), scope, ids, channels)


def _update(
    conn: Connection,
    sets: str,
    values: Sequence[object],
    from_statuses: Collection[int],
    scope: Scope,
    ids: Ids,
    channels: Collection[str] | None,
) -> list[Page]:
    """``UPDATE deliveries SET {sets}`` (``values`` its parameters) of the deliveries of
    ``scope`` with an id in ``ids``, in one of ``from_statuses`` (and on one of ``channels``);
    (id, device_pk, channel) of each, the driver's tuples."""
    placeholder = mark(conn)
    statuses = [int(status) for status in from_statuses]
    also = f"status + 0 {one_of(placeholder, len(statuses))}"
    more = one_of_values(placeholder, statuses)
    if channels is not None:
        also += f" AND channel {one_of(placeholder, len(channels))}"
        more += one_of_values(placeholder, list(channels))
    changed: list[Page] = []
    for where, found in _scopes(placeholder, scope, ids):
        sql = (
            f"UPDATE deliveries SET {sets} WHERE {where} AND {also} "
            "RETURNING id, device_pk, channel"
        )
        changed.extend(fetch(conn, sql, (*values, *found, *more)))
    return changed


def overdue_recalls(
    conn: Connection, now_ms: int, channels: Collection[str], limit: int
) -> list[int]:
    """Up to ``limit`` recalls on ``channels`` whose asker's lease ran out by ``now_ms``, the
    longest overdue first; their ids. Found by their partial index (tables.RECALLS): a read,
    so that a sweep with nothing to ask (nearly every one) writes nothing."""
    query = (
        select(deliveries.c.id)
        .where(
            deliveries.c.recall_due_at.is_not(None),
            deliveries.c.recall_due_at <= now_ms,
            deliveries.c.channel.in_(list(channels)),
        )
        .order_by(deliveries.c.recall_due_at)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def claim_recalls(conn: Connection, ids: Sequence[int], now_ms: int, due_ms: int) -> list[Row]:
    """Take these recalls, due again at ``due_ms``, unless another asker took one since it was
    read overdue (its lease is checked again on the row, so two processes sweeping at once
    never both take one); (id, channel) of each taken."""
    taken: list[Row] = []
    for chunk in chunks(sorted(ids)):
        taken.extend(
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(chunk), deliveries.c.recall_due_at <= now_ms)
                .values(recall_due_at=due_ms)
                .returning(deliveries.c.id, deliveries.c.channel)
            )
        )
    return taken


def recalled(
    conn: Connection, ids: Sequence[int], delivered: int, revoked: int, now_ms: int
) -> list[tuple[int, str]]:
    """The vendor took these ``delivered`` deliveries back: ``revoked`` now, whether or not a
    recall of them is still marked (another asker may have had a refusal written first: an
    agreement is the vendor's last word). (id, channel) of each moved, the driver's tuples.

    Written as text and run through the driver (store/plain.py), the ids as ``one_of``'s list:
    a broadcast's revocation runs it for every 1,000 agreements, where SQLAlchemy's building of
    the statement, its rendering of the IN list and a Row for each delivery cost the writer
    about a third of the answers' write."""
    placeholder = mark(conn)
    moved: list[tuple[int, str]] = []
    for chunk in chunks(sorted(ids)):
        sql = _recalled_sql(placeholder, padded_size(len(chunk)))
        values = (revoked, now_ms, now_ms, *one_of_values(placeholder, chunk), delivered)
        moved.extend(fetch(conn, sql, values))
    return moved


@functools.lru_cache(maxsize=32)
def _recalled_sql(mark: str, count: int) -> str:
    """``recalled``'s statement for ``count`` ids, found by id, the status kept out of
    SQLite's choice of index (``plain.unindexed``)."""
    status = unindexed(mark, "status")
    return (
        f"UPDATE deliveries SET status = {mark}, revoked_at = {mark}, updated_at = {mark}, "
        f"recall_due_at = NULL WHERE id {one_of(mark, count)} AND {status} = {mark} "
        "RETURNING id, channel"
    )


def not_recalled(conn: Connection, ids: Sequence[int]) -> None:
    """The vendor would not take these back (or could not be asked): no longer being asked,
    left as they are (recall_asked_at kept, for the trace)."""
    for chunk in chunks(sorted(ids)):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), deliveries.c.recall_due_at.is_not(None))
            .values(recall_due_at=None)
        )


def ask_again(
    conn: Connection, ids: Sequence[int], now_ms: int, first_ms: int, cap_ms: int, window_ms: int
) -> list[tuple[int, int | None]]:
    """Their vendor could not be reached: due again as long after ``now_ms`` as it has been
    since they were asked (at least ``first_ms``, at most ``cap_ms``), or given up (no longer
    asked) where that would fall beyond ``window_ms`` after the delivery was made. Only those
    still being asked (another asker may have written an answer since); (id, recall_due_at) of
    each, recall_due_at None where given up, the driver's tuples.

    Written as text and run through the driver (store/plain.py), as ``recalled`` is: a vendor
    out of reach answers a broadcast's 100,000 recalls so, 1,000 a write, where SQLAlchemy's
    building of the statement, its rendering of the IN list and a Row for each delivery cost
    the writer a third of it on SQLite (42,000 instructions a recall against 27,000)."""
    if not ids:
        return []  # nearly every answer: no statement is run
    placeholder = mark(conn)
    since = (now_ms, now_ms)  # the parameters of _ask_again_sql's ``since``
    wait = (*since, first_ms, first_ms, *since, cap_ms, cap_ms, *since)
    due = (now_ms, *wait)
    updated: list[tuple[int, int | None]] = []
    for chunk in chunks(sorted(ids)):
        sql = _ask_again_sql(placeholder, padded_size(len(chunk)))
        values = (window_ms, *due, *due, *one_of_values(placeholder, chunk))
        updated.extend(fetch(conn, sql, values))
    return updated


@functools.lru_cache(maxsize=32)
def _ask_again_sql(mark: str, count: int) -> str:
    """``ask_again``'s statement for ``count`` ids, found by id."""
    since = f"({mark} - coalesce(recall_asked_at, {mark}))"
    wait = (
        f"CASE WHEN {since} < {mark} THEN {mark} WHEN {since} > {mark} THEN {mark} ELSE {since} END"
    )
    due = f"({mark} + {wait})"
    return (
        f"UPDATE deliveries SET recall_due_at = CASE WHEN created_at + {mark} < {due} THEN NULL "
        f"ELSE {due} END WHERE id {one_of(mark, count)} AND recall_due_at IS NOT NULL "
        "RETURNING id, recall_due_at"
    )


def recall_events(conn: Connection, rows: Sequence[tuple[int, int, int, str | None, str]]) -> None:
    """What vendors answered to recalls, for the trace: each row's delivery id, time, status,
    reason and what the vendor did (refused, unreached, given_up). Through the driver's
    executemany (store/plain.run_many): a vendor out of reach answers a broadcast's 100,000
    recalls so, 1,000 a write, where SQLAlchemy's insert of a dict a row cost the writer more."""
    if rows:
        placeholder = mark(conn)
        columns = "delivery_id, at, status, reason, recall"
        sql = f"INSERT INTO delivery_events ({columns}) VALUES ({marks(placeholder, 5)})"
        run_many(conn, sql, rows)


def count_deliveries(conn: Connection, status: int, scope: Scope, ids: Ids) -> int:
    placeholder = mark(conn)
    total = 0
    for where, values in _scopes(placeholder, scope, ids):
        sql = f"SELECT count(*) FROM deliveries WHERE {where} AND status + 0 = {placeholder}"
        ((count,),) = fetch(conn, sql, (*values, status))
        total += count
    return total


def _scopes(
    placeholder: str, scope: Scope, ids: Ids | None = None
) -> list[tuple[str, tuple[object, ...]]]:
    """The conditions of ``scope``'s deliveries (with an id in ``ids``), as SQL text and its
    values, one for each chunk of its messages. ``+ 0`` keeps the task and the status out of
    SQLite's choice of index: the message index holds each message's deliveries in id order,
    so a page is one range of it, where (task_id, message_pk, device_pk) or (status,
    expires_at) would be walked whole.

    A revocation's statements are written as text and run through the driver (store/plain.py):
    a broadcast's revocation runs three for each page of 1,000 deliveries, where SQLAlchemy's
    building of them, its rendering of their IN lists and a Row for each delivery moved cost
    the writer about as much as the statements themselves."""
    conditions: list[tuple[str, tuple[object, ...]]] = []
    for chunk in chunks(sorted(scope.message_pks)):
        where = f"message_pk {one_of(placeholder, len(chunk))}"
        values: tuple[object, ...] = one_of_values(placeholder, chunk)
        if ids is not None:
            where += f" AND id > {placeholder} AND id <= {placeholder}"
            values += ids
        if scope.task_id is not None:
            where += f" AND task_id + 0 = {placeholder}"
            values += (scope.task_id,)
        conditions.append((where, values))
    return conditions
