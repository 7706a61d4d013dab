"""The analytics service: MPS's analysis queries answered from the counters, and message traces.

Every figure is a sum of counter rows (analytics/counters.py keeps them), so a query costs the
same however many deliveries a push made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Row

from tidings.analytics.queries import Counts, Filters, TaskQuery
from tidings.analytics.trace import MessageTrace, build_trace
from tidings.errors import Code, ServiceError
from tidings.store import analytics as store
from tidings.store import sms as sms_store
from tidings.store import traces as trace_store
from tidings.store.database import Database
from tidings.store.msg_keys import sent_under
from tidings.tasks import BROADCAST, MULTIPLE, validity_end, validity_start

LISTED = (MULTIPLE, BROADCAST)  # QueryPushAnalysisTaskList lists batch and broadcast pushes
TRACED_DELIVERIES = 200  # a broadcast's message may have millions; a trace tells the first ones


@dataclass(frozen=True, slots=True)
class TaskSummary:
    task_id: int
    name: str
    action: str
    template_pk: int | None
    template_name: str | None
    created_at: int  # for an occurrence: the time it is due
    occurrences: tuple[TaskSummary, ...]


@dataclass(frozen=True, slots=True)
class TaskDetail:
    task_id: int
    start: int  # when it went (or goes) out: due time, the first occurrence's for a schedule
    end: int  # when its last message's validity runs out
    counts: Counts


class Analytics:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def now_ms(self) -> int:
        """Now, for windows a caller leaves open."""
        return int(self._clock() * 1000)

    async def core_index(self, app_pk: int, filters: Filters) -> Counts:
        row = await self._db.read(
            store.totals,
            app_pk,
            filters.since_ms,
            filters.until_ms,
            platform=filters.platform,
            channel=filters.channel,
            action=filters.action,
            task_id=filters.task_id,
        )
        return _counts(row)

    async def tasks(self, app_pk: int, query: TaskQuery) -> list[TaskSummary]:
        """A page of the app's batch and broadcast pushes, newest first, with their
        occurrences."""
        return await self._db.read(_tasks, app_pk, query)

    async def task_detail(self, app_pk: int, task_id: int) -> TaskDetail:
        return await self._db.read(_detail, app_pk, task_id)

    async def trace(self, app_pk: int, msg_key: str) -> MessageTrace | None:
        """Everything that happened to the message an app sent under ``msg_key``."""
        return await self._db.read(_trace, app_pk, msg_key)


def _counts(row: Row) -> Counts:
    return Counts(int(row.pushed), int(row.successful), int(row.arrived), int(row.opened))


def _tasks(conn: Connection, app_pk: int, query: TaskQuery) -> list[TaskSummary]:
    rows = store.task_page(
        conn,
        app_pk,
        LISTED,
        query.since_ms,
        task_id=query.task_id,
        name=query.name,
        offset=(query.page - 1) * query.size,
        limit=query.size,
    )
    children: dict[int, list[TaskSummary]] = {}
    for child in store.occurrences(conn, [r.id for r in rows if r.strategy_type != 0]):
        children.setdefault(child.parent_id, []).append(_summary(child, child.due_at, ()))
    return [_summary(r, r.created_at, tuple(children.get(r.id, ()))) for r in rows]


def _summary(row: Row, at: int, occurrences: tuple[TaskSummary, ...]) -> TaskSummary:
    return TaskSummary(
        row.id, row.name, row.action, row.template_pk, row.template_name, at, occurrences
    )


def _detail(conn: Connection, app_pk: int, task_id: int) -> TaskDetail:
    row = store.find_task(conn, app_pk, task_id)
    if row is None:
        raise ServiceError(Code.INVALID_PARAM, f"TaskId: no task {task_id} in this app")
    first = last = validity_start(row.due_at, row.created_at)
    if row.parent_id is None and row.strategy_type != 0:
        span = store.due_span(conn, row.id)
        if span.first is not None:
            first, last = span.first, span.last
    end = validity_end(last, row.created_at, row.expired_seconds)
    return TaskDetail(task_id, first, end, _counts(store.task_totals(conn, task_id)))


def _trace(conn: Connection, app_pk: int, msg_key: str) -> MessageTrace | None:
    sent = sent_under(conn, app_pk, msg_key)  # the messages it names: found once, read twice
    message = trace_store.message(conn, sent)
    if message is None:
        return None
    deliveries = trace_store.deliveries_of(conn, message.pk, TRACED_DELIVERIES)
    count = len(deliveries)
    if count == TRACED_DELIVERIES:
        count = trace_store.count_deliveries(conn, message.pk)
    events = trace_store.events_of(conn, [d.id for d in deliveries])
    webhooks = trace_store.webhooks_of(conn, sent, TRACED_DELIVERIES)
    sms = sms_store.of_message(conn, message.pk)
    return build_trace(message, deliveries, events, count, webhooks, sms)
