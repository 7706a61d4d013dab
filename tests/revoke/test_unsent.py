"""Every query that hands deliveries to a channel skips those of a revoked message, on SQLite and
PostgreSQL: RevokePushTask marks the messages revoked first and moves their deliveries a page at
a time after, so until its last page (or for good, if the process stops before it) they may
still be pending or waiting. Each query finds its delivery before the message is revoked and
none after; the vendor recall's read by id still finds them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert

from tests.support.rows import one_push
from tests.support.servers import served_database
from tidings.contract import SELFBUILT, Status
from tidings.store import deliveries as store
from tidings.store import revocations
from tidings.store.database import Database
from tidings.store.tables import deliveries, devices

NOW = 1_700_000_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with served_database(request.param, tmp_path) as made:
        made.migrate()
        yield made


def owed_to_each(conn: Connection) -> dict[str, list[int]]:
    """What each sending path finds: the ids it would hand to a channel."""
    return {
        "a connecting device's": [
            r.id for r in store.pending_outbound(conn, [1], Status.PENDING, SELFBUILT, NOW, 10)
        ],
        "the retry sweep's": [
            r.id for r in store.due_retries(conn, Status.PENDING, SELFBUILT, NOW, 10)
        ],
        "a binding user's": [r.id for r in store.waiting_for_user(conn, 1, "u", NOW)],
        "sent by id": [r.id for r in store.outbound_by_id(conn, [1, 2, 3])],
    }


async def test_no_sending_query_finds_a_revoked_message_s_deliveries(db: Database) -> None:
    columns = ("id", "device_pk", "user_id", "channel", "status", "next_attempt_at")
    made = [
        (1, 1, None, SELFBUILT, Status.PENDING, None),  # owed to a device
        (2, 2, None, "hms", Status.PENDING, NOW - 1),  # a vendor's, due again
        (3, None, "u", None, Status.NO_BIND, None),  # waiting for its user to bind a device
    ]
    common = {"task_id": 1, "message_pk": 1, "app_pk": 1, "attempts": 0, "created_at": NOW}
    common |= {"expires_at": NOW + 600_000, "updated_at": NOW}
    with db.engine.begin() as conn:
        one_push(conn, action="PushTemplate", delivery_type=3, now=NOW)
        conn.execute(
            insert(devices),
            [
                {"pk": pk, "app_pk": 1, "token": f"d{pk}", "platform": "android"}
                | {"manufacturer": "hms", "created_at": 0}
                for pk in (1, 2)
            ],
        )
        conn.execute(
            insert(deliveries), [common | dict(zip(columns, row, strict=True)) for row in made]
        )
    with db.engine.connect() as conn:
        assert owed_to_each(conn) == {
            "a connecting device's": [1],
            "the retry sweep's": [2],
            "a binding user's": [3],
            "sent by id": [1, 2, 3],
        }
    with db.engine.begin() as conn:
        revocations.revoke_messages(conn, NOW, message_pk=1)
    with db.engine.connect() as conn:
        assert owed_to_each(conn) == {path: [] for path in owed_to_each(conn)}
        recalled = store.outbound_by_id(conn, [1, 2, 3], revoked_too=True)
        assert [r.id for r in recalled] == [1, 2, 3]
    await db.aclose()
