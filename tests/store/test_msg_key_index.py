"""New random msgKeys cost a commit a few pages, however many messages earlier days hold.

Measured as the pages a commit writes to SQLite's write-ahead log: with the old unique index
over every stored msgKey, each of a commit's new keys lands on a page of its own."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Connection, NullPool, create_engine, event, insert

from tidings.instants import DAY_MS
from tidings.store.database import SQLITE_PRAGMAS
from tidings.store.pushes import insert_messages
from tidings.store.tables import apps, metadata, tasks, workspaces

TODAY = 20_000 * DAY_MS
PAGE = 4096
WAL_FRAME_HEADER = 24


def _messages(count: int) -> list[tuple]:
    return [(uuid.uuid4().hex, f"user{i}", "T", "C", None, None) for i in range(count)]


def _task(conn: Connection, task_id: int, at_ms: int) -> None:
    conn.execute(
        insert(tasks).values(
            id=task_id,
            app_pk=1,
            action="PushMultiple",
            name="t",
            delivery_type=3,
            expired_seconds=300,
            strategy_type=0,
            options="{}",
            state="dispatched",
            digest="d",
            message_count=0,
            created_at=at_ms,
            due_at=at_ms,
        )
    )


def test_a_commit_of_new_keys_writes_few_pages_beside_many_stored(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)

    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(workspaces).values(pk=1, name="w", created_at=0))
        conn.execute(
            insert(apps).values(pk=1, workspace_pk=1, app_id="a", timezone="UTC", created_at=0)
        )
        for day in range(1, 5):  # 200,000 messages accepted on earlier days
            _task(conn, day, TODAY - day * DAY_MS)
            insert_messages(conn, day, 1, _messages(50_000), TODAY - day * DAY_MS)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.commit()
        with conn.begin():
            _task(conn, 10, TODAY)
            insert_messages(conn, 10, 1, _messages(2_000), TODAY)
        frames = (path.with_name("keys.db-wal").stat().st_size - 32) // (PAGE + WAL_FRAME_HEADER)
    engine.dispose()
    # The rows themselves take about 40 pages, each index's new entries a few dozen more; one
    # page per new key would be 2,000.
    assert frames < 400, frames
