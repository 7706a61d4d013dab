"""What happened to pushes, read for the console's task and analytics pages: per-status delivery
counts of its pushes and arrivals and opens over time.

Message traces come from the analytics service (analytics/trace.py), which the OpenAPI's
troubleshooting shares; the per-status counts here break deliveries down further than the MPS
counters do (waiting, no device, expired, revoked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row

from tidings.analytics.labels import slot_of
from tidings.contract import Status, status_label
from tidings.store import analytics as analytics_store
from tidings.store import reports as store
from tidings.store.database import Database


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


@dataclass(frozen=True, slots=True)
class Activity:
    """Messages pushed in each hour (or day, in the app's time zone) that arrived (acknowledged
    by the device, or accepted by its vendor) and that were opened: read from the analytics
    counters, which keep them per quarter hour of the push."""

    labels: tuple[str, ...]
    arrived: tuple[int, ...]
    opened: tuple[int, ...]


async def _activity(db: Database, app_pk: int, timezone: str, hours: int, now_ms: int) -> Activity:
    zone = ZoneInfo(timezone)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    by_day = hours > 24
    if by_day:
        first = datetime.combine(now.date() - timedelta(days=hours // 24 - 1), time(), zone)
    else:
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    since = slot_of(int(first.timestamp()) * 1000)
    rows = await db.read(analytics_store.by_slot, app_pk, since, now_ms + 1)

    def bucket(instant_ms: int) -> str:
        local = datetime.fromtimestamp(instant_ms / 1000, zone)
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
    arrived, opened = [0] * len(labels), [0] * len(labels)
    for row in rows:
        position = index.get(bucket(row.slot))
        if position is not None:
            arrived[position] += row.successful
            opened[position] += row.opened
    return Activity(tuple(labels), tuple(arrived), tuple(opened))
