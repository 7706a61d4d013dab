"""Firing occurrences on a fake clock, against real SQLite and PostgreSQL databases.

Pushes are accepted through the push service as the endpoint accepts them; the scheduler is
driven one ``tick`` at a time, so a push due in an hour is tested without waiting an hour.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import BACKENDS
from tests.support.servers import database
from tests.support.timings import wire_timing
from tidings.config import Settings
from tidings.errors import ServiceError
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import MultipleFields, target_inputs
from tidings.schedule.firing import FiringLoop, fire_due
from tidings.schedule.service import Occurrences
from tidings.services import Services
from tidings.store.database import Database
from tidings.store.tables import tasks
from tidings.templates.rules import TemplateFields
from tidings.tenancy.models import App

HOUR = 3600 * 1000
DAY = 24 * HOUR
START = datetime(2027, 3, 10, 4, 0, tzinfo=UTC).timestamp()  # 12:00 in Shanghai


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


@dataclass
class World:
    services: Services
    app: App
    clock: Clock
    url: str

    async def push(self, strategy_type: int, content: dict[str, Any], expired: int = 600) -> int:
        fields = MultipleFields(
            task_name="morning news",
            delivery_type="3",
            template_name="news",
            expired_seconds=str(expired),
            timing=wire_timing(str(strategy_type), json.dumps(content)),
            target_count=1,
            options=OptionFields(),
        )
        entry = {"Target": "user1", "MsgKey": uuid.uuid4().hex, "TemplateKeyValue": '{"n":"x"}'}
        return await self.services.pushes.push_multiple(
            self.app, fields.call(), lambda: target_inputs([entry])
        )

    async def at(self, fixed_ms: int, expired: int = 600) -> int:
        return await self.push(1, {"fixedTime": fixed_ms}, expired)

    async def daily(self, days: int, at: str, expired: int = 600) -> int:
        today = self.clock.ms
        content = {"startTime": today, "endTime": today + (days - 1) * DAY, "circleType": 1}
        return await self.push(2, {**content, "time": at}, expired)

    async def rows(self, parent_id: int) -> list[tuple[int, str, int]]:
        """(id, state, due_at) of the parent, then of its occurrences by due time."""

        def read(conn):
            query = (
                select(tasks.c.id, tasks.c.state, tasks.c.due_at)
                .where((tasks.c.id == parent_id) | (tasks.c.parent_id == parent_id))
                .order_by(tasks.c.parent_id.is_not(None), tasks.c.due_at)
            )
            return [tuple(row) for row in conn.execute(query)]

        return await self.services.db.read(read)

    def scheduler(self, **options: Any) -> FiringLoop:
        return FiringLoop(self.services.db, clock=self.clock, recheck_seconds=86400, **options)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def world(database_url: str | None, tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock(START)
    settings = Settings(data_dir=tmp_path, database_url=database_url, max_scheduled_tasks_per_app=3)
    services = await Services.open(settings, clock=clock)
    try:
        app = await services.tenancy.create_app("ws", "APP1", None, "Asia/Shanghai")
        await services.templates.create(
            app.pk, TemplateFields(name="news", title="News", content="Hello #n#")
        )
        yield World(services, app, clock, settings.database)
    finally:
        await services.aclose()


async def test_a_scheduled_push_fires_at_its_time_and_not_before(world: World) -> None:
    due = world.clock.ms + HOUR
    parent = await world.at(due)
    scheduler = world.scheduler()
    assert await scheduler.tick() == 3600.0  # asleep until then, no polling in between
    world.clock.now += 3599.999
    assert await scheduler.tick() == pytest.approx(0.001, abs=1e-6)
    [(_, state, _), (child, child_state, child_due)] = await world.rows(parent)
    assert (state, child_state, child_due) == ("scheduled", "pending", due)

    world.clock.now += 0.001
    assert await scheduler.tick() == 86400  # nothing left: only the slow re-check
    assert await world.rows(parent) == [(parent, "finished", due), (child, "accepted", due)]


async def test_a_loop_fires_day_by_day_and_its_parent_follows(world: World) -> None:
    parent = await world.daily(3, "12:00:05")  # 5 s from now, then on the next two days
    first = world.clock.ms + 5000
    scheduler = world.scheduler()
    assert await scheduler.tick() == 5.0
    for day in range(3):
        world.clock.now = (first + day * DAY) / 1000
        await scheduler.tick()
        rows = await world.rows(parent)
        states = [state for _, state, _ in rows[1:]]
        assert states == ["accepted"] * (day + 1) + ["pending"] * (2 - day)
        if day < 2:
            assert rows[0][1:] == ("scheduled", first + (day + 1) * DAY)
    assert (await world.rows(parent))[0][1] == "finished"


async def test_missed_occurrences_fire_late_within_their_validity_else_are_skipped(
    world: World,
) -> None:
    due = world.clock.ms + 10_000
    lasting = await world.at(due, expired=600)
    short = await world.at(due, expired=60)
    world.clock.now += 10 + 120  # the server was down two minutes past the due time
    await world.scheduler().tick()
    assert [state for _, state, _ in await world.rows(lasting)] == ["finished", "accepted"]
    assert [state for _, state, _ in await world.rows(short)] == ["finished", "skipped"]


async def test_waiting_pushes_are_limited_and_leave_the_count_once_done(world: World) -> None:
    """The limit is 3 here (max_scheduled_tasks_per_app); 100 by default."""
    soon = world.clock.ms + 1000
    await world.at(soon)
    await world.daily(2, "13:00:00")
    later = await world.at(soon + HOUR)
    with pytest.raises(ServiceError) as refused:
        await world.at(soon + 2 * HOUR)
    assert refused.value.code.value_str == "3028"
    assert "already has 3 scheduled or loop pushes waiting" in refused.value.detail

    world.clock.now += 1
    await world.scheduler().tick()  # the first one fired: room for one more
    fourth = await world.at(soon + 2 * HOUR)
    with pytest.raises(ServiceError):
        await world.at(soon + 3 * HOUR)
    assert await Occurrences(world.services.db).cancel(world.app.pk, [later]) == 1
    assert await world.at(soon + 3 * HOUR) > fourth


async def test_cancelling_a_push_or_one_occurrence(world: World) -> None:
    schedules = Occurrences(world.services.db)
    loop = await world.daily(3, "12:30:00")
    [_, first, second, third] = await world.rows(loop)
    assert await schedules.cancel(world.app.pk, [second[0]]) == 1
    assert await schedules.cancel(world.app.pk, [second[0]]) == 0  # a retry changes nothing

    world.clock.now = first[2] / 1000
    await world.scheduler().tick()
    with pytest.raises(ServiceError) as late:
        await schedules.cancel(world.app.pk, [third[0], first[0]])
    assert f"occurrence {first[0]} has run already" in late.value.detail
    assert [row[1] for row in await world.rows(loop)] == [
        "scheduled",
        "accepted",
        "cancelled",
        "pending",  # untouched: the call was refused as a whole
    ]
    assert await schedules.cancel(world.app.pk, [loop]) == 1
    assert [row[1] for row in await world.rows(loop)] == [
        "cancelled",
        "accepted",
        "cancelled",
        "cancelled",
    ]
    world.clock.now += 3 * DAY / 1000
    await world.scheduler().tick()
    assert (await world.rows(loop))[3][1] == "cancelled"  # a cancelled occurrence never fires


async def test_cancel_refuses_what_is_not_a_waiting_push_of_the_app(world: World) -> None:
    schedules = Occurrences(world.services.db)
    done = await world.at(world.clock.ms + 1000)
    world.clock.now += 1
    await world.scheduler().tick()
    other = await world.services.tenancy.create_app("ws", "APP2", None, "Asia/Shanghai")
    cases = [
        (done, f"scheduled push {done} has no occurrence left to cancel"),
        (10**9, "no scheduled push or occurrence 1000000000 in this app"),
    ]
    for task_id, said in cases:
        with pytest.raises(ServiceError) as refused:
            await schedules.cancel(world.app.pk, [task_id])
        assert said in refused.value.detail
    waiting = await world.at(world.clock.ms + HOUR)
    with pytest.raises(ServiceError, match="in this app"):
        await schedules.cancel(other.pk, [waiting])
    with pytest.raises(ServiceError, match="is a PushMultiple push"):
        await schedules.cancel(world.app.pk, [waiting], frozenset({"PushSimple"}))


async def test_a_push_accepted_here_wakes_the_sleeping_scheduler(world: World) -> None:
    """The service's scheduler re-checks only every 30 s; the push must not wait for that."""
    world.services.firing_loop.start()
    await asyncio.sleep(0.1)  # it found nothing due and went to sleep
    parent = await world.at(world.clock.ms)  # due this very second
    for _ in range(100):
        states = [state for _, state, _ in await world.rows(parent)]
        if states == ["finished", "accepted"]:
            break
        await asyncio.sleep(0.05)
    assert states == ["finished", "accepted"]


async def test_processes_firing_together_fire_each_occurrence_once(world: World) -> None:
    """Two database handles stand for two processes; small batches make them interleave.

    Ten occurrences of each loop fall due at once (the servers were down ten days: the oldest
    are past their 7-day validity and are skipped), so both processes settle the same parents
    concurrently; each occurrence must be taken by one of them, and every parent end finished.
    """
    parents = [await world.daily(10, "12:30:00", expired=7 * 24 * 3600) for _ in range(3)]
    world.clock.now += 10 * DAY / 1000
    other = Database(world.url)

    async def drain(db: Database) -> list[int]:
        taken: list[int] = []
        more = True
        while more:
            firing = await db.write(fire_due, world.clock.ms, 4)
            taken += firing.fired + firing.skipped
            more = firing.more
        return taken

    try:
        one, two = await asyncio.gather(drain(world.services.db), drain(other))
    finally:
        await other.aclose()
    assert sorted(one + two) == sorted(set(one + two))
    assert len(one + two) == 30
    for parent in parents:
        rows = await world.rows(parent)
        assert [state for _, state, _ in rows] == ["finished"] + ["skipped"] * 3 + ["accepted"] * 7
