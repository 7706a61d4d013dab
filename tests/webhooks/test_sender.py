"""The sender against a real receiver and a real database, on a clock the test moves: a failing
endpoint is marked failing then disabled, events are dropped after the retry period, delivered
ones pruned with the rest of the finished work after the retention period, and a disabled
endpoint is written no new events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.console.conftest import Clock
from tests.support.webhook_receiver import Receiver, receiving
from tidings.config import Settings
from tidings.services import Services
from tidings.store import webhooks as store
from tidings.store.tables import webhook_attempts, webhook_outbox
from tidings.webhooks import outbox

RETRY, DISABLE = 600, 3600
KEEP = 7 * 86400  # the shortest retention_days allows


@pytest.fixture
async def services(
    database_url: str | None, tmp_path: Path, clock: Clock
) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        webhook_retry_seconds=RETRY,
        webhook_disable_seconds=DISABLE,
        retention_days=KEEP // 86400,
        retention_batch_rows=1,  # pruning a row per write: the batches must follow one another
        webhook_timeout_seconds=5,
    )
    opened = await Services.open(settings, clock=clock)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as made:
        yield made


async def endpoint(services: Services, receiver: Receiver) -> tuple[int, int]:
    app = await services.tenancy.create_app("ws", "APP1")
    pk, secret = await services.webhooks.add(app.pk, receiver.url, "message.accepted")
    receiver.secrets.append(secret)
    return app.pk, pk


async def accept(services: Services, app_pk: int, clock: Clock, *keys: str) -> None:
    now_ms = int(clock() * 1000)
    await services.db.write(
        outbox.messages_accepted, app_pk, 1, [(k, "user") for k in keys], now_ms
    )


async def states(services: Services) -> list[str]:
    query = select(webhook_outbox.c.state).order_by(webhook_outbox.c.pk)
    return await services.db.read(lambda conn: list(conn.execute(query).scalars()))


async def test_a_failing_endpoint_is_marked_then_disabled_then_written_nothing(
    services: Services, receiver: Receiver, clock: Clock
) -> None:
    app_pk, pk = await endpoint(services, receiver)
    sender = services.webhooks.sender
    receiver.status = 503
    await accept(services, app_pk, clock, "a")
    assert await sender.send_due() == 1
    found = await services.webhooks.endpoint(app_pk, pk)
    assert found.enabled and found.failing_since == int(clock() * 1000)
    assert await sender.send_due() == 0, "not due again before its backoff"
    (attempt,) = await services.webhooks.attempts(app_pk, pk)
    assert attempt.status_code == 503 and attempt.response == "refused by the test receiver"
    clock.now += DISABLE + 1
    await accept(services, app_pk, clock, "b")
    assert await sender.send_due() == 2
    assert not (await services.webhooks.endpoint(app_pk, pk)).enabled
    await accept(services, app_pk, clock, "c")  # disabled: nothing written for it
    assert await states(services) == ["expired", "pending"]  # "a" outlived its retry period
    clock.now += 3600
    assert await sender.send_due() == 0, "a disabled endpoint is sent nothing"
    receiver.status = 200
    await services.webhooks.enable(app_pk, pk)
    assert await sender.send_due() == 1
    assert [e["data"]["msgKey"] for e in receiver.events()] == ["b"]
    assert (await services.webhooks.endpoint(app_pk, pk)).failing_since is None


async def test_delivered_events_and_attempts_are_pruned_after_the_retention_period(
    services: Services, receiver: Receiver, clock: Clock
) -> None:
    app_pk, _ = await endpoint(services, receiver)
    sender = services.webhooks.sender
    await accept(services, app_pk, clock, "old")
    assert await sender.send_due() == 1
    clock.now += KEEP - 10
    await accept(services, app_pk, clock, "new")
    assert await sender.send_due() == 1
    clock.now += 20
    await services.pruner.sweep()
    assert await states(services) == ["delivered"]
    count = select(func.count()).select_from(webhook_attempts)
    assert await services.db.read(lambda conn: conn.execute(count).scalar_one()) == 1


async def test_a_batch_is_several_events_and_pending_ones_survive_pruning(
    services: Services, receiver: Receiver, clock: Clock
) -> None:
    app_pk, pk = await endpoint(services, receiver)
    receiver.status = 500
    await accept(services, app_pk, clock, *[f"k{i}" for i in range(120)])
    assert await services.webhooks.sender.send_due() == 120
    assert len(receiver.requests) == 1, "a dead endpoint costs one request a pass"
    clock.now += KEEP + 1
    await services.pruner.sweep()
    assert len(await states(services)) == 120
    receiver.status = 200
    clock.now += 1
    await services.webhooks.enable(app_pk, pk)
    await services.webhooks.sender.send_due()
    sizes = sorted(len(r.events) for r in receiver.accepted())
    assert sizes == [20, 50, 50]


@pytest.mark.parametrize("status", [200, 500])
async def test_an_endpoint_removed_while_its_batch_is_on_the_way(
    services: Services, receiver: Receiver, clock: Clock, status: int
) -> None:
    app_pk, pk = await endpoint(services, receiver)
    receiver.status = status
    await accept(services, app_pk, clock, "a")
    now_ms = int(clock() * 1000)
    owed = await services.db.write(store.claim_due, now_ms, 10, now_ms + 1000)
    (row,) = await services.db.read(store.endpoints_by_pk, [pk])
    await services.webhooks.remove(app_pk, pk)
    assert await services.webhooks.sender.post(row, owed) is (status == 200)
    assert await states(services) == []
