"""A broadcast resolved a page at a time inside the database, on SQLite and PostgreSQL: every
device of the audience gets one delivery over the channel the routing rule picks for it (as if
each device were routed in Python), counted under the right counter row, vendor deliveries
leased and handed over, and every device owed a self-built one named, whether the audience
fills its pk range or is spread thin among other platforms' devices."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tests.support.rows import one_push
from tests.support.servers import served_database
from tidings.broker.memory import MemoryBroker
from tidings.channels.selfbuilt import SelfBuiltChannel
from tidings.contract import SELFBUILT, DeviceAddress, PushOptions, Status
from tidings.delivery.audience import Audience, Window
from tidings.delivery.audience_batches import BATCH, resolve_batch
from tidings.delivery.routing import route_table, router_for
from tidings.delivery.service import Delivery
from tidings.delivery.writing import VENDOR_LEASE_MS
from tidings.store.database import Database
from tidings.store.tables import (
    channel_configs,
    deliveries,
    devices,
    messages,
    push_stats,
    tasks,
)
from tidings.tasks import DISPATCHED

NOW = 1_700_000_000_000
PAGE = 4
CHANNELS = frozenset({SELFBUILT, "hms", "xiaomi", "apns"})
# (manufacturer, vendor token): hms is configured, xiaomi is not, an hms label without a token
# has nothing for a vendor to reach
KINDS = [("android", None), ("hms", "tok"), ("hms", None), ("miui", "tok"), ("hms", "")]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with served_database(request.param, tmp_path) as made:
        yield made


def prepare(db: Database, count: int, others_between: int, expired_seconds: int = 600) -> None:
    """A due broadcast to every Android device of app 1, which has hms configured; ``count``
    Android devices of every kind, with ``others_between`` iOS devices after each."""
    db.migrate()
    audience = Audience("android", Window(), Window())
    with db.engine.begin() as conn:
        one_push(conn, action="PushBroadcast", delivery_type=1, now=NOW)
        conn.execute(
            update(tasks).values(
                state="accepted", audience=audience.to_json(), expired_seconds=expired_seconds
            )
        )
        conn.execute(
            insert(channel_configs).values(
                app_pk=1, channel="hms", config_ciphertext=b"x", updated_at=0
            )
        )
        rows = []
        for i in range(count):
            manufacturer, third_token = KINDS[i % len(KINDS)]
            rows.append(("android", manufacturer, third_token))
            rows += [("ios", "ios", "apns-token")] * others_between
        conn.execute(
            insert(devices),
            [
                {
                    "pk": pk,
                    "app_pk": 1,
                    "token": f"d{pk}",
                    "platform": platform,
                    "manufacturer": manufacturer,
                    "third_token": third_token,
                    "created_at": 0,
                }
                for pk, (platform, manufacturer, third_token) in enumerate(rows, start=1)
            ],
        )
    if db.engine.dialect.name == "postgresql":  # the rows above named their pks
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('devices_pk_seq', (SELECT max(pk) FROM devices))")


async def resolve_all(
    db: Database, channels: frozenset[str] = CHANNELS
) -> tuple[list[int], list, list[int]]:
    """Resolve the broadcast page by page, over ``channels``: the deliveries each page wrote,
    and what was handed over and named as owed over all of them."""
    made, outbound, owed = [], [], []
    try:
        while True:
            batch = await db.write(resolve_batch, NOW, channels, PAGE)
            if not batch.claimed:
                return made, outbound, owed
            made.append(sum(batch.written.made.values()))
            outbound += batch.written.outbound
            owed += batch.written.owed
    finally:
        await db.aclose()


def expected_channels(db: Database) -> dict[int, str]:
    """Each Android device's channel, routed one by one in Python as dispatch routes."""
    router = router_for(PushOptions.from_json("{}"), 1, {"hms", SELFBUILT} & CHANNELS)
    with db.engine.connect() as conn:
        found = conn.execute(
            select(devices.c.pk, devices.c.manufacturer, devices.c.third_token).where(
                devices.c.platform == "android"
            )
        ).all()
    return {
        row.pk: router(DeviceAddress(row.pk, "", "android", row.manufacturer, row.third_token))
        for row in found
    }


def written(db: Database) -> list:
    with db.engine.connect() as conn:
        return conn.execute(select(deliveries).order_by(deliveries.c.device_pk)).all()


@pytest.mark.parametrize("others_between", [0, 3])
async def test_every_device_once_routed_counted_and_handed_over(
    db: Database, others_between: int
) -> None:
    prepare(db, 11, others_between)
    expected = expected_channels(db)
    made, outbound, owed = await resolve_all(db)

    assert made == [PAGE, PAGE, 11 - 2 * PAGE]
    rows = written(db)
    assert {row.device_pk: row.channel for row in rows} == expected
    assert len(rows) == len(expected)  # one each
    assert Counter(expected.values()) == {SELFBUILT: 9, "hms": 2}
    assert {row.status for row in rows} == {Status.PENDING}
    for row in rows:
        lease = NOW + VENDOR_LEASE_MS if row.channel == "hms" else None
        assert row.next_attempt_at == lease, row
        assert (row.task_id, row.message_pk, row.app_pk) == (1, 1, 1)
    vendor = {row.id for row in rows if row.channel == "hms"}
    assert sorted(item.id for item in outbound) == sorted(vendor)
    assert {item.device.pk for item in outbound} == {
        pk for pk, channel in expected.items() if channel == "hms"
    }
    selfbuilt = {pk for pk, channel in expected.items() if channel == SELFBUILT}
    assert selfbuilt <= set(owed)
    if others_between:  # spread thin: named one by one, none that got nothing
        assert sorted(owed) == sorted(selfbuilt)
    with db.engine.connect() as conn:
        stats = conn.execute(select(push_stats)).all()
        state = conn.execute(select(tasks.c.state)).scalar_one()
    assert state == DISPATCHED
    assert {(s.platform, s.channel): s.pushed for s in stats} == {
        ("ANDROID", "ANDROID"): 9,
        ("ANDROID", "HMS"): 2,
    }
    by_pk = {s.pk: s.channel for s in stats}
    assert all(by_pk[row.stat_pk] == ("HMS" if row.channel == "hms" else "ANDROID") for row in rows)


@pytest.mark.parametrize("others_between", [0, 3])
@pytest.mark.parametrize("count", [2 * PAGE, 2 * PAGE + 1])
async def test_a_one_channel_audience_is_written_a_page_a_statement_and_counted_exactly(
    db: Database, count: int, others_between: int
) -> None:
    """With no vendor channel running every device goes over the self-built one, and a page is
    written without being read first: still one delivery each, a last page short or empty (the
    audience a multiple of the page) ends the broadcast, and the counter holds exactly the
    deliveries written, with no row for an empty page."""
    prepare(db, count, others_between)
    made, outbound, owed = await resolve_all(db, frozenset({SELFBUILT}))

    assert made == [PAGE, PAGE, count % PAGE]  # the last page short, or empty
    rows = written(db)
    android = set(expected_channels(db))
    assert [row.device_pk for row in rows] == sorted(android)  # one each
    assert {row.channel for row in rows} == {SELFBUILT}
    assert outbound == []
    assert android <= set(owed)
    with db.engine.connect() as conn:
        stats = conn.execute(select(push_stats)).all()
        state = conn.execute(select(tasks.c.state)).scalar_one()
    assert state == DISPATCHED
    assert [(s.platform, s.channel, s.pushed) for s in stats] == [("ANDROID", "ANDROID", count)]
    assert {row.stat_pk for row in rows} == {stats[0].pk}


async def test_an_expired_broadcast_is_written_expired_and_sent_nowhere(db: Database) -> None:
    prepare(db, 6, 0, expired_seconds=0)
    _, outbound, owed = await resolve_all(db)
    rows = written(db)
    assert len(rows) == 6
    assert {row.status for row in rows} == {Status.EXPIRED}
    assert {row.next_attempt_at for row in rows} == {None}
    assert outbound == []
    assert owed == []


def test_the_route_table_routes_as_the_router() -> None:
    for options in ("{}", '{"android_channel": 1}'):
        router = router_for(PushOptions.from_json(options), 1, {"hms", "xiaomi", "fcm"})
        table = route_table(router, "android")
        for manufacturer in ("android", "hms", "miui", "fcm", "oppo", "ios", "unknown"):
            for token in (None, "", "t"):
                device = DeviceAddress(1, "", "android", manufacturer, token)
                if token:
                    chosen = table.by_manufacturer.get(manufacturer, table.default)
                else:
                    chosen = table.default
                assert chosen == router(device), (options, manufacturer, token)


async def dispatch_mid_broadcast(
    tmp_path: Path, *, announced: bool, page_seconds: float = 0.0, sweep_seconds: float = 10.0
) -> list[tuple[str, object]]:
    """A broadcast of five pages, each taking at least ``page_seconds``, during which a second
    task falls due after the second page (``announced`` by a wake-up or not); every write the
    dispatcher made until both tasks were dispatched, in order, with its result."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    prepare(db, 5 * BATCH, 0)
    selfbuilt = SelfBuiltChannel(MemoryBroker())
    delivery = Delivery(db, {SELFBUILT: selfbuilt}, selfbuilt.owed, sweep_seconds=sweep_seconds)
    calls: list[tuple[str, object]] = []
    write = db.write

    async def recorded(work, *args):
        result = await write(work, *args)
        calls.append((work.__name__, result))
        if calls[-1][0] != "resolve_batch":
            return result
        await asyncio.sleep(page_seconds)
        if [n for n, _ in calls].count("resolve_batch") == 2:
            with db.engine.begin() as conn:
                task = conn.execute(select(tasks).where(tasks.c.id == 1)).one()._asdict()
                conn.execute(insert(tasks).values({**task, "id": 2, "action": "PushSimple"}))
                conn.execute(update(tasks).where(tasks.c.id == 2).values(audience=None))
            if announced:
                await delivery.tasks_ready()
        return result

    db.write = recorded
    delivery.start()
    try:
        for _ in range(600):
            with db.engine.connect() as conn:
                states = dict(conn.execute(select(tasks.c.id, tasks.c.state)).all())
            if set(states.values()) == {DISPATCHED}:
                break
            await asyncio.sleep(0.05)
    finally:
        await delivery.aclose()
        await db.aclose()
    return calls


def pages_and_claims(calls: list[tuple[str, object]]) -> tuple[list[int], list[int]]:
    """Where in ``calls`` the broadcast's pages were written, and where a claim took a task."""
    pages = [i for i, (name, got) in enumerate(calls) if name == "resolve_batch" and got[1].made]
    claims = [i for i, (name, got) in enumerate(calls) if name == "_claim" and got[0]]
    return pages, claims


async def test_a_push_accepted_mid_broadcast_is_not_held_up(tmp_path: Path) -> None:
    """Between a broadcast's pages the dispatcher claims other tasks once a wake-up announced
    them, and only then: a long broadcast costs no empty claim per page."""
    calls = await dispatch_mid_broadcast(tmp_path, announced=True)
    pages, claims = pages_and_claims(calls)
    assert len(pages) == 5
    assert len(claims) == 1 and claims[0] < pages[-1]  # claimed mid-broadcast
    assert [name for name, _ in calls].count("_claim") <= 3  # the first, the announced one


async def test_a_task_no_wake_up_announced_waits_no_longer_than_a_sweep(tmp_path: Path) -> None:
    """A task nothing announces (accepted by another process, left by a dead one) is claimed
    between pages once a sweep interval has passed since the last look, not after the end of a
    broadcast that may take minutes."""
    calls = await dispatch_mid_broadcast(
        tmp_path, announced=False, page_seconds=0.2, sweep_seconds=0.3
    )
    pages, claims = pages_and_claims(calls)
    assert len(pages) == 5
    assert len(claims) == 1 and claims[0] < pages[-1]  # claimed mid-broadcast, unannounced


async def test_a_broadcast_whose_message_was_revoked_is_dispatched_with_no_delivery(
    db: Database,
) -> None:
    """Revoked before any page was written: the claim finds no message to send (its pk is read
    with the task), writes nothing and ends the broadcast."""
    prepare(db, 6, 0)
    with db.engine.begin() as conn:
        conn.execute(update(messages).values(revoked_at=NOW))
    made, outbound, owed = await resolve_all(db)
    assert made == [0]
    assert (written(db), outbound, owed) == ([], [], [])
    with db.engine.connect() as conn:
        assert conn.execute(select(tasks.c.state)).scalar_one() == DISPATCHED
        assert conn.execute(select(push_stats)).all() == []
