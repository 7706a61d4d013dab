"""Acknowledgements arriving together are written together, on a real SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tests.support.rows import one_push
from tests.support.servers import served_database
from tidings.analytics import counters
from tidings.contract import Outcome, Status
from tidings.delivery.outcomes import Recorder
from tidings.store import deliveries as store
from tidings.store.database import Database
from tidings.store.tables import deliveries, delivery_events, devices, messages


class CountingDatabase(Database):
    writes = 0

    async def write(self, work, *args, **kwargs):
        self.writes += 1
        return await super().write(work, *args, **kwargs)


def fill(db: Database, count: int) -> list[int]:
    with db.engine.begin() as conn:
        one_push(conn, action="PushMultiple", delivery_type=1, now=0)
        conn.execute(
            insert(devices).values(
                pk=1, app_pk=1, token="t", platform="android", manufacturer="android", created_at=0
            )
        )
        rows = [
            {
                "id": i,
                "task_id": 1,
                "message_pk": 1,
                "app_pk": 1,
                # (task, message, device) is unique; NULLs never collide
                "device_pk": 1 if i == 1 else None,
                "channel": "selfbuilt",
                "status": Status.PENDING,
                "attempts": 0,
                "created_at": 0,
                "expires_at": 10**13,
                "updated_at": 0,
            }
            for i in range(1, count + 1)
        ]
        conn.execute(insert(deliveries), rows)
    return [r["id"] for r in rows]


def stored(db: Database) -> dict[int, tuple[int, int | None]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.id, deliveries.c.status, deliveries.c.opened_at))
        return {i: (s, o) for i, s, o in rows}


async def test_acks_arriving_together_are_one_write(tmp_path: Path) -> None:
    db = CountingDatabase(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    ids = fill(db, 300)
    recorder = Recorder(db, clock=lambda: 5.0)
    for i in ids[:200]:
        recorder.acked([i])  # 200 frames in one turn of the loop
    recorder.opened(1, [ids[0]])
    recorder.opened(1, [ids[1]])  # not this device's: ignored
    await asyncio.sleep(0)  # the write starts; these arrive while it runs
    for i in ids[200:250]:
        recorder.acked([i])
    recorder.settled([Outcome(ids[299], 2009, "BadDeviceToken")])
    await recorder.aclose()
    await db.aclose()
    assert db.writes == 2
    found = stored(db)
    assert all(found[i][0] == Status.ACKED for i in ids[:250])
    assert all(found[i][0] == Status.PENDING for i in ids[250:299])
    assert found[ids[299]][0] == 2009
    assert found[ids[0]][1] == 5000
    assert found[ids[1]][1] is None


class SyncNotingDatabase(Database):
    """Notes, for each write, whether it was to wait for the disk."""

    synced: list[bool]

    async def write(self, work, *args, **kwargs):
        self.synced.append(True)
        return await super().write(work, *args, **kwargs)

    async def write_unsynced(self, work, *args):
        self.synced.append(False)
        return await super().write_unsynced(work, *args)


async def test_a_batch_of_acks_alone_does_not_wait_for_the_disk(tmp_path: Path) -> None:
    """Acks are done again if lost (the delivery is sent again and the device acknowledges it
    again): a batch of nothing else is written unsynced; one with an open, which no device
    reports twice, waits for the disk."""
    db = SyncNotingDatabase(f"sqlite:///{tmp_path / 'x.db'}")
    db.synced = []
    db.migrate()
    ids = fill(db, 20)
    recorder = Recorder(db, clock=lambda: 5.0)
    recorder.acked(ids[:10])
    await recorder.written()
    recorder.acked(ids[10:15])
    recorder.opened(1, [ids[0]])
    await recorder.written()
    await recorder.aclose()
    await db.aclose()
    assert db.synced == [False, True]
    found = stored(db)
    assert all(found[i][0] == Status.ACKED for i in ids[:15])
    assert found[ids[0]][1] == 5000


async def test_written_returns_once_the_acks_gathered_before_it_are_stored(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    ids = fill(db, 20)
    recorder = Recorder(db, clock=lambda: 5.0)
    await recorder.written()  # nothing gathered: at once
    recorder.acked(ids[:10])
    await asyncio.sleep(0)  # the first write is under way; the next acks wait for a second one
    recorder.acked(ids[10:15])
    await recorder.written()
    found = stored(db)
    assert all(found[i][0] == Status.ACKED for i in ids[:15])
    assert all(found[i][0] == Status.PENDING for i in ids[15:])
    await recorder.aclose()
    await db.aclose()


def test_pending_deliveries_are_read_a_page_per_device(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    fill(db, 1)
    with db.engine.begin() as conn:
        conn.execute(
            insert(devices).values(
                pk=2, app_pk=1, token="t2", platform="android", manufacturer="android", created_at=0
            )
        )
        conn.execute(
            insert(messages),
            [
                {"pk": pk, "task_id": 1, "app_pk": 1, "msg_key": f"k{pk}", "target": "u"}
                | {"title": "T", "content": "C", "created_at": 0}
                for pk in range(2, 12)
            ],
        )
        conn.execute(
            insert(deliveries),
            [
                {"id": 100 + pk * 2 + device, "task_id": 1, "message_pk": pk, "app_pk": 1}
                | {"device_pk": device, "channel": "selfbuilt", "status": Status.PENDING}
                | {"attempts": 0, "created_at": 0, "expires_at": 10**13, "updated_at": 0}
                for pk in range(2, 12)
                for device in (1, 2)
            ],
        )
    with db.engine.connect() as conn:
        rows = store.pending_outbound(conn, [1, 2], Status.PENDING, "selfbuilt", 0, 3)
    by_device = {d: [r.id for r in rows if r.device_pk == d] for d in (1, 2)}
    assert by_device == {1: [1, 105, 107], 2: [106, 108, 110]}  # the oldest three of each


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_vendor_outcomes_change_only_deliveries_still_pending(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both databases: acceptances are written by one statement per chunk, built differently
    on each (store.settle)."""
    with served_database(kind, tmp_path) as db:
        await _check_vendor_outcomes(db, monkeypatch)


async def _check_vendor_outcomes(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[tuple[str, ...], dict[int | None, int]]] = []
    monkeypatch.setattr(
        counters, "count_each", lambda _, facts, counts: counted.append((facts, dict(counts)))
    )
    db.migrate()
    ids = fill(db, 5)
    with db.engine.begin() as conn:
        conn.execute(update(deliveries).values(stat_pk=deliveries.c.id + 100))
        revoked = deliveries.c.id == ids[4]  # revoked while the vendor was being asked
        conn.execute(update(deliveries).where(revoked).values(status=Status.REVOKED))
    recorder = Recorder(db, clock=lambda: 5.0)
    recorder.settled(
        [
            Outcome(ids[0], Status.ACKED),
            Outcome(ids[1], Status.ACKED),
            Outcome(ids[2], 2009, "BadDeviceToken"),
            Outcome(ids[3], Status.PENDING, "TooManyRequests", retry_at=9000),
            Outcome(ids[4], Status.ACKED),
        ]
    )
    await recorder.aclose()
    await db.aclose()
    columns = [deliveries.c[name] for name in ("status", "reason", "sent_at", "attempts")]
    with db.engine.connect() as conn:
        found = {r.id: tuple(r[1:]) for r in conn.execute(select(deliveries.c.id, *columns))}
        retry_at = conn.execute(
            select(deliveries.c.next_attempt_at).where(deliveries.c.id == ids[3])
        )
        trace = set(
            conn.execute(
                select(*(delivery_events.c[n] for n in ("delivery_id", "at", "status", "reason")))
            )
        )
    assert found == {
        ids[0]: (Status.ACKED, None, 5000, 1),
        ids[1]: (Status.ACKED, None, 5000, 1),
        ids[2]: (2009, "BadDeviceToken", None, 1),
        ids[3]: (Status.PENDING, "TooManyRequests", None, 1),
        ids[4]: (Status.REVOKED, None, None, 0),
    }
    assert retry_at.scalar_one() == 9000
    assert counted == [(counters.ACCEPTED, {ids[0] + 100: 1, ids[1] + 100: 1})]
    # the trace keeps what the delivery row will not: each refusal and each retry asked for
    assert trace == {
        (ids[2], 5000, 2009, "BadDeviceToken"),
        (ids[3], 5000, Status.PENDING, "TooManyRequests"),
    }
