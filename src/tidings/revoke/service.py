"""RevokePushMessage and RevokePushTask: take back a message, or a whole push, in one
transaction; then each channel takes back what its devices may hold (``Channel.recall``).

Revoking marks the messages revoked (so delivery never makes new deliveries of them: a loop's
later occurrences, a broadcast still being resolved, a user binding later), stops tasks that
delivery has not resolved yet, cancels occurrences that have not fired, and moves the existing
deliveries as revoke/rules.py says: what a device acknowledged is recalled on a channel that can
take it back (``Channel.can_recall``) and unrecallable on any other; a vendor asked to take a
delivery back that refuses leaves it delivered and unrecallable. Revoking again changes
nothing and answers zeros.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from sqlalchemy import Connection, Row

from tidings import metrics
from tidings.contract import Channel, Status
from tidings.delivery.outbound import outbound_from_rows
from tidings.errors import Code, ServiceError
from tidings.fields import read_task_id
from tidings.revoke.rules import WITHDRAWABLE, RevokeResult, check_recent, read_id
from tidings.schedule.parents import settle
from tidings.store import deliveries as delivery_store
from tidings.store import revocations as store
from tidings.store import schedules as schedule_store
from tidings.store.database import Database
from tidings.tasks import ACCEPTED, CANCELLED, PENDING, REVOKED
from tidings.webhooks import events, outbox


class Revoked(NamedTuple):
    result: RevokeResult
    devices: dict[str, set[int]]  # by channel: devices that may hold a delivery revoked
    channels: list[str | None]  # the channel of each delivery revoked
    held: dict[str, list[int]]  # by channel: the delivered ones marked recalled


class Revocations:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._channels = channels
        self._recalling = frozenset(name for name, c in channels.items() if c.can_recall)
        self._clock = clock

    async def revoke_message(
        self, app_pk: int, message_id: str | None, target_id: str | None
    ) -> RevokeResult:
        msg_key = read_id(message_id, "MessageId")
        target = read_id(target_id, "TargetId")
        now_ms = self._now_ms()
        return await self._done(
            await self._db.write(_revoke_message, app_pk, msg_key, target, self._recalling, now_ms)
        )

    async def revoke_task(self, app_pk: int, task_id: str | None) -> RevokeResult:
        task = read_task_id(task_id)
        return await self._done(
            await self._db.write(_revoke_task, app_pk, task, self._recalling, self._now_ms())
        )

    async def _done(self, revoked: Revoked) -> RevokeResult:
        """Tell each channel; a vendor that would not take a delivery back leaves it delivered,
        and the answer counts it unrecallable, not recalled."""
        metrics.deliveries(Counter((channel, Status.REVOKED) for channel in revoked.channels))
        refused: list[int] = []
        for name, devices in revoked.devices.items():
            channel = self._channels.get(name)
            if channel is None:
                continue
            delivered: list = []
            if channel.recall_asks_vendor and revoked.held.get(name):
                rows = await self._db.read(delivery_store.outbound_by_id, revoked.held[name])
                delivered = outbound_from_rows(rows)
            refused.extend(await channel.recall(devices, delivered))
        if not refused:
            return revoked.result
        await self._db.write(store.restore, refused, Status.REVOKED, Status.ACKED)
        result = revoked.result
        return replace(
            result,
            recalled=result.recalled - len(refused),
            unrecallable=result.unrecallable + len(refused),
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _revoke_message(
    conn: Connection,
    app_pk: int,
    msg_key: str,
    target: str,
    recalling: Collection[str],
    now_ms: int,
) -> Revoked:
    message = store.find_message(conn, app_pk, msg_key)
    if message is None:
        raise ServiceError(Code.INVALID_PARAM, f"MessageId: no message {msg_key!r} in this app")
    if message.target != target:
        if not message.target:
            raise ServiceError(
                Code.INVALID_PARAM,
                f"MessageId {msg_key!r} is a broadcast's message; revoke a broadcast with "
                "RevokePushTask",
            )
        raise ServiceError(
            Code.INVALID_PARAM,
            f"TargetId: message {msg_key!r} was sent to {message.target!r}, not {target!r}",
        )
    last = max(message.created_at, store.last_delivery(conn, message.pk) or 0)
    check_recent(last, now_ms, f"message {msg_key!r}")
    store.revoke_messages(conn, now_ms, message_pk=message.pk)
    return _revoke_deliveries(conn, now_ms, recalling, message_pk=message.pk)


def _revoke_task(
    conn: Connection, app_pk: int, task_id: int, recalling: Collection[str], now_ms: int
) -> Revoked:
    task = store.find_task(conn, app_pk, task_id)
    if task is None:
        raise ServiceError(Code.INVALID_PARAM, f"TaskId: no task {task_id} in this app")
    scheduled = task.parent_id is None and task.strategy_type != 0
    children = store.occurrences(conn, task.id) if scheduled else []
    last = max([task.created_at, task.due_at or 0, *(c.due_at for c in children)])
    check_recent(last, now_ms, f"task {task_id}")
    # Occurrences before their parent, the order store/schedules.py locks tasks in.
    sent = [c.id for c in children] if scheduled else [task.id]
    schedule_store.move(conn, sent, ACCEPTED, REVOKED)
    cancelled = _cancel_waiting(conn, task, [c.id for c in children])
    ids = sorted({task.id, *sent})
    if task.parent_id is None:  # a push: its messages; an occurrence leaves the others be
        store.revoke_messages(conn, now_ms, task_id=task.id)
    revoked = _revoke_deliveries(conn, now_ms, recalling, task_ids=ids)
    return revoked._replace(result=replace(revoked.result, cancelled=len(cancelled)))


def _cancel_waiting(conn: Connection, task: Row, children: Sequence[int]) -> list[int]:
    """Cancel the occurrences that have not fired: all of a scheduled push's, or the one."""
    if task.parent_id is not None:
        cancelled = schedule_store.move(conn, [task.id], PENDING, CANCELLED)
        settle(conn, {task.parent_id})
        return cancelled
    if not children:
        return []
    cancelled = schedule_store.move_children(conn, {task.id}, PENDING, CANCELLED)
    settle(conn, {task.id}, cancel={task.id})
    return cancelled


def _revoke_deliveries(
    conn: Connection,
    now_ms: int,
    recalling: Collection[str],
    *,
    message_pk: int | None = None,
    task_ids: Collection[int] = (),
) -> Revoked:
    """Withdraw what waits, recall what was delivered over a channel that can take it back,
    count the rest (delivered where it cannot) as unrecallable."""
    scope = {"message_pk": message_pk, "task_ids": task_ids}
    waiting = store.revoke_deliveries(conn, now_ms, Status.REVOKED, WITHDRAWABLE, **scope)
    held = store.revoke_deliveries(
        conn, now_ms, Status.REVOKED, (Status.ACKED,), channels=recalling, **scope
    )
    unrecallable = store.count_deliveries(conn, Status.ACKED, **scope)
    changed = [row.id for row in (*waiting, *held)]
    outbox.deliveries_settled(conn, events.DELIVERY_REVOKED, changed, now_ms)
    # A waiting delivery may be on the wire right now: its channel is told too.
    devices: dict[str, set[int]] = defaultdict(set)
    for row in (*waiting, *held):
        if row.channel is not None and row.device_pk is not None:
            devices[row.channel].add(row.device_pk)
    channels = [row.channel for row in (*waiting, *held)]
    delivered: dict[str, list[int]] = defaultdict(list)
    for row in held:
        if row.channel is not None:
            delivered[row.channel].append(row.id)
    result = RevokeResult(len(waiting), len(held), unrecallable)
    return Revoked(result, devices, channels, delivered)
