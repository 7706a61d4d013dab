"""The msgKey check of every push reads index entries for its keys, not the app's messages, on a
PostgreSQL messages table that has no statistics yet (a new database, before autovacuum's first
ANALYZE): planned from defaults, an IN list of keys was answered by reading every message of the
app, so acceptance slowed down as the table filled."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Connection

from tests.support.rows import one_push
from tests.support.servers import served_database
from tidings.instants import DAY_MS
from tidings.store.msg_keys import used_recently
from tidings.store.pushes import insert_messages

NOW = 1_800_000_000_000
STORED = 20_000


def _rows_read(conn: Connection) -> int:
    """Rows of messages this transaction has read so far, by scans and through indexes."""
    return conn.exec_driver_sql(
        "SELECT pg_stat_get_xact_tuples_returned('messages'::regclass)"
        " + pg_stat_get_xact_tuples_fetched('messages'::regclass)"
    ).scalar_one()


def test_the_check_reads_only_its_keys_on_a_table_without_statistics(tmp_path: Path) -> None:
    with served_database("postgresql", tmp_path) as db:
        db.migrate()
        stored = [uuid.uuid4().hex for _ in range(STORED)]
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE messages SET (autovacuum_enabled = false)")
            one_push(conn, action="PushMultiple", delivery_type=3, now=NOW)
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('messages', 'pk'), 1)")
            insert_messages(
                conn, 1, 1, [(key, "u", "T", "C", None, None) for key in stored], NOW - 1000
            )
        with db.engine.begin() as conn:
            # More calls than psycopg's prepare threshold, so the server's cached plan is used.
            for _ in range(10):
                assert used_recently(conn, 1, [uuid.uuid4().hex for _ in range(100)], NOW) == []
            found = used_recently(conn, 1, [*stored[:3], uuid.uuid4().hex], NOW)
            assert sorted(found) == sorted((key, 1) for key in stored[:3])
            assert _rows_read(conn) <= 10
        db.engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_acceptance_checks_only_the_previous_days_keys(tmp_path: Path, kind: str) -> None:
    """Today's keys are the unique index's to refuse, as the messages are inserted: the check
    before the insert probes only the previous day's, within the retry window."""
    now = NOW - NOW % DAY_MS + 1000  # a second into the UTC day
    with served_database(kind, tmp_path) as db:
        db.migrate()
        with db.engine.begin() as conn:
            one_push(conn, action="PushMultiple", delivery_type=3, now=now)
            if kind == "postgresql":  # one_push gave its message pk 1 itself
                conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('messages', 'pk'), 1)")
            for key, at_ms in [
                ("yesterday", now - 2000),
                ("today", now - 500),
                ("too old", now - DAY_MS - 1),
            ]:
                insert_messages(conn, 1, 1, [(key, "u", "T", "C", None, None)], at_ms)
        keys = ["yesterday", "today", "too old", "never"]
        with db.engine.begin() as conn:
            assert sorted(used_recently(conn, 1, keys, now)) == [("today", 1), ("yesterday", 1)]
            assert list(used_recently(conn, 1, keys, now, today=False)) == [("yesterday", 1)]
        db.engine.dispose()
