"""Retention prunes finished work past its time, in small batches, and nothing else: not a
message still waiting within its validity, not a scheduled push with occurrences to come; on
SQLite the file's freed pages go back to the file system."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select

from tests.support.servers import served_database
from tidings.instants import DAY_MS
from tidings.retention.policy import RetentionPolicy
from tidings.retention.pruner import Pruner
from tidings.store.database import Database
from tidings.store.live_activities import ACTIVITY_LIFETIME_MS, START_TOKEN_LIFETIME_MS
from tidings.store.tables import (
    apps,
    deliveries,
    delivery_events,
    devices,
    live_activities,
    live_activity_start_tokens,
    messages,
    push_stats,
    tasks,
    workspaces,
)

NOW = 1_800_000_000_000
SLOT = 15 * 60 * 1000
POLICY = RetentionPolicy(days=30, analytics_days=400)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    with served_database(request.param, tmp_path) as made:
        made.migrate()
        yield made
        await made.aclose()


def _app(conn: Connection) -> None:
    conn.execute(insert(workspaces).values(pk=1, name="w", created_at=0))
    conn.execute(
        insert(apps).values(pk=1, workspace_pk=1, app_id="a", timezone="UTC", created_at=0)
    )


def _task(
    conn: Connection,
    task_id: int,
    state: str,
    due_days_ago: float,
    *,
    parent: int | None = None,
    expired_seconds: int = 300,
    messages_count: int = 1,
    deliveries_each: int = 1,
) -> None:
    """A task due ``due_days_ago``, its messages (a parent's occurrences make the deliveries of
    their parent's messages), each message's deliveries with an event each, a counter row."""
    at = NOW - int(due_days_ago * DAY_MS)
    conn.execute(
        insert(tasks).values(
            id=task_id,
            parent_id=parent,
            app_pk=1,
            action="PushMultiple",
            name="t",
            delivery_type=3,
            expired_seconds=expired_seconds,
            strategy_type=1 if parent else 0,
            options="{}",
            state=state,
            digest="d",
            message_count=messages_count,
            created_at=at,
            due_at=at,
        )
    )
    owner = parent or task_id
    if parent is None:
        conn.execute(
            insert(messages),
            [
                {
                    "pk": task_id * 1000 + i,
                    "task_id": task_id,
                    "app_pk": 1,
                    "msg_key": f"k{task_id}-{i}",
                    "target": "u",
                    "title": "T",
                    "content": "C",
                    "created_at": at,
                }
                for i in range(messages_count)
            ],
        )
    for i in range(messages_count):
        for d in range(deliveries_each):
            delivery = task_id * 100_000 + i * 100 + d
            conn.execute(
                insert(deliveries).values(
                    id=delivery,
                    task_id=task_id,
                    message_pk=owner * 1000 + i,
                    app_pk=1,
                    user_id=f"u{d}",
                    status=1,
                    attempts=0,
                    created_at=at,
                    expires_at=at + expired_seconds * 1000,
                    updated_at=at,
                )
            )
            conn.execute(insert(delivery_events).values(delivery_id=delivery, at=at, status=1))


def _counter(conn: Connection, task_id: int, days_ago: int) -> None:
    conn.execute(
        insert(push_stats).values(
            app_pk=1,
            task_id=task_id,
            push_id=task_id,
            action="PushMultiple",
            slot=(NOW - days_ago * DAY_MS) // SLOT * SLOT,
            platform="",
            channel="",
            pushed=1,
            successful=0,
            arrived=0,
            opened=0,
        )
    )


def _left(conn: Connection) -> dict[str, object]:
    return {
        "tasks": sorted(conn.execute(select(tasks.c.id)).scalars()),
        "messages": conn.execute(select(func.count()).select_from(messages)).scalar(),
        "deliveries": conn.execute(select(func.count()).select_from(deliveries)).scalar(),
        "events": conn.execute(select(func.count()).select_from(delivery_events)).scalar(),
        "counters": sorted(conn.execute(select(push_stats.c.task_id)).scalars()),
    }


def _store(conn: Connection) -> None:
    _app(conn)
    # Finished long ago: pruned, 3 messages x 4 deliveries, in several batches.
    _task(conn, 1, "dispatched", 31, messages_count=3, deliveries_each=4)
    # As old, but its messages are valid for 60 days: they may still reach a device.
    _task(conn, 2, "dispatched", 31, expired_seconds=60 * 86_400)
    # A loop push with an occurrence to come keeps its messages; an occurrence it fired long
    # ago is finished work and goes.
    _task(conn, 3, "scheduled", 40)
    _task(conn, 4, "dispatched", 39, parent=3)
    _task(conn, 5, "pending", -1, parent=3, deliveries_each=0)
    # A finished loop push whose occurrences are all old: all of it goes, occurrences first.
    _task(conn, 6, "finished", 45, deliveries_each=0)
    _task(conn, 7, "dispatched", 44, parent=6)
    _task(conn, 8, "skipped", 43, parent=6, deliveries_each=0)
    # Recent: kept.
    _task(conn, 9, "dispatched", 29)
    # An immediate push never dispatched (no process ran): kept for delivery to take.
    _task(conn, 10, "accepted", 31, deliveries_each=0)
    _counter(conn, 1, 401)
    _counter(conn, 2, 400)
    _counter(conn, 9, 29)


async def test_only_finished_work_past_its_time_is_pruned(db: Database) -> None:
    await db.write(_store)
    pruner = Pruner(db, POLICY, clock=lambda: NOW / 1000, batch_rows=5)
    done = await pruner.sweep()
    left = await db.read(_left)
    assert left == {
        "tasks": [2, 3, 5, 9, 10],
        "messages": 4,  # tasks 2, 3, 9, 10
        "deliveries": 3,  # of tasks 2, 3, 9
        "events": 3,
        "counters": [2, 9],
    }
    assert done.tasks == 5  # 1, 4, 6, 7, 8
    assert done.counters == 1
    assert 0 < done.longest_batch < 1.0
    again = await pruner.sweep()
    assert (again.tasks, again.rows, again.counters) == (0, 0, 0)


async def test_a_message_within_its_validity_is_kept_until_it_ends(db: Database) -> None:
    await db.write(_store)
    valid_until = NOW - 31 * DAY_MS + 60 * 86_400_000
    later = Pruner(db, POLICY, clock=lambda: (valid_until + 1) / 1000)
    await later.sweep()
    assert 2 not in (await db.read(_left))["tasks"]


async def test_sqlite_gives_the_pruned_pages_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'tidings.db'}")
    db.migrate()
    try:

        def pages(conn: Connection) -> tuple[int, int]:
            count = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            return count, conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()

        def fill(conn: Connection) -> None:
            _app(conn)
            _task(conn, 1, "dispatched", 31, messages_count=200, deliveries_each=20)

        empty, _ = await db.read(pages)  # the schema alone: a page or more per table and index
        await db.write(fill)
        full, _ = await db.read(pages)
        done = await Pruner(db, POLICY, clock=lambda: NOW / 1000).sweep()
        assert done.rows == 200 * 20 + 200 + 1
        after, free = await db.read(pages)
        assert free == 0
        assert after - empty < (full - empty) / 3
    finally:
        await db.aclose()


async def test_live_activity_registrations_and_start_tokens_go_once_past_their_lifetime(
    db: Database,
) -> None:
    def registered(conn: Connection) -> None:
        _app(conn)
        conn.execute(
            insert(devices).values(
                pk=1, app_pk=1, token="d", platform="ios", manufacturer="ios", created_at=0
            )
        )
        for name, age in (("gone", ACTIVITY_LIFETIME_MS + 1), ("live", ACTIVITY_LIFETIME_MS - 1)):
            conn.execute(
                insert(live_activities).values(
                    app_pk=1, activity_id=name, push_token="ab", device_pk=1, updated_at=NOW - age
                )
            )
        for name, age in (
            ("Gone", START_TOKEN_LIFETIME_MS + 1),
            ("Kept", 3 * ACTIVITY_LIFETIME_MS),
        ):
            conn.execute(
                insert(live_activity_start_tokens).values(
                    device_pk=1, attributes_type=name, push_token="cd", updated_at=NOW - age
                )
            )

    await db.write(registered)
    await Pruner(db, POLICY, clock=lambda: NOW / 1000).sweep()
    left = await db.read(
        lambda conn: list(conn.execute(select(live_activities.c.activity_id)).scalars())
    )
    assert left == ["live"]
    types = select(live_activity_start_tokens.c.attributes_type)
    assert await db.read(lambda conn: list(conn.execute(types).scalars())) == ["Kept"]
