"""Deliveries made for users cost a commit few pages however many are stored: only the ones
waiting for a device are indexed by user id, and a binding still finds them through that index.

Measured as the pages a commit writes to SQLite's write-ahead log: with the old index over every
delivery's (app, user id, status), each of a commit's deliveries to scattered users landed on a
page of its own."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Engine, NullPool, create_engine, event, insert, update

from tests.support.rows import one_push
from tidings.contract import Status
from tidings.store import deliveries as store
from tidings.store.database import SQLITE_PRAGMAS
from tidings.store.tables import WAITING, WAITING_BY_USER, deliveries, metadata

PAGE = 4096
WAL_FRAME_HEADER = 24


def _deliveries(first: int, count: int, status: int) -> list[dict]:
    return [
        {
            "id": first + i,
            "task_id": 1,
            "message_pk": 1,
            "app_pk": 1,
            "user_id": uuid.uuid4().hex,
            "channel": None,
            "status": status,
            "attempts": 0,
            "created_at": 0,
            "expires_at": 10**13,
            "updated_at": 0,
        }
        for i in range(count)
    ]


def _engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)

    metadata.create_all(engine)
    return engine


def test_the_waiting_status_is_the_no_bind_status() -> None:
    assert Status.NO_BIND == WAITING


def test_a_commit_of_deliveries_to_users_writes_few_pages_beside_many_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deliveries.db"
    engine = _engine(path)
    with engine.begin() as conn:
        one_push(conn, action="PushMultiple", delivery_type=3, now=0)
        for batch in range(2):  # 100,000 finished deliveries to scattered users
            conn.execute(insert(deliveries), _deliveries(1 + batch * 50_000, 50_000, 2))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.commit()
        with conn.begin():
            made = _deliveries(1_000_000, 2_000, Status.NO_BIND)
            conn.execute(insert(deliveries), made)
        frames = (path.with_name(f"{path.name}-wal").stat().st_size - 32) // (
            PAGE + WAL_FRAME_HEADER
        )
        # The rows take about 40 pages and each index's new entries a few dozen more; one page
        # per delivery would be 2,000.
        assert frames < 300, frames
        # The binding still finds a user's waiting delivery, through the partial index.
        sent: list[tuple[str, tuple]] = []
        event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
        user = made[7]["user_id"]
        assert [r.id for r in store.waiting_for_user(conn, 1, user, 0)] == [made[7]["id"]]
        statement, parameters = sent[-1]
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        assert f"INDEX {WAITING_BY_USER} " in str(plan), (statement, plan)
        conn.commit()
        with conn.begin():  # routed: it leaves the index
            conn.execute(
                update(deliveries).where(deliveries.c.id == made[7]["id"]).values(status=0)
            )
        assert store.waiting_for_user(conn, 1, user, 0) == []
    engine.dispose()
