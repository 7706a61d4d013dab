"""What happened to pushes, read for the console: per-status delivery counts and message traces.

The MPS analytics actions (issue 5) will answer the same questions over the OpenAPI; until the
domain has that service, the console reads these reports through its own queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row

from tidings.delivery.status import Status
from tidings.store import console as store
from tidings.store.database import Database

LABELS = {
    Status.WAITING_FOR_VERIFY: "held for review",
    Status.PENDING: "waiting for the device",
    Status.NO_BIND: "no device bound to the user",
    Status.ACKED: "delivered",
    Status.EXPIRED: "expired",
    Status.REVOKED: "revoked",
}


def status_label(status: int) -> str:
    return LABELS.get(status, f"vendor refused ({status})")


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: int
    deliveries: int
    opened: int

    @property
    def label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True, slots=True)
class PushReport:
    id: int
    name: str
    action: str
    template_name: str | None
    delivery_type: int
    strategy_type: int
    state: str
    message_count: int
    expired_seconds: int
    created_at: int
    due_at: int | None
    counts: tuple[StatusCount, ...]

    @property
    def deliveries(self) -> int:
        return sum(c.deliveries for c in self.counts)

    @property
    def delivered(self) -> int:
        return sum(c.deliveries for c in self.counts if c.status == Status.ACKED)

    @property
    def opened(self) -> int:
        return sum(c.opened for c in self.counts)


@dataclass(frozen=True, slots=True)
class DeliveryTrace:
    id: int
    task_id: int
    device_token: str | None
    platform: str | None
    user_id: str | None
    channel: str | None
    status: int
    reason: str | None
    attempts: int
    created_at: int
    updated_at: int
    expires_at: int
    acked_at: int | None
    opened_at: int | None

    @property
    def label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True, slots=True)
class MessageTrace:
    msg_key: str
    task_id: int
    target: str
    title: str
    content: str
    uri: str | None
    created_at: int
    deliveries: tuple[DeliveryTrace, ...]


class Reports:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def pushes(self, app_pk: int, offset: int, limit: int) -> tuple[list[PushReport], int]:
        """A page of the app's pushes, newest first, with their delivery counts."""
        return await self._db.read(_pushes, app_pk, offset, limit)

    async def push(self, app_pk: int, task_id: int) -> PushReport | None:
        return await self._db.read(_push, app_pk, task_id)

    async def messages(self, task_id: int, offset: int, limit: int) -> tuple[list[Row], int]:
        return await self._db.read(store.push_messages, task_id, offset, limit)

    async def activity(self, app_pk: int, timezone: str, hours: int, now_ms: int) -> Activity:
        """Arrivals and opens over the last ``hours`` hours: by hour up to a day, else by day
        of the app's time zone."""
        return await _activity(self._db, app_pk, timezone, hours, now_ms)

    async def trace(self, app_pk: int, msg_key: str) -> MessageTrace | None:
        """The message an app sent under ``msg_key`` and every delivery of it."""
        return await self._db.read(_trace, app_pk, msg_key)


def _pushes(conn: Connection, app_pk: int, offset: int, limit: int) -> tuple[list, int]:
    rows, total = store.push_page(conn, app_pk, offset, limit)
    counts = _counts(conn, [row.id for row in rows])
    return [_report(row, counts.get(row.id, ())) for row in rows], total


def _push(conn: Connection, app_pk: int, task_id: int) -> PushReport | None:
    row = store.find_push(conn, app_pk, task_id)
    return _report(row, _counts(conn, [task_id]).get(task_id, ())) if row else None


def _counts(conn: Connection, push_ids: list[int]) -> dict[int, tuple[StatusCount, ...]]:
    found: dict[int, list[StatusCount]] = {}
    for row in store.delivery_counts(conn, push_ids) if push_ids else ():
        found.setdefault(row.push_id, []).append(
            StatusCount(row.status, row.deliveries, row.opened)
        )
    return {push: tuple(sorted(items, key=lambda c: c.status)) for push, items in found.items()}


def _report(row: Any, counts: tuple[StatusCount, ...]) -> PushReport:
    return PushReport(
        id=row.id,
        name=row.name,
        action=row.action,
        template_name=row.template_name,
        delivery_type=row.delivery_type,
        strategy_type=row.strategy_type,
        state=row.state,
        message_count=row.message_count,
        expired_seconds=row.expired_seconds,
        created_at=row.created_at,
        due_at=row.due_at,
        counts=counts,
    )


def _trace(conn: Connection, app_pk: int, msg_key: str) -> MessageTrace | None:
    message = store.message_by_key(conn, app_pk, msg_key)
    if message is None:
        return None
    deliveries = tuple(
        DeliveryTrace(
            id=row.id,
            task_id=row.task_id,
            device_token=row.token,
            platform=row.platform,
            user_id=row.user_id,
            channel=row.channel,
            status=row.status,
            reason=row.reason,
            attempts=row.attempts,
            created_at=row.created_at,
            updated_at=row.updated_at,
            expires_at=row.expires_at,
            acked_at=row.acked_at,
            opened_at=row.opened_at,
        )
        for row in store.deliveries_of_message(conn, message.pk)
    )
    return MessageTrace(
        msg_key=message.msg_key,
        task_id=message.task_id,
        target=message.target,
        title=message.title,
        content=message.content,
        uri=message.uri,
        created_at=message.created_at,
        deliveries=deliveries,
    )


@dataclass(frozen=True, slots=True)
class Activity:
    """Deliveries that arrived (acknowledged, or accepted by a vendor) and were opened, per
    hour or per day of the app's time zone."""

    labels: tuple[str, ...]
    arrived: tuple[int, ...]
    opened: tuple[int, ...]


SLOT_MS = 15 * 60 * 1000  # every time zone's offset is a whole number of quarter hours


async def _activity(db: Database, app_pk: int, timezone: str, hours: int, now_ms: int) -> Activity:
    zone = ZoneInfo(timezone)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    by_day = hours > 24
    if by_day:
        first = datetime.combine(now.date() - timedelta(days=hours // 24 - 1), time(), zone)
    else:
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    since = int(first.timestamp()) * 1000
    since -= since % SLOT_MS
    arrived = await db.read(store.counted_by_slot, app_pk, "acked_at", since, now_ms + 1, SLOT_MS)
    opened = await db.read(store.counted_by_slot, app_pk, "opened_at", since, now_ms + 1, SLOT_MS)

    def bucket(slot: int) -> str:
        local = datetime.fromtimestamp((since + slot * SLOT_MS) / 1000, zone)
        return local.strftime("%m-%d") if by_day else local.strftime("%H:00")

    labels: list[str] = []
    moment = first
    while moment <= now:
        labels.append(moment.strftime("%m-%d") if by_day else moment.strftime("%H:00"))
        moment = (
            datetime.combine(moment.date() + timedelta(days=1), time(), zone)
            if by_day
            else moment + timedelta(hours=1)
        )
    index = {label: i for i, label in enumerate(labels)}
    totals = ([0] * len(labels), [0] * len(labels))
    for counts, total in zip((arrived, opened), totals, strict=True):
        for slot, count in counts.items():
            position = index.get(bucket(slot))
            if position is not None:
                total[position] += count
    return Activity(tuple(labels), tuple(totals[0]), tuple(totals[1]))
