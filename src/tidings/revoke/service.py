"""RevokePushMessage and RevokePushTask: take back a message, or a whole push; then each
channel takes back what its devices may hold (``Channel.recall``).

A first, short transaction marks the messages revoked (so delivery never makes new deliveries
of them: a loop's later occurrences, a broadcast still being resolved, a user binding later, and
sends none it made: every query that hands deliveries to a channel skips a revoked message's),
stops tasks that delivery has not resolved yet and cancels occurrences that have not fired.
Then the existing deliveries move as revoke/rules.py says, a page of ``page_rows`` at a time,
each page a write of its own, so that SQLite's one writer is never held long (a broadcast to
100,000 devices in one transaction held it about a second, every acceptance, ack and dispatch
waiting): what waits is withdrawn, what a device acknowledged over the self-built channel is
recalled (its device owes a revoke frame), what a vendor that offers recall accepted is marked
as being asked back (``recall_due_at``; still delivered), and what any other channel delivered
is unrecallable. After the last page the channels are told, the vendors asked, and what they
answered written: revoked where they agreed, left delivered (and unrecallable in the answer)
where they did not. The answer sums the pages and the vendors' answers.

Each page moves deliveries by their status when its update reaches them, so one acknowledged
while the pages run is counted once, by what it was then. If the process stops between pages,
the rest stay as they were but are never sent; revoking again moves them (and answers what it
moved), and otherwise the expiry sweep closes the waiting ones when their validity ends. If it
stops after the pages but before the vendors' answers are written, those deliveries are still
being asked back: revoking again asks again (and counts them), and so does the recall sweep,
every ``sweep_seconds`` in every server process, once ``lease_seconds`` have passed since
they were asked. A vendor that could not be reached is asked again by the sweep too, as
revoke/rules.py says (``RecallRetry``). Revoking again after a revocation that finished changes
nothing and answers zeros, but for deliveries a vendor did not take back: it is asked again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from sqlalchemy import Connection, Row

from tidings import metrics
from tidings.background import BackgroundLoop
from tidings.config import RECALL_LEASE_SECONDS
from tidings.contract import Channel, Outbound, Status
from tidings.delivery.outbound import outbound_from_rows
from tidings.errors import Code, ServiceError
from tidings.fields import read_task_id
from tidings.revoke.rules import (
    RECALL_RETRY,
    WITHDRAWABLE,
    RecallAnswer,
    Recalling,
    RecallRetry,
    RevokeResult,
    check_recent,
    read_id,
    vendor_answer,
)
from tidings.schedule.parents import settle
from tidings.store import deliveries as delivery_store
from tidings.store import revocations as store
from tidings.store import schedules as schedule_store
from tidings.store.chunks import chunks
from tidings.store.database import Database
from tidings.tasks import ACCEPTED, CANCELLED, PENDING, REVOKED
from tidings.webhooks import events, outbox

log = logging.getLogger("tidings.revoke")


class Revoked(NamedTuple):
    result: RevokeResult  # the vendors' answers not counted yet
    devices: dict[str, set[int]]  # by channel: devices that may hold a delivery revoked
    channels: list[str | None]  # the channel of each delivery revoked
    asked: dict[str, list[int]]  # by channel: the delivered ones its vendor is to take back


PAGE_ROWS = 1_000  # deliveries a page: a write of a few milliseconds on SQLite
SWEEP_ROWS = 1_000  # recalls the sweep asks again at a time


class Revocations:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], float] = time.time,
        page_rows: int = PAGE_ROWS,
        sweep_seconds: float = 10.0,
        lease_seconds: float = RECALL_LEASE_SECONDS,
        retry: RecallRetry = RECALL_RETRY,
    ) -> None:
        self._db = db
        self._channels = channels
        self._recalling = Recalling.of(channels)
        self._clock = clock
        self._page_rows = page_rows
        self._sweep_seconds = sweep_seconds
        self._lease_ms = int(lease_seconds * 1000)
        self._retry = retry
        self._loop = BackgroundLoop(self._run, "tidings-recalls")

    def start(self) -> None:
        """Ask again, now and every ``sweep_seconds``, the recalls a dead asker left and those
        whose vendor could not be reached, once due."""
        self._loop.start()

    async def aclose(self) -> None:
        await self._loop.stop()

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

    async def sweep_recalls(self) -> RecallAnswer:
        """Ask the vendors again for the recalls that are due: whose asker's lease ran out (its
        process died, or its call failed, before the answer was written) or whose vendor could
        not be reached, ``SWEEP_ROWS`` at a time; what they answered."""
        answers: list[RecallAnswer] = []
        while True:
            now_ms = self._now_ms()
            overdue = await self._db.read(
                store.overdue_recalls, now_ms, self._recalling.by_vendor, SWEEP_ROWS
            )
            if not overdue:
                break
            claimed = await self._db.write(
                store.claim_recalls, overdue, now_ms, now_ms + self._lease_ms
            )
            asked: dict[str, list[int]] = defaultdict(list)
            for row in claimed:
                asked[row.channel].append(row.id)
            # an unreached vendor's event is written when a revocation first asks it, not at
            # every retry (up to about 170 a delivery in a week)
            answers.append(await self._tell({}, asked, unreached_events=False))
            if len(overdue) < SWEEP_ROWS:
                break
        return RecallAnswer.together(answers)

    async def _run(self) -> None:
        while True:
            try:
                answer = await self.sweep_recalls()
            except Exception:
                log.exception("asking vendors again for recalls failed; trying at the next sweep")
            else:
                if answer.agreed or answer.refused or answer.unreached:
                    log.info(
                        "asked vendors again for %d recalls: %d taken back, %d not, %d to ask "
                        "again (vendor not reached)",
                        len(answer.agreed) + len(answer.refused) + len(answer.unreached),
                        len(answer.agreed),
                        len(answer.refused),
                        len(answer.unreached),
                    )
            await asyncio.sleep(self._sweep_seconds)

    async def _revoke_deliveries(self, scope: store.Scope, now_ms: int) -> Revoked:
        """Move the deliveries of ``scope`` a page at a time, each page in a write of its own
        (other writes go between them), in id order; what every page moved, together."""
        ends = await self._db.read(store.page_ends, scope, self._page_rows)
        pages: list[Revoked] = []
        after = 0
        for end in ends:
            page = (after, end)
            pages.append(
                await self._db.write(
                    _revoke_page, scope, page, self._recalling, now_ms, self._lease_ms
                )
            )
            after = end
        return _together(pages)

    async def _done(self, revoked: Revoked) -> RevokeResult:
        """Tell each channel; count what the vendors asked took back as recalled, and what they
        would not as unrecallable."""
        metrics.deliveries(Counter((channel, Status.REVOKED) for channel in revoked.channels))
        return revoked.result.answered(await self._tell(revoked.devices, revoked.asked))

    async def _tell(
        self,
        devices: Mapping[str, set[int]],
        asked: Mapping[str, Sequence[int]],
        *,
        unreached_events: bool = True,
    ) -> RecallAnswer:
        """Tell each channel of the devices that may hold what was revoked and ask each vendor
        back what it is ``asked``; what the vendors answered, written.

        A vendor is asked ``page_rows`` deliveries at a time, each batch read, asked and its
        answers written before the next is read, as the pages were: a broadcast's 100,000
        recalls read and made into deliveries at once held the event loop about 1.5 s (the
        reading and writing, the reader and writer threads, as long again), 100,000 answers in
        one write would hold SQLite's writer as long as the unpaged revocation did, and what a
        vendor answered is written before the rest are asked (a process that dies leaves only
        the batches not written to be asked again)."""
        answers: list[RecallAnswer] = []
        given_up: set[int] = set()
        for name in devices.keys() | asked.keys():
            channel = self._channels.get(name)
            if channel is None:
                continue  # not run by this process (nothing of it is asked: by_vendor is ours)
            held = devices.get(name, set())
            for batch in list(chunks(asked.get(name, ()), self._page_rows)) or [()]:
                answer = await self._ask(channel, held, batch)
                held = set()  # told with the first batch
                if not batch:
                    continue
                moved, ended = await self._db.write(
                    _answered, answer, self._now_ms(), self._retry, unreached_events
                )
                metrics.deliveries(Counter((kind, Status.REVOKED) for _, kind in moved))
                answers.append(answer)
                given_up |= ended
        return RecallAnswer.together(answers).given_up(given_up)

    async def _ask(self, channel: Channel, held: set[int], batch: Sequence[int]) -> RecallAnswer:
        """Tell ``channel`` of the devices ``held`` and ask its vendor back the deliveries of
        ``batch``; what it answered. The batch's rows and Outbounds end here, not alive through
        the write of its answers, whose allocations start collections that would move their
        thousands of objects towards the oldest generation (whose full collections, 100-250 ms
        on this machine, stop every thread)."""
        delivered: list[Outbound] = []
        if batch:
            rows = await self._db.read(delivery_store.outbound_by_id, batch, revoked_too=True)
            delivered = outbound_from_rows(rows)
        kept = await channel.recall(held, delivered)
        return vendor_answer(batch, [out.id for out in delivered], kept)

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
    recalling: Recalling,
    now_ms: int,
    lease_ms: int,
) -> Revoked:
    """One page of a revocation's deliveries: withdraw what waits, recall what a device holds
    over a channel that tells it to withdraw it, mark what a vendor that offers recall accepted
    as to be asked back (it stays delivered until the vendor agrees), count the rest (delivered
    where it cannot be taken back) as unrecallable."""
    waiting = store.revoke_deliveries(conn, now_ms, Status.REVOKED, WITHDRAWABLE, scope, page)
    taken = store.recall_delivered(
        conn,
        now_ms,
        now_ms + lease_ms,
        Status.REVOKED,
        Status.ACKED,
        scope,
        page,
        recalling.on_devices,
        recalling.by_vendor,
    )
    held = [(i, pk, channel) for i, pk, channel in taken if channel in recalling.on_devices]
    asked = [(i, pk, channel) for i, pk, channel in taken if channel in recalling.by_vendor]
    unrecallable = store.count_deliveries(conn, Status.ACKED, scope, page) - len(asked)
    revoked = [*waiting, *held]
    outbox.deliveries_settled(conn, events.DELIVERY_REVOKED, [i for i, _, _ in revoked], now_ms)
    # A waiting delivery may be on the wire right now: its channel is told too.
    devices: dict[str, set[int]] = defaultdict(set)
    for _, device_pk, channel in revoked:
        if channel is not None and device_pk is not None:
            devices[channel].add(device_pk)
    channels = [channel for _, _, channel in revoked]
    by_channel: dict[str, list[int]] = defaultdict(list)
    for i, _, channel in asked:
        by_channel[channel].append(i)
    result = RevokeResult(len(waiting), len(held), unrecallable)
    return Revoked(result, devices, channels, by_channel)


def _answered(
    conn: Connection,
    answer: RecallAnswer,
    now_ms: int,
    retry: RecallRetry,
    unreached_events: bool,
) -> tuple[list[tuple[int, str]], set[int]]:
    """What vendors answered to recalls: revoked (with its event) where they agreed, no longer
    asked where they refused, asked again later where they could not be reached (or given up,
    once past ``retry``'s window); an event for the trace of each refusal, each recall given
    up and, ``unreached_events``, each vendor not reached. (id, channel) of each revoked, and
    the ids of the recalls given up."""
    moved = store.recalled(conn, answer.agreed, Status.ACKED, Status.REVOKED, now_ms)
    outbox.deliveries_settled(conn, events.DELIVERY_REVOKED, [i for i, _ in moved], now_ms)
    store.not_recalled(conn, [kept.id for kept in answer.refused])
    # grouped by the wait each vendor asked for (its Retry-After): nearly always one group
    waits: dict[RecallRetry, list[int]] = defaultdict(list)
    for kept in answer.unreached:
        waits[retry.after(kept.retry_after)].append(kept.id)
    due = [
        row
        for wait, ids in waits.items()
        for row in store.ask_again(conn, ids, now_ms, wait.first_ms, wait.cap_ms, wait.window_ms)
    ]
    given_up = {i for i, due_at in due if due_at is None}
    told = [(kept, "refused") for kept in answer.refused]
    for kept in answer.unreached:
        if kept.id in given_up:
            told.append((kept, "given_up"))
        elif unreached_events:
            told.append((kept, "unreached"))
    store.recall_events(
        conn, [(kept.id, now_ms, kept.status, kept.reason, what) for kept, what in told]
    )
    return moved, given_up


def _together(pages: Sequence[Revoked]) -> Revoked:
    """What several pages revoked, as one: counts summed, devices and deliveries gathered."""
    devices: dict[str, set[int]] = defaultdict(set)
    asked: dict[str, list[int]] = defaultdict(list)
    channels: list[str | None] = []
    for page in pages:
        for name, pks in page.devices.items():
            devices[name] |= pks
        for name, ids in page.asked.items():
            asked[name] += ids
        channels += page.channels
    result = RevokeResult(
        withdrawn=sum(p.result.withdrawn for p in pages),
        recalled=sum(p.result.recalled for p in pages),
        unrecallable=sum(p.result.unrecallable for p in pages),
    )
    return Revoked(result, dict(devices), channels, dict(asked))
