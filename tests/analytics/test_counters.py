"""Counters kept with deliveries, on real SQLite and PostgreSQL: made through delivery's own write
path, changed through the recorder, and always equal to a count over the delivery rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select

from tests.support.rows import one_push
from tests.support.servers import postgres_schema
from tidings.analytics.labels import SLOT_MS
from tidings.channels.receipt_formats import Event, Receipt
from tidings.contract import DeviceAddress, Outcome, PushOptions, Status
from tidings.delivery.outcomes import Recorder
from tidings.delivery.plan import MessageRow, Planned, TaskRow
from tidings.delivery.receipts import record
from tidings.delivery.writing import TaskPlan, write_planned
from tidings.store.database import Database
from tidings.store.tables import deliveries, devices, push_stats

NOW = 1_800_000_123_456
TASK = TaskRow(1, None, 1, 1, 600, "{}", NOW, NOW)
MESSAGE = MessageRow(1, 1, "k1", "tok", "T", "C", None, None)
PHONE = DeviceAddress(1, "tok-1", "android", "android", None)
TABLET = DeviceAddress(2, "tok-2", "harmonyos", "harmonyos", None)
PAD = DeviceAddress(3, "tok-3", "ios", "ios", "apns-token")


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'counters.db'}")
        database.migrate()
        yield database
        await database.aclose()
        return
    with postgres_schema() as url:
        database = Database(url.replace("postgresql://", "postgresql+psycopg://"))
        database.migrate()
        yield database
        await database.aclose()


def fill(conn: Connection) -> None:
    one_push(conn, action="PushSimple", delivery_type=1, now=NOW)
    conn.execute(
        insert(devices),
        [
            {
                "pk": d.pk,
                "app_pk": 1,
                "token": d.token,
                "platform": d.platform,
                "manufacturer": d.manufacturer,
                "created_at": 0,
            }
            for d in (PHONE, TABLET, PAD)
        ],
    )


def planned(device: DeviceAddress | None, channel: str | None, status=Status.PENDING):
    return TaskPlan(TASK, PushOptions(), [Planned(MESSAGE, device, None, channel, status)])


def counters(db: Database) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                push_stats.c.platform,
                push_stats.c.channel,
                push_stats.c.slot,
                push_stats.c.pushed,
                push_stats.c.successful,
                push_stats.c.arrived,
                push_stats.c.opened,
            )
        )
        found = {}
        for platform, channel, slot, *counts in rows:
            assert slot == NOW - NOW % SLOT_MS
            found[platform, channel] = tuple(counts)
        return found


def counted_from_deliveries(db: Database) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """The same figures, counted the slow way over the delivery rows."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                push_stats.c.platform,
                push_stats.c.channel,
                func.count(),
                func.count(func.coalesce(deliveries.c.acked_at, deliveries.c.sent_at)),
                func.count(deliveries.c.acked_at),
                func.count(deliveries.c.opened_at),
            )
            .join_from(deliveries, push_stats, deliveries.c.stat_pk == push_stats.c.pk)
            .group_by(push_stats.c.platform, push_stats.c.channel)
        )
        return {(p, c): tuple(n) for p, c, *n in rows}


async def test_counters_follow_every_change(db: Database) -> None:
    with db.engine.begin() as conn:
        fill(conn)
    written = await db.write(
        write_planned,
        [
            planned(PHONE, "selfbuilt"),
            planned(TABLET, "selfbuilt"),
            planned(PAD, "apns"),
            planned(None, None),  # an unknown token: Android, since DeliveryType is 1
        ],
        NOW,
    )
    ids = [item.id for item in written.outbound]
    assert written.made == {("selfbuilt", 0): 2, ("apns", 0): 1, (None, 0): 1}
    assert counters(db) == {
        ("ANDROID", "ANDROID"): (1, 0, 0, 0),
        ("HARMONYOS", "HARMONYOS"): (1, 0, 0, 0),
        ("IOS", "IOS"): (1, 0, 0, 0),
        ("ANDROID", ""): (1, 0, 0, 0),
    }
    phone, tablet, pad = ids
    recorder = Recorder(db, clock=lambda: NOW / 1000 + 5)
    recorder.acked([phone, tablet])
    recorder.acked([phone])  # a duplicate ack counts once
    recorder.opened(PHONE.pk, [phone])
    recorder.opened(PHONE.pk, [phone])  # so does a second open
    recorder.opened(PHONE.pk, [tablet])  # and another device's delivery is not this one's
    recorder.settled([Outcome(pad, Status.ACKED)])  # the vendor took it
    await recorder.aclose()
    assert counters(db) == {
        ("ANDROID", "ANDROID"): (1, 1, 1, 1),
        ("HARMONYOS", "HARMONYOS"): (1, 1, 1, 0),
        ("IOS", "IOS"): (1, 1, 0, 0),  # accepted by APNs: successful, arrival unknown
        ("ANDROID", ""): (1, 0, 0, 0),
    }
    assert counters(db) == counted_from_deliveries(db)
    recorder.settled([Outcome(pad, Status.ACKED)])  # a repeated verdict changes nothing
    recorder.acked([pad])  # nor does an ack of what the vendor delivered
    await recorder.aclose()
    assert counters(db)["IOS", "IOS"] == (1, 1, 0, 0)
    assert counters(db) == counted_from_deliveries(db)


async def test_vendor_receipts_count_arrivals_and_opens_of_what_the_vendor_took(db) -> None:
    with db.engine.begin() as conn:
        fill(conn)
    written = await db.write(
        write_planned, [planned(PHONE, "selfbuilt"), planned(PAD, "apns")], NOW
    )
    phone, pad = (item.id for item in written.outbound)
    recorder = Recorder(db, clock=lambda: NOW / 1000 + 5)
    recorder.settled([Outcome(pad, Status.ACKED)])
    await recorder.aclose()
    taken = [
        Receipt(pad, Event.ARRIVED, "0"),
        Receipt(pad, Event.OPENED, "clicked"),
        Receipt(phone, Event.ARRIVED, "0"),  # not the vendor's: ignored
    ]
    for _ in range(2):  # a vendor repeating its receipts changes nothing the second time
        await db.write(record, 1, "apns", taken, NOW + 9000)
    assert counters(db)["IOS", "IOS"] == (1, 1, 1, 1)
    assert counters(db)["ANDROID", "ANDROID"] == (1, 0, 0, 0)
    assert counters(db) == counted_from_deliveries(db)
    await db.write(record, 2, "apns", [Receipt(pad, Event.ARRIVED, "0")], NOW)  # another app
    assert counters(db) == counted_from_deliveries(db)
