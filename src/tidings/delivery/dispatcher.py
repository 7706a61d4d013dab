"""The dispatcher: turns due tasks into deliveries and hands them to their channels.

It sleeps until woken (a push was accepted, an occurrence fell due) and otherwise wakes every
``sweep_seconds`` to catch what no wake-up announced: tasks left by a process that died, tasks
accepted by another process, deliveries a vendor channel asked to retry, messages whose validity
ran out. Claiming a task, writing its deliveries and marking it dispatched is one transaction, so
a crash leaves a task either untouched (dispatched again after restart) or fully resolved (its
deliveries pending, sent on reconnect or by the retry sweep); never half of each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from operator import attrgetter

from sqlalchemy import Connection

from tidings import logs, metrics
from tidings.background import BackgroundLoop
from tidings.contract import (
    OPEN,
    SELFBUILT,
    Channel,
    DeviceAddress,
    Outbound,
    Outcome,
    PushOptions,
    Reroute,
    Status,
    from_tuples,
    maker,
)
from tidings.delivery.audience_batches import resolve_batch
from tidings.delivery.outbound import outbound_from_rows
from tidings.delivery.outcomes import Recorder
from tidings.delivery.plan import MessageRow, TaskRow, plan_task
from tidings.delivery.routing import (
    ACTIVITY_END,
    ACTIVITY_ID,
    ACTIVITY_START,
    ACTIVITY_TOKEN,
    LIVE_ACTIVITY_TYPES,
    router_for,
)
from tidings.delivery.writing import VENDOR_LEASE_MS, TaskPlan, Written, write_planned
from tidings.store import deliveries as store
from tidings.store import devices as device_store
from tidings.store import live_activities as activity_store
from tidings.store.database import Database
from tidings.tasks import ACCEPTED, BROADCAST, DISPATCHED, USER_TARGET
from tidings.webhooks import events, outbox

log = logging.getLogger("tidings.delivery")

# After a wake-up, wait this long for the pushes accepted alongside: one claim of many tasks
# costs far less than many claims of one.
COALESCE_SECONDS = 0.005


class Dispatcher:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        recorder: Recorder,
        owed: Callable[[Sequence[int]], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.time,
        sweep_seconds: float = 10.0,
        tasks_per_claim: int = 50,
        expire_batch_rows: int = 500,
    ) -> None:
        self._db = db
        self._channels = channels
        self._recorder = recorder
        self._owed = owed
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._tasks_per_claim = tasks_per_claim
        self._expire_batch_rows = expire_batch_rows
        self._wake = asyncio.Event()
        self._loop = BackgroundLoop(self._run, "tidings-delivery")
        self._sends: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._wake.set()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _run(self) -> None:
        sweep = True  # on start-up: whatever a previous process left behind
        while True:
            try:
                await self._dispatch_due()
                if sweep:
                    await self._sweep()
            except Exception:
                log.exception("dispatch failed; trying again at the next wake-up or sweep")
            try:
                await asyncio.wait_for(self._wake.wait(), self._sweep_seconds)
                sweep = False
                await asyncio.sleep(COALESCE_SECONDS)
            except TimeoutError:
                sweep = True
            self._wake.clear()

    async def _dispatch_due(self) -> None:
        """Resolve what is due: other tasks first, then one batch of a broadcast's devices at a
        time, looking for other due tasks between batches when some were announced (a wake-up
        came) or a sweep interval passed without a look (tasks nothing announces: accepted by
        another process, left by a dead one), so a long broadcast holds none up for longer
        than a sweep would and costs no empty claim per batch."""
        channels = frozenset(self._channels)
        others = True
        while True:
            if others:
                looked = time.monotonic()
                claimed, written = await self._db.write(self._claim, self._now_ms(), channels)
                self._written(written)
                if claimed == self._tasks_per_claim:
                    continue
            batch = await self._db.write(resolve_batch, self._now_ms(), channels)
            self._written(batch.written)
            if not batch.claimed:
                return
            others = self._wake.is_set() or time.monotonic() - looked >= self._sweep_seconds
            self._wake.clear()  # the next claim takes what it announced; a later one sets it

    def _written(self, written: Written) -> None:
        metrics.deliveries(written.made)
        self.hand_over(written.outbound)
        if written.owed:
            self._spawn(self._tell_owed(written.owed))

    async def _sweep(self) -> None:
        now_ms = self._now_ms()
        expired = await expire_overdue(self._db, now_ms, self._expire_batch_rows)
        if expired:
            log.info("%d deliveries expired", expired.total())
        rows = await self._db.read(
            store.due_retries, Status.PENDING, SELFBUILT, now_ms, 10 * self._tasks_per_claim
        )
        if rows:
            await self._db.write(store.lease, [r.id for r in rows], now_ms + VENDOR_LEASE_MS)
            self.hand_over(outbound_from_rows(rows))

    def hand_over(self, outbound: Sequence[Outbound]) -> None:
        """Give each channel its share, without waiting for slow ones."""
        by_channel: dict[str, list[Outbound]] = defaultdict(list)
        for item in outbound:
            by_channel[item.channel].append(item)
        for name, batch in by_channel.items():
            channel = self._channels.get(name)
            if channel is None:
                continue  # not running here; the retry sweep of a process that has it sends it
            self._spawn(self._send(channel, batch))

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        """Run ``work`` beside dispatch, held until done (``aclose`` waits for it)."""
        task = asyncio.get_running_loop().create_task(work)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _tell_owed(self, device_pks: Sequence[int]) -> None:
        """Devices were given self-built deliveries without a send item each (a broadcast's
        page): those connected anywhere are sent what they are owed."""
        try:
            await self._owed(device_pks)
        except Exception:
            log.exception("telling %d devices of new deliveries failed", len(device_pks))

    async def _send(self, channel: Channel, batch: list[Outbound]) -> None:
        try:
            outcomes = await channel.send(batch)
        except Exception:
            log.exception(
                "channel %s failed to send %d deliveries",
                channel.name,
                len(batch),
                extra=logs.about_all([item.payload for item in batch]),
            )
            return
        if not outcomes:
            return
        settled = [o for o in outcomes if o.reroute is None]
        if settled:
            # Counted by status in C, then labelled with the channel once per status: a
            # generator of (channel, status) pairs cost ~0.1 µs an outcome on the event loop.
            by_status = Counter(map(attrgetter("status"), settled))
            metrics.deliveries({(channel.name, s): n for s, n in by_status.items()})
            self._recorder.settled(settled)
        dead = list(filter(attrgetter("dead_token"), settled))
        if dead:
            await self._forget_dead_tokens(batch, dead)
        if len(settled) < len(outcomes):
            await self._reroute(batch, [o for o in outcomes if o.reroute is not None])

    async def _forget_dead_tokens(self, batch: list[Outbound], dead: list[Outcome]) -> None:
        """APNs says these Live Activity tokens are gone: drop every registration holding one
        (an activity's, or a device's push-to-start token), so no later push is sent to it."""
        sent = {out.id: out for out in batch}
        tokens = sorted({sent[o.delivery_id].device.third_token or "" for o in dead})
        try:
            await self._db.write(activity_store.forget_dead_tokens, tokens)
        except Exception:
            log.exception("forgetting %d dead Live Activity tokens failed", len(tokens))

    async def _reroute(self, batch: list[Outbound], outcomes: list[Outcome]) -> None:
        """Move deliveries a vendor channel cannot take to the self-built channel, forgetting
        the vendor tokens that died, in one transaction; then hand them over at once: a device
        connected now gets its delivery now, any other when it connects, while it is valid."""
        sent = {out.id: out for out in batch}
        dead = [
            (sent[o.delivery_id].device.pk, sent[o.delivery_id].device.third_token or "")
            for o in outcomes
            if o.reroute is Reroute.DEAD_TOKEN
        ]
        ids = [o.delivery_id for o in outcomes]
        try:
            await self._db.write(_move_to_selfbuilt, ids, dead, self._now_ms())
            rows = await self._db.read(store.outbound_by_id, ids)
            self.hand_over(outbound_from_rows(rows))
        except Exception:
            log.exception("moving %d deliveries to the self-built channel failed", len(ids))

    def _claim(
        self, conn: Connection, now_ms: int, channels: frozenset[str]
    ) -> tuple[int, Written]:
        claimed = store.claim_due_tasks(
            conn, ACCEPTED, now_ms, self._tasks_per_claim, skip_action=BROADCAST
        )
        tasks = TaskRow.from_rows(claimed)
        if not tasks:
            return 0, Written([], {})
        messages, by_token = _messages_for(conn, tasks)
        by_user = _users_devices_for(conn, tasks, messages)
        by_activity = _activities_for(conn, tasks, messages, now_ms)
        configured = store.configured_channels(conn, {t.app_pk for t in tasks})
        planned: list[TaskPlan] = []
        ended: dict[int, list[tuple[int, str]]] = defaultdict(list)  # by DeliveryType
        for task in tasks:
            options = PushOptions.from_json(task.options)
            targets = messages[task.messages_of]
            devices = by_token.get(task.app_pk, {}), by_user.get(task.app_pk, {})
            activity_tokens = _activity_tokens_for(conn, task, options, targets, devices[1], now_ms)
            plans = plan_task(
                task,
                targets,
                *devices,
                by_activity=by_activity.get(task.app_pk, {}),
                start_tokens=_start_tokens_for(conn, task, options, targets, *devices, now_ms),
                activity_tokens=activity_tokens,
                router=router_for(options, task.delivery_type, configured[task.app_pk] & channels),
                now_ms=now_ms,
            )
            planned.append(TaskPlan(task, options, list(plans)))
            if options.activity_event != ACTIVITY_END:
                continue
            if task.delivery_type in LIVE_ACTIVITY_TYPES:
                ended[task.delivery_type].extend((task.app_pk, m.target) for m in targets)
            for tokens in (activity_tokens or {}).values():  # ended at their tokens, by user
                ended[ACTIVITY_TOKEN].extend((task.app_pk, token) for token in tokens)
        written = write_planned(conn, planned, now_ms, {row.id: row for row in claimed})
        activity_store.forget(conn, ended[ACTIVITY_ID])
        activity_store.forget_tokens(conn, ended[ACTIVITY_TOKEN])
        store.set_task_state(conn, [t.id for t in tasks], DISPATCHED)
        return len(tasks), written

    async def aclose(self) -> None:
        await self._loop.stop()
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)


def _messages_for(
    conn: Connection, tasks: Sequence[TaskRow]
) -> tuple[dict[int, list[MessageRow]], dict[int, dict[str, DeviceAddress]]]:
    """The tasks' messages, by the task whose rows they are (``messages_of``); and the devices
    the targets of tasks sent to DeliveryTokens name, per app, by token, read with their
    messages (store.deliveries.messages_to_devices)."""
    to_tokens = {t.messages_of: t.app_pk for t in tasks if _to_tokens(t.delivery_type)}
    others = {t.messages_of for t in tasks} - to_tokens.keys()
    messages: dict[int, list[MessageRow]] = defaultdict(list)
    for message in MessageRow.from_rows(store.messages_of(conn, others) if others else []):
        messages[message.task_id].append(message)
    by_token: dict[int, dict[str, DeviceAddress]] = defaultdict(dict)
    width = len(MessageRow._fields)
    # The rows come task by task: a task's lists are looked up when its first row comes.
    task_id: int | None = None
    listed: list[MessageRow] = []
    held: dict[str, DeviceAddress] = {}
    for row in store.messages_to_devices(conn, to_tokens) if to_tokens else ():
        message = _message(row[:width])
        if message.task_id != task_id:
            task_id = message.task_id
            listed, held = messages[task_id], by_token[to_tokens[task_id]]
        listed.append(message)
        device_pk, platform, manufacturer, third_token = row[width:]
        if device_pk is not None:  # a device holds the token: the target
            address = (device_pk, message.target, platform, manufacturer, third_token)
            held[message.target] = _address(address)
    return messages, by_token


def _to_tokens(delivery_type: int) -> bool:
    """Whether a task's targets are DeliveryTokens (not users, nor Live Activities, which are
    addressed by their push tokens)."""
    return delivery_type != USER_TARGET and delivery_type not in LIVE_ACTIVITY_TYPES


# What _messages_for makes one of each per message (contract.maker says why not the class).
_message = maker(MessageRow)
_address = maker(DeviceAddress)


def _users_devices_for(
    conn: Connection, tasks: Sequence[TaskRow], messages: Mapping[int, list[MessageRow]]
) -> dict[int, dict[str, list[DeviceAddress]]]:
    """The devices bound to the users the tasks sent to users name, per app and user."""
    users: dict[int, set[str]] = defaultdict(set)
    for task in tasks:
        if task.delivery_type == USER_TARGET:
            users[task.app_pk].update(m.target for m in messages[task.messages_of])
    # The names go to the queries unsorted: nothing needs an order (lock_users orders its
    # locks itself), and sorting cost ~0.3 µs a name, twice, on the writer thread.
    by_user: dict[int, dict[str, list[DeviceAddress]]] = {}
    for app_pk, names in users.items():
        grouped: dict[str, list[DeviceAddress]] = defaultdict(list)
        user_ids = list(names)
        device_store.lock_users(conn, app_pk, user_ids, exclusive=False)
        rows = device_store.addresses_by_user(conn, app_pk, user_ids)  # user_id, then address
        addresses = from_tuples(DeviceAddress, [row[1:] for row in rows])
        for row, address in zip(rows, addresses, strict=True):
            grouped[row[0]].append(address)
        by_user[app_pk] = grouped
    return by_user


def _activities_for(
    conn: Connection,
    tasks: Sequence[TaskRow],
    messages: Mapping[int, list[MessageRow]],
    now_ms: int,
) -> dict[int, dict[str, str]]:
    """The push token of each live Live Activity the DeliveryType 6 tasks name, per app."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for task in tasks:
        if task.delivery_type == ACTIVITY_ID:
            wanted[task.app_pk].update(m.target for m in messages[task.messages_of])
    since = now_ms - activity_store.ACTIVITY_LIFETIME_MS
    return {
        app_pk: activity_store.tokens(conn, app_pk, sorted(ids), since)
        for app_pk, ids in wanted.items()
    }


def _activity_tokens_for(
    conn: Connection,
    task: TaskRow,
    options: PushOptions,
    targets: Sequence[MessageRow],
    by_user: Mapping[str, Sequence[DeviceAddress]],
    now_ms: int,
) -> dict[int, list[str]] | None:
    """For an update or end of a Live Activity sent to users, the push tokens of the live
    activities each of their devices registered; None for any other task."""
    if task.delivery_type != USER_TARGET or not options.live_update:
        return None
    found = [d for m in targets for d in by_user.get(m.target, ())]
    pks = sorted({d.pk for d in found if d.pk is not None})
    since = now_ms - activity_store.ACTIVITY_LIFETIME_MS
    return activity_store.tokens_of_devices(conn, pks, since)


def _start_tokens_for(
    conn: Connection,
    task: TaskRow,
    options: PushOptions,
    targets: Sequence[MessageRow],
    by_token: Mapping[str, DeviceAddress],
    by_user: Mapping[str, Sequence[DeviceAddress]],
    now_ms: int,
) -> dict[int, str] | None:
    """For a push that starts a Live Activity on devices or users' devices, each device's
    push-to-start token for the activity's type; None for any other task."""
    if options.activity_event != ACTIVITY_START or task.delivery_type in LIVE_ACTIVITY_TYPES:
        return None
    if task.delivery_type == USER_TARGET:
        found = [d for m in targets for d in by_user.get(m.target, ())]
    else:
        found = [by_token[m.target] for m in targets if m.target in by_token]
    pks = sorted({d.pk for d in found if d.pk is not None})
    since = now_ms - activity_store.START_TOKEN_LIFETIME_MS
    kind = options.activity_attributes_type or ""
    return activity_store.start_tokens(conn, kind, pks, since)


async def expire_overdue(db: Database, now_ms: int, batch_rows: int) -> Counter[str | None]:
    """Expire what outlived its validity, ``batch_rows`` deliveries per write transaction: after
    downtime there may be many, and one transaction for all would hold the database writer
    (SQLite has one) while pushes wait to be accepted. How many, per channel."""
    total: Counter[str | None] = Counter()
    while True:
        expired = await db.write(_expire, now_ms, batch_rows)
        metrics.deliveries({(c, Status.EXPIRED): n for c, n in expired.items()})
        total += expired
        if expired.total() < batch_rows:
            return total


def _expire(conn: Connection, now_ms: int, limit: int) -> Counter[str | None]:
    """Expire at most ``limit`` deliveries that outlived their validity, with their webhook
    events; how many, per channel."""
    rows = store.overdue(conn, OPEN, now_ms, limit)
    ids = [row.id for row in rows]
    outbox.deliveries_settled(conn, events.DELIVERY_EXPIRED, ids, now_ms, status=Status.EXPIRED)
    store.expire(conn, ids, Status.EXPIRED, now_ms)
    return Counter(row.channel for row in rows)


def _move_to_selfbuilt(
    conn: Connection, ids: Sequence[int], dead: Sequence[tuple[int, str]], now_ms: int
) -> None:
    outbox.tokens_dropped(conn, dead, now_ms)
    store.move_to_channel(conn, ids, dead, SELFBUILT, Status.PENDING, now_ms)
