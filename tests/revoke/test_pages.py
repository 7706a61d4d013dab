"""RevokePushTask moves a broadcast's deliveries a page at a time, on SQLite and PostgreSQL
through the services: each page a write of its own that other writes get between, a delivery
acknowledged between pages counted once by what it was when its page reached it, nothing sent
of the revoked message meanwhile, and a revocation stopped between pages finished by the next;
an occurrence of a scheduled push revoked in pages leaves the other occurrences' deliveries be."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select, update

from tests.push.test_broadcast import CALL
from tests.support.rows import one_push
from tidings.contract import Status
from tidings.delivery.audience_batches import resolve_batch
from tidings.revoke.rules import RevokeResult
from tidings.revoke.service import Revocations
from tidings.services import Services
from tidings.store.database import Database
from tidings.store.tables import deliveries, devices, tasks
from tidings.tasks import DISPATCHED, SCHEDULED
from tidings.templates.rules import TemplateFields

DEVICES = 6
PAGE = 2  # three pages of two


class Paused:
    """The services' database as a revocation sees it, with ``between(n)`` awaited after its
    n-th write returns: 1 is the first transaction, 2 the first page, and so on."""

    def __init__(self, db: Database, between: Callable[[int], Awaitable[None]]) -> None:
        self._db = db
        self._between = between
        self.writes = 0

    async def read(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self._db.read(work, *args, **kwargs)

    async def write(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = await self._db.write(work, *args, **kwargs)
        self.writes += 1
        await self._between(self.writes)
        return result


async def broadcast(services: Services) -> tuple[int, int, list[tuple[int, int]]]:
    """A broadcast to DEVICES devices, resolved: the app's pk, the task id, and (delivery id,
    device pk) of each delivery in id order."""
    app = await services.tenancy.create_app("ws", "APP1")
    await services.templates.create(
        app.pk, TemplateFields(name=CALL.template_name, title="Hi", content="#name#: #money#")
    )
    for _ in range(DEVICES):
        await services.devices.register(app.pk, "android")
    task_id = await services.pushes.push_broadcast(
        app, replace(CALL, msg_key=uuid.uuid4().hex, push_status="1", unbind_period="4").call()
    )
    now_ms = int(services.revocations._clock() * 1000)
    while (await services.db.write(resolve_batch, now_ms, frozenset(services.channels))).claimed:
        pass
    made = await services.db.read(
        lambda conn: conn.execute(
            select(deliveries.c.id, deliveries.c.device_pk).order_by(deliveries.c.id)
        ).all()
    )
    assert len(made) == DEVICES
    return app.pk, task_id, [tuple(row) for row in made]


def revoked_count(conn: Connection) -> int:
    query = select(func.count()).where(deliveries.c.status == Status.REVOKED)
    return conn.execute(query).scalar_one()


def statuses(conn: Connection) -> list[tuple[int, bool]]:
    """(status, acknowledged) of each delivery, in id order."""
    query = select(deliveries.c.status, deliveries.c.acked_at.is_not(None)).order_by(
        deliveries.c.id
    )
    return [tuple(row) for row in conn.execute(query)]


def probe(services: Services, seen: list[int]) -> Callable[[int], Awaitable[None]]:
    """Between the revocation's writes, another write, committed while it is under way: what it
    sees revoked goes to ``seen``."""

    async def between(_: int) -> None:
        seen.append(await services.db.write(revoked_count))

    return between


def paged(services: Services, between: Callable[[int], Awaitable[None]]) -> Revocations:
    db = Paused(services.db, between)
    return Revocations(db, services.channels, clock=services.revocations._clock, page_rows=PAGE)  # type: ignore[arg-type]


async def test_each_page_is_a_write_of_its_own_that_others_get_between(services: Services) -> None:
    app_pk, task_id, _ = await broadcast(services)
    seen: list[int] = []
    result = await paged(services, probe(services, seen)).revoke_task(app_pk, str(task_id))
    assert result == RevokeResult(withdrawn=DEVICES)
    # after the first transaction nothing, then each page's, a page at a time
    assert seen == list(range(0, DEVICES + 1, PAGE)), seen


async def test_a_delivery_acknowledged_between_pages_is_counted_once(services: Services) -> None:
    app_pk, task_id, made = await broadcast(services)
    ids = [delivery_id for delivery_id, _ in made]
    owed: list[Any] = []

    async def between(write: int) -> None:
        if write != 2:
            return
        # after the first page: one of its deliveries (already withdrawn) and one of the
        # second page's (still pending) are acknowledged, and the devices ask what they are owed
        services.delivery.acked([ids[1], ids[3]])
        await services.delivery.acks_written()
        owed.append(await services.delivery.owed([pk for _, pk in made], 10))

    result = await paged(services, between).revoke_task(app_pk, str(task_id))
    assert result == RevokeResult(withdrawn=DEVICES - 1, recalled=1)
    pending, _ = owed[0]
    assert pending == []  # still pending, but of a revoked message: nothing is sent
    expected = [(Status.REVOKED, False)] * DEVICES
    expected[3] = (Status.REVOKED, True)
    assert await services.db.read(statuses) == expected
    assert await services.revocations.revoke_task(app_pk, str(task_id)) == RevokeResult()


async def test_acks_written_with_a_page_are_each_counted_once(services: Services) -> None:
    """Every device acknowledges while the second page is written: each of the later pages'
    deliveries is recalled if its ack came first and withdrawn if its page did, never both and
    never neither (the first page's were withdrawn before)."""
    app_pk, task_id, made = await broadcast(services)

    async def between(write: int) -> None:
        if write == 2:  # queued with the second page, in its transaction or beside it
            services.delivery.acked([delivery_id for delivery_id, _ in made])

    result = await paged(services, between).revoke_task(app_pk, str(task_id))
    await services.delivery.acks_written()
    left = await services.db.read(statuses)
    assert {status for status, _ in left} == {Status.REVOKED}
    acked = sum(1 for _, was_acked in left if was_acked)
    assert not any(was_acked for _, was_acked in left[:PAGE])
    assert result == RevokeResult(withdrawn=DEVICES - acked, recalled=acked)


async def test_a_revocation_stopped_between_pages_sends_nothing_and_the_next_one_finishes(
    services: Services,
) -> None:
    app_pk, task_id, made = await broadcast(services)

    async def between(write: int) -> None:
        if write == 2:
            raise RuntimeError("the process stopped after the first page")

    with pytest.raises(RuntimeError):
        await paged(services, between).revoke_task(app_pk, str(task_id))
    left = await services.db.read(statuses)
    assert left == [(Status.REVOKED, False)] * PAGE + [(Status.PENDING, False)] * (DEVICES - PAGE)
    pending, _ = await services.delivery.owed([pk for _, pk in made], 10)
    assert pending == []
    again = await services.revocations.revoke_task(app_pk, str(task_id))
    assert again == RevokeResult(withdrawn=DEVICES - PAGE)
    assert await services.db.read(statuses) == [(Status.REVOKED, False)] * DEVICES
    assert await services.revocations.revoke_task(app_pk, str(task_id)) == RevokeResult()


async def test_an_occurrence_is_revoked_in_pages_without_the_other_occurrences(
    services: Services,
) -> None:
    """Occurrences deliver their push's messages: the occurrence's deliveries are found by the
    message and checked for the task, page by page."""
    now_ms = int(services.revocations._clock() * 1000)
    with services.db.engine.begin() as conn:
        one_push(conn, action="PushSimple", delivery_type=1, now=now_ms)  # task 1, message 1
        conn.execute(update(tasks).values(strategy_type=2, state=SCHEDULED))
        parent = conn.execute(select(tasks).where(tasks.c.id == 1)).one()._asdict()
        for occurrence in (2, 3):  # fired a minute apart
            fired = {"id": occurrence, "parent_id": 1, "due_at": now_ms - occurrence * 60_000}
            conn.execute(
                insert(tasks).values(parent | fired).values(strategy_type=0, state=DISPATCHED)
            )
        conn.execute(
            insert(devices),
            [
                {"pk": pk, "app_pk": 1, "token": f"d{pk}", "platform": "android"}
                | {"manufacturer": "android", "created_at": 0}
                for pk in range(1, 2 * DEVICES + 1)
            ],
        )
        conn.execute(
            insert(deliveries),
            [
                {"id": pk, "task_id": 2 if pk % 2 else 3, "message_pk": 1, "app_pk": 1}
                | {"device_pk": pk, "channel": "selfbuilt", "status": Status.PENDING}
                | {"attempts": 0, "created_at": now_ms, "expires_at": now_ms + 600_000}
                | {"updated_at": now_ms}
                for pk in range(1, 2 * DEVICES + 1)
            ],
        )
    seen: list[int] = []
    result = await paged(services, probe(services, seen)).revoke_task(1, "2")
    assert result == RevokeResult(withdrawn=DEVICES)
    assert seen == list(range(0, DEVICES + 1, PAGE)), seen
    left = await services.db.read(statuses)
    assert [status for status, _ in left] == [Status.REVOKED, Status.PENDING] * DEVICES
    # the push's message is not revoked: the other occurrence's deliveries are still sent
    pending, _ = await services.delivery.owed([2, 4], 10)
    assert [item.id for item in pending] == [2, 4]
