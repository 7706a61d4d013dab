"""RevokePushMessage and RevokePushTask: take back a message, or a whole push; then each
channel takes back what its devices may hold (``Channel.recall``).

A first, short transaction marks the messages revoked (so delivery never makes new deliveries
of them: a loop's later occurrences, a broadcast still being resolved, a user binding later, and
sends none it made: every query that hands deliveries to a channel skips a revoked message's),
stops tasks that delivery has not resolved yet and cancels occurrences that have not fired.
Then the existing deliveries move as revoke/rules.py says, a page of ``page_rows`` at a time,
each page a write of its own, so that SQLite's one writer is never held long (a broadcast to
100,000 devices in one transaction held it about a second, every acceptance, ack and dispatch
waiting): what waits is withdrawn, what a device acknowledged is recalled on a channel that can
take it back (``Channel.can_recall``) and unrecallable on any other; a vendor asked to take a
delivery back that refuses leaves it delivered and unrecallable. The answer sums the pages.

Each page moves deliveries by their status when its update reaches them, so one acknowledged
while the pages run is counted once, by what it was then. If the process stops between pages,
the rest stay as they were but are never sent; revoking again moves them (and answers what it
moved), and otherwise the expiry sweep closes the waiting ones when their validity ends.
Revoking again after a revocation that finished changes nothing and answers zeros.
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


PAGE_ROWS = 1_000  # deliveries a page: a write of a few milliseconds on SQLite


class Revocations:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], float] = time.time,
        page_rows: int = PAGE_ROWS,
    ) -> None:
        self._db = db
        self._channels = channels
        self._recalling = frozenset(name for name, c in channels.items() if c.can_recall)
        self._clock = clock
        self._page_rows = page_rows

    async def revoke_message(
        self, app_pk: int, message_id: str | None, target_id: str | None
    ) -> RevokeResult:
        msg_key = read_id(message_id, "MessageId")
        target = read_id(target_id, "TargetId")
        now_ms = self._now_ms()
        scope = await self._db.write(_revoke_message, app_pk, msg_key, target, now_ms)
        return await self._done(await self._revoke_deliveries(scope, now_ms))

    async def revoke_task(self, app_pk: int, task_id: str | None) -> RevokeResult:
        task = read_task_id(task_id)
        now_ms = self._now_ms()
        scope, cancelled = await self._db.write(_revoke_task, app_pk, task, now_ms)
        revoked = await self._revoke_deliveries(scope, now_ms)
        result = replace(revoked.result, cancelled=cancelled)
        return await self._done(revoked._replace(result=result))

    async def _revoke_deliveries(self, scope: store.Scope, now_ms: int) -> Revoked:
        """Move the deliveries of ``scope`` a page at a time, each page in a write of its own
        (other writes go between them), in id order; what every page moved, together."""
        ends = await self._db.read(store.page_ends, scope, self._page_rows)
        pages: list[Revoked] = []
        after = 0
        for end in ends:
            page = (after, end)
            pages.append(await self._db.write(_revoke_page, scope, page, self._recalling, now_ms))
            after = end
        return _together(pages)

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
                rows = await self._db.read(
                    delivery_store.outbound_by_id, revoked.held[name], revoked_too=True
                )
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
    conn: Connection, app_pk: int, msg_key: str, target: str, now_ms: int
) -> store.Scope:
    message = store.find_message(conn, app_pk, msg_key)
    if message is None:
        raise ServiceError(
            Code.INVALID_PARAM, f"MessageId: no message {msg_key!r} in this app", ("MessageId",)
        )
    if message.target != target:
        if not message.target:
            raise ServiceError(
                Code.INVALID_PARAM,
                f"MessageId {msg_key!r} is a broadcast's message; revoke a broadcast with "
                "RevokePushTask",
                ("MessageId",),
            )
        raise ServiceError(
            Code.INVALID_PARAM,
            f"TargetId: message {msg_key!r} was sent to {message.target!r}, not {target!r}",
            ("TargetId",),
        )
    last = max(message.created_at, store.last_delivery(conn, message.pk) or 0)
    check_recent(last, now_ms, f"message {msg_key!r}")
    store.revoke_messages(conn, now_ms, message_pk=message.pk)
    return store.Scope((message.pk,))


def _revoke_task(
    conn: Connection, app_pk: int, task_id: int, now_ms: int
) -> tuple[store.Scope, int]:
    """The first transaction of RevokePushTask: its messages revoked, its tasks stopped, its
    occurrences that have not fired cancelled. The deliveries to move, and how many
    occurrences it cancelled."""
    task = store.find_task(conn, app_pk, task_id)
    if task is None:
        raise ServiceError(
            Code.INVALID_PARAM, f"TaskId: no task {task_id} in this app", ("TaskId",)
        )
    scheduled = task.parent_id is None and task.strategy_type != 0
    children = store.occurrences(conn, task.id) if scheduled else []
    last = max([task.created_at, task.due_at or 0, *(c.due_at for c in children)])
    check_recent(last, now_ms, f"task {task_id}")
    # Occurrences before their parent, the order store/schedules.py locks tasks in.
    sent = [c.id for c in children] if scheduled else [task.id]
    schedule_store.move(conn, sent, ACCEPTED, REVOKED)
    cancelled = _cancel_waiting(conn, task, [c.id for c in children])
    if task.parent_id is not None:  # an occurrence: its deliveries of its push's messages
        return store.Scope(store.message_pks(conn, task.parent_id), task.id), len(cancelled)
    # a push: its messages, which its occurrences deliver too
    store.revoke_messages(conn, now_ms, task_id=task.id)
    return store.Scope(store.message_pks(conn, task.id)), len(cancelled)


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


def _revoke_page(
    conn: Connection,
    scope: store.Scope,
    page: store.Ids,
    recalling: Collection[str],
    now_ms: int,
) -> Revoked:
    """One page of a revocation's deliveries: withdraw what waits, recall what was delivered
    over a channel that can take it back, count the rest (delivered where it cannot) as
    unrecallable."""
    waiting = store.revoke_deliveries(conn, now_ms, Status.REVOKED, WITHDRAWABLE, scope, page)
    held = store.revoke_deliveries(
        conn, now_ms, Status.REVOKED, (Status.ACKED,), scope, page, channels=recalling
    )
    unrecallable = store.count_deliveries(conn, Status.ACKED, scope, page)
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


def _together(pages: Sequence[Revoked]) -> Revoked:
    """What several pages revoked, as one: counts summed, devices and deliveries gathered."""
    devices: dict[str, set[int]] = defaultdict(set)
    held: dict[str, list[int]] = defaultdict(list)
    channels: list[str | None] = []
    for page in pages:
        for name, pks in page.devices.items():
            devices[name] |= pks
        for name, ids in page.held.items():
            held[name] += ids
        channels += page.channels
    result = RevokeResult(
        withdrawn=sum(p.result.withdrawn for p in pages),
        recalled=sum(p.result.recalled for p in pages),
        unrecallable=sum(p.result.unrecallable for p in pages),
    )
    return Revoked(result, dict(devices), channels, dict(held))
