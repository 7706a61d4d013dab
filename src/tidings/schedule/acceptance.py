"""Accepting a scheduled or loop push: the per-app limit, and one child task per occurrence.

Every occurrence is written when the push is accepted, in the same transaction as the push
itself, so each has an id from the start (QueryPushSchedulerList lists it, CancelPushScheduler
cancels it) and firing only has to move a row from ``pending`` to ``accepted``. A loop spans at
most 181 days, so a push has at most 181 occurrences. The unique (parent_id, due_at) pair means an
occurrence can never exist twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tidings.errors import Code, ServiceError
from tidings.store import schedules as store
from tidings.tasks import PENDING, SCHEDULED


def check_room(conn: Connection, app_pk: int, limit: int) -> None:
    """Refuse another scheduled push when the app has ``limit`` waiting to run already."""
    store.lock_app(conn, app_pk)
    waiting = store.count_parents(conn, app_pk, SCHEDULED)
    if waiting >= limit:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"StrategyType: the app already has {waiting} scheduled or loop pushes waiting to "
            f"run, the most it may have ({limit}); cancel one with CancelPushScheduler or wait "
            "until one has run",
            ("StrategyType",),
        )


def add_occurrences(
    conn: Connection, parent_id: int, parent: dict[str, Any], due_times: Sequence[int]
) -> None:
    """The parent's occurrences as child tasks: its settings, ``pending``, one per due time."""
    child = {**parent, "parent_id": parent_id, "strategy": None, "state": PENDING}
    store.insert_children(conn, child, due_times)
