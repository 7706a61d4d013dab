"""Listing and cancelling the occurrences of scheduled and loop pushes.

Cancelling is all or nothing: every id must name a scheduled push or an occurrence of the app,
and none may have run already, or the call changes nothing. Cancelling what is cancelled already
is not an error, so a retried call succeeds. A push's id cancels every occurrence still waiting
(the ones that ran stay as they are); an occurrence's id cancels that one.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Row

from tidings.errors import Code, ServiceError
from tidings.schedule.listing import (
    PUSH_TYPES,
    ListQuery,
    Occurrence,
    executed_status,
    shown_id,
)
from tidings.schedule.parents import settle
from tidings.store import schedules as store
from tidings.store.database import Database
from tidings.tasks import CANCELLED, FINISHED, PENDING, SKIPPED


class Occurrences:
    """What the API, the console and the command line ask of the occurrences: list and cancel.

    Firing them at their time is schedule/firing.py's ``FiringLoop``, which runs in the server.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, app_pk: int, query: ListQuery) -> tuple[list[Occurrence], int]:
        """One page of the app's occurrences by trigger time, and how many match in all."""
        return await self._db.read(_page, app_pk, query)

    async def cancel(
        self, app_pk: int | None, ids: list[int], actions: frozenset[str] | None = None
    ) -> int:
        """Cancel what ``ids`` name (in any app when ``app_pk`` is None); how many occurrences."""
        return await self._db.write(_cancel, app_pk, ids, actions)


def _page(conn: Connection, app_pk: int, query: ListQuery) -> tuple[list[Occurrence], int]:
    rows, total = store.page(
        conn,
        app_pk,
        since=query.since,
        until=query.until,
        actions=query.actions,
        task_id=query.task_id,
        state=PENDING if query.waiting_only else None,
        offset=(query.page - 1) * query.size,
        limit=query.size,
    )
    texts = store.first_messages(conn, {row.parent_id for row in rows})
    return [_occurrence(row, texts.get(row.parent_id)) for row in rows], total


def _occurrence(row: Row, text: Row | None) -> Occurrence:
    return Occurrence(
        unique_id=shown_id(row.id, row.parent_id, row.strategy_type),
        parent_id=row.parent_id,
        name=row.name,
        push_time=row.due_at,
        title=text.title if text else "",
        content=text.content if text else "",
        push_type=PUSH_TYPES.get(row.action, -1),
        delivery_type=row.delivery_type,
        strategy_type=row.strategy_type,
        executed_status=executed_status(row.state),
        created_at=row.created_at,
    )


def _cancel(
    conn: Connection, app_pk: int | None, ids: list[int], actions: Collection[str] | None
) -> int:
    found = {row.id: row for row in store.find(conn, ids, app_pk)}
    for task_id in ids:
        _check_cancellable(found.get(task_id), task_id, actions)
    pushes = {i for i in ids if found[i].parent_id is None}
    singles = [
        i for i in ids if found[i].parent_id is not None and found[i].parent_id not in pushes
    ]
    # Occurrences are locked before their parents (store/schedules.py says why).
    cancelled = store.move_children(conn, pushes, PENDING, CANCELLED)
    cancelled += store.move(conn, singles, PENDING, CANCELLED)
    left = [i for i in singles if i not in cancelled]
    for row in store.find(conn, left, app_pk):
        if row.state != CANCELLED:
            ran = "was skipped" if row.state == SKIPPED else "has run"
            raise ServiceError(
                Code.INVALID_PARAM, f"UniqueIds: occurrence {row.id} {ran} already; too late"
            )
    before = settle(conn, {found[i].parent_id for i in singles} | pushes, cancel=pushes)
    finished = [i for i in sorted(pushes) if before.get(i) == FINISHED]
    if finished:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"UniqueIds: scheduled push {finished[0]} has no occurrence left to cancel; "
            "every one has run",
        )
    return len(cancelled)


def _check_cancellable(row: Row | None, task_id: int, actions: Collection[str] | None) -> None:
    if row is None:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"UniqueIds: no scheduled push or occurrence {task_id} in this app",
        )
    if row.parent_id is None and row.strategy_type == 0:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"UniqueIds: task {task_id} is an immediate push; only scheduled ones can be cancelled",
        )
    if actions is not None and row.action not in actions:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"UniqueIds: {task_id} is a {row.action} push (Type {PUSH_TYPES.get(row.action)})",
        )
