"""The outbox rows of delivery events, which the database writes itself (one INSERT ... SELECT a
chunk, its own JSON function making the data), carry exactly what ``events.data`` makes of the
deliveries' facts, in order, for each subscribed endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from tests.support.rows import one_push, subscribed
from tidings.config import Settings
from tidings.contract import Status
from tidings.services import Services
from tidings.store import traces
from tidings.store.msg_keys import sent_under
from tidings.store.tables import deliveries, devices, messages, webhook_outbox
from tidings.webhooks import events, outbox

NOW = 1_764_988_800_123
KEY = 'clé "quoted" \\ \n\u2028 🎉'  # what JSON must escape, and what it may keep as it is


@pytest.fixture
async def services(database_url: str | None, tmp_path: Path) -> AsyncIterator[Services]:
    opened = await Services.open(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        yield opened
    finally:
        await opened.aclose()


def fill(conn: Connection) -> None:
    """Deliveries of every shape an event tells of: to a device (the call's target), to a user's
    device (no target in the message: the user it is bound to), with no device at all, with no
    channel, already settled."""
    one_push(conn, action="PushMultiple", delivery_type=1, now=0)
    conn.execute(
        insert(messages).values(
            pk=2, task_id=1, app_pk=1, msg_key=KEY, target="", title="T", content="C", created_at=0
        )
    )
    conn.execute(
        insert(devices).values(
            pk=1, app_pk=1, token="tok-1", platform="android", manufacturer="android", created_at=0
        )
    )
    shapes = [
        # id, message, device, user, channel, status
        (5, 1, 1, None, "fcm", Status.PENDING),
        (3, 2, 1, "bob", "apns", Status.PENDING),
        (4, 2, None, "", None, Status.PENDING),
        (6, 1, None, "ann", "fcm", Status.ACKED),
    ]
    conn.execute(
        insert(deliveries),
        [
            {
                "id": i,
                "task_id": 1,
                "message_pk": message,
                "app_pk": 1,
                "device_pk": device,
                "user_id": user,
                "channel": channel,
                "status": status,
                "attempts": 0,
                "created_at": 0,
                "expires_at": 10**13,
                "updated_at": 0,
            }
            for i, message, device, user, channel, status in shapes
        ],
    )
    subscribed(conn, "delivery.sent,delivery.arrived")
    subscribed(conn, "delivery.sent")


def written(conn: Connection) -> list[tuple]:
    query = select(webhook_outbox).order_by(webhook_outbox.c.pk)
    return [
        (r.endpoint_pk, r.event_type, r.msg_key, json.loads(r.payload), r.state, r.attempts,
         r.created_at, r.next_attempt_at)
        for r in conn.execute(query)
    ]  # fmt: skip


def expected(event_type: str, endpoints: list[int], facts: list[tuple], status: int | None):
    rows = []
    for msg_key, target, device, channel, own in facts:
        data = events.data(
            task_id=1,
            msg_key=msg_key,
            target=target,
            device=device,
            channel=channel,
            status=own if status is None else status,
            time=NOW,
        )
        rows += [
            (pk, event_type, msg_key, json.loads(data), "pending", 0, NOW, NOW) for pk in endpoints
        ]
    return rows


async def test_delivery_events_carry_each_deliverys_facts_in_order(services: Services) -> None:
    def run(conn: Connection) -> list[tuple]:
        fill(conn)
        pending = (deliveries.c.status == Status.PENDING,)
        # Each twice: the statement built, then the one kept run through the driver.
        for ids in ([6, 5], [4, 3]):
            outbox.deliveries_settled(
                conn, events.DELIVERY_SENT, ids, NOW, where=pending, status=Status.ACKED
            )
        either = (deliveries.c.status.in_([Status.PENDING, Status.ACKED]),)  # an IN list
        for ids in ([6], [3]):
            outbox.deliveries_settled(conn, events.DELIVERY_ARRIVED, ids, NOW, where=either)
        return written(conn)

    found = await services.db.write(run)
    pending = [
        ("k1", "u", "tok-1", "fcm", 0),  # id 5: the call's target
        (KEY, "bob", "tok-1", "apns", 0),  # id 3: the user bound, the device's token
        (KEY, None, None, None, 0),  # id 4: no target, no user, no device, no channel
    ]
    settled = [("k1", "u", None, "fcm", 2), (KEY, "bob", "tok-1", "apns", 0)]  # ids 6, 3
    assert found == (
        expected(events.DELIVERY_SENT, [1, 2], pending, Status.ACKED)
        + expected(events.DELIVERY_ARRIVED, [1], settled, None)
    )
    assert found[2][3]["msgKey"] == KEY


async def test_each_event_about_a_message_names_it_and_the_trace_finds_them(
    services: Services,
) -> None:
    """The events written by the database (insert from the deliveries), from the deliveries'
    facts (a refusal's reason) and at acceptance each carry their message's pk, which the trace
    finds them by; an event about no message carries none."""

    def run(conn: Connection) -> tuple[list[tuple], list[int]]:
        fill(conn)
        subscribed(conn, "message.accepted,device.token_invalid")
        outbox.messages_accepted(conn, 1, 1, [("k1", "u"), (KEY, "")], NOW)
        outbox.deliveries_settled(conn, events.DELIVERY_SENT, [5, 3], NOW)
        refused = {4: "BadDeviceToken"}  # a vendor's code in the status column
        outbox.deliveries_settled(
            conn, events.DELIVERY_SENT, [4], NOW, status=2004, reasons=refused
        )
        outbox.tokens_dropped(conn, [(1, "tok-1")], NOW)
        columns = (webhook_outbox.c.pk, webhook_outbox.c.event_type, webhook_outbox.c.msg_key)
        query = select(*columns, webhook_outbox.c.message_pk).order_by(webhook_outbox.c.pk)
        rows = [tuple(r) for r in conn.execute(query)]
        return rows, [r.pk for r in traces.webhooks_of(conn, sent_under(conn, 1, KEY), 100)]

    rows, traced = await services.db.write(run)
    assert {(key, message) for _, _, key, message in rows} == {("k1", 1), (KEY, 2), (None, None)}
    assert [kind for _, kind, _, message in rows if message is None] == [events.TOKEN_INVALID]
    about_key = [pk for pk, _, key, _ in rows if key == KEY]
    assert len(about_key) == 5  # accepted; sent (ids 3 and 4) to the two endpoints taking it
    assert traced == about_key
