"""After downtime many deliveries are overdue at once: the sweep expires them a bounded batch per
write transaction, so it never holds SQLite's one writer for all of them, and the outcome is
what one transaction gave: every overdue open delivery expired, nothing else touched, one
webhook event each, the metric counted once per delivery."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, insert, select

from tests.support.rows import one_push, subscribed
from tidings.contract import Status
from tidings.delivery.dispatcher import expire_overdue
from tidings.metrics import REGISTRY
from tidings.store.database import Database
from tidings.store.tables import deliveries, webhook_outbox

NOW = 1_000_000
OVERDUE = 1_234  # two full batches of 500 and a part


class TransactionSizes(Database):
    """Remembers how many deliveries each write transaction changed."""

    sizes: list[int]

    async def write(self, work, *args, **kwargs):
        before = self._open()
        result = await super().write(work, *args, **kwargs)
        self.sizes.append(before - self._open())
        return result

    def _open(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(deliveries.c.status != Status.EXPIRED)
            ).scalar_one()


def fill(db: Database) -> dict[int, int]:
    """Overdue open deliveries on two channels, and some that must stay: valid ones, and overdue
    ones already acknowledged. Their statuses by id."""
    rows = []

    def add(status: int, expires_at: int, channel: str | None) -> None:
        rows.append(
            {
                "id": len(rows) + 1,
                "task_id": 1,
                "message_pk": 1,
                "app_pk": 1,
                "device_pk": None,
                "channel": channel,
                "status": status,
                "attempts": 0,
                "created_at": 0,
                "expires_at": expires_at,
                "updated_at": 0,
            }
        )

    for i in range(OVERDUE):
        add(Status.PENDING if i % 3 else Status.NO_BIND, NOW - 1 - i, "apns" if i % 2 else None)
    for _ in range(40):
        add(Status.PENDING, NOW + 1, "apns")  # still valid
        add(Status.ACKED, NOW - 1, "apns")  # arrived in time
    with db.engine.begin() as conn:
        one_push(conn, action="PushMultiple", delivery_type=1, now=0)
        subscribed(conn, "delivery.expired")
        conn.execute(insert(deliveries), rows)
    return {row["id"]: row["status"] for row in rows}


def expired_metric(channel: str) -> float:
    labels = {"channel": channel, "status": "expired"}
    return REGISTRY.get_sample_value("tidings_deliveries_total", labels) or 0.0


async def test_many_overdue_deliveries_expire_in_bounded_batches(tmp_path: Path) -> None:
    db = TransactionSizes(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    before = fill(db)
    db.sizes = []
    counted = {channel: expired_metric(channel) for channel in ("apns", "none")}

    expired = await expire_overdue(db, NOW, batch_rows=500)

    assert db.sizes == [500, 500, OVERDUE - 1000]
    assert expired == {"apns": OVERDUE // 2, None: OVERDUE - OVERDUE // 2}
    assert expired_metric("apns") - counted["apns"] == OVERDUE // 2
    assert expired_metric("none") - counted["none"] == OVERDUE - OVERDUE // 2
    with db.engine.connect() as conn:
        after = dict(conn.execute(select(deliveries.c.id, deliveries.c.status)).all())
        events = conn.execute(select(webhook_outbox.c.event_type, webhook_outbox.c.payload)).all()
    await db.aclose()
    for delivery, status in before.items():
        overdue = delivery <= OVERDUE
        assert after[delivery] == (Status.EXPIRED if overdue else status), delivery
    assert {kind for kind, _ in events} == {"delivery.expired"}
    payloads = [json.loads(payload) for _, payload in events]
    assert len(payloads) == OVERDUE
    assert all(p["status"] == Status.EXPIRED for p in payloads), payloads[0]
