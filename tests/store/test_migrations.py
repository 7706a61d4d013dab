"""The migrations build exactly the schema tables.py defines, on both databases, and the analytics
revision counts the deliveries made before it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, NullPool, create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from tests.support.rows import one_push, subscribed
from tests.support.servers import postgres_schema, served_database
from tidings.cli.common import run
from tidings.config import Settings
from tidings.instants import DAY_MS
from tidings.store import traces
from tidings.store.database import Database, _require_json
from tidings.store.msg_keys import sent_under
from tidings.store.tables import (
    deliveries,
    devices,
    messages,
    metadata,
    push_stats,
    webhook_outbox,
)

MIGRATIONS = Path(__file__).parents[2] / "src" / "tidings" / "store" / "migrations"
BEFORE_ANALYTICS = "0004_console"
BEFORE_RETENTION = "0005_analytics"
BEFORE_SMS = "0011_task_request_ids"
BEFORE_OUTBOX_MESSAGES = "0017_recall_retries"
NOW = 1_800_000_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'm.db'}", poolclass=NullPool)
        yield made
        made.dispose()
        return
    with postgres_schema() as url:
        made = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
        )
        yield made
        made.dispose()


def upgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_the_migrations_build_the_schema_the_tables_define(engine: Engine) -> None:
    upgrade(engine, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_deliveries_made_before_analytics_are_counted(engine: Engine) -> None:
    upgrade(engine, BEFORE_ANALYTICS)
    with engine.begin() as conn:  # only columns the older schema has
        one_push(conn, action="PushMultiple", delivery_type=3, now=NOW)
        conn.execute(
            insert(devices),
            [
                {
                    "pk": pk,
                    "app_pk": 1,
                    "token": f"t{pk}",
                    "platform": platform,
                    "manufacturer": platform,
                    "created_at": 0,
                }
                for pk, platform in ((1, "android"), (2, "android"), (3, "ios"))
            ],
        )
        base = {
            "task_id": 1,
            "message_pk": 1,
            "app_pk": 1,
            "attempts": 0,
            "created_at": NOW,
            "expires_at": NOW + 600_000,
            "updated_at": NOW,
        }
        conn.execute(
            insert(deliveries),
            [
                {
                    **base,
                    "device_pk": 1,
                    "channel": "selfbuilt",
                    "status": 2,
                    "acked_at": NOW + 1,
                    "opened_at": NOW + 2,
                },
                {
                    **base,
                    "device_pk": 2,
                    "channel": "selfbuilt",
                    "status": 3,
                    "acked_at": None,
                    "opened_at": None,
                },
                {
                    **base,
                    "device_pk": 3,
                    "channel": "apns",
                    "status": 2,
                    "acked_at": None,
                    "opened_at": None,
                },
                {
                    **base,
                    "device_pk": None,
                    "channel": None,
                    "status": 1,
                    "user_id": "u",
                    "acked_at": None,
                    "opened_at": None,
                },
            ],
        )
    upgrade(engine, "head")
    with engine.connect() as conn:
        stats = {
            (row.platform, row.channel): (row.pushed, row.successful, row.arrived, row.opened)
            for row in conn.execute(select(push_stats))
        }
        assert stats == {
            ("ANDROID", "ANDROID"): (2, 1, 1, 1),
            ("IOS", "IOS"): (1, 1, 0, 0),
            ("", ""): (1, 0, 0, 0),  # a user target without a device has no platform
        }
        unpointed = conn.execute(select(deliveries.c.id).where(deliveries.c.stat_pk.is_(None)))
        assert list(unpointed) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database as the server opens it: on SQLite with foreign keys enforced."""
    with served_database(request.param, tmp_path) as made:
        yield made


async def test_a_served_database_moves_its_msg_keys_to_days(served: Database) -> None:
    """The retention revision rebuilds messages on SQLite, which deliveries refer to."""
    upgrade(served.engine, BEFORE_RETENTION)
    with served.engine.begin() as conn:
        one_push(conn, action="PushMultiple", delivery_type=3, now=NOW)
        conn.execute(
            insert(deliveries).values(
                task_id=1,
                message_pk=1,
                app_pk=1,
                status=1,
                attempts=0,
                created_at=NOW,
                expires_at=NOW,
                updated_at=NOW,
            )
        )
    served.migrate()
    again = {"task_id": 1, "app_pk": 1, "msg_key": "k1", "target": "u", "title": "T"}
    with served.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar() == 1
        conn.execute(insert(messages).values(**again, pk=2, content="C", created_at=NOW + DAY_MS))
    with pytest.raises(IntegrityError), served.engine.begin() as conn:
        conn.execute(insert(messages).values(**again, pk=3, content="C", created_at=NOW + 1))
    await served.aclose()


def test_phone_numbers_bound_before_the_sms_supplement_are_sealed_at_start_not_lost(
    engine: Engine, tmp_path: Path
) -> None:
    upgrade(engine, BEFORE_SMS)
    with engine.begin() as conn:  # only columns the older schema has
        one_push(conn, action="PushSimple", delivery_type=3, now=NOW)
        conn.execute(
            insert(devices).values(
                pk=1,
                app_pk=1,
                token="t1",
                platform="android",
                manufacturer="android",
                user_id="u1",
                phone_number="+8613800000000",
                created_at=0,
            )
        )
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    box = run(settings, lambda services: asyncio.sleep(0, services.devices._box))
    with engine.connect() as conn:
        row = conn.execute(select(devices.c.phone_number, devices.c.phone_ciphertext)).one()
    assert row.phone_number is None
    assert b"13800000000" not in row.phone_ciphertext
    assert box.open(row.phone_ciphertext) == "+8613800000000"


def test_webhook_events_written_before_message_pks_are_still_traced(engine: Engine) -> None:
    """Events kept from before the outbox named its messages' pks are given the pk of the newest
    message their app sent under their msgKey, and the trace of that msgKey finds them all as
    it did by the msgKey (a key used again on a later day included)."""
    upgrade(engine, BEFORE_OUTBOX_MESSAGES)
    with engine.begin() as conn:  # only columns the older schema has
        one_push(conn, action="PushSimple", delivery_type=1, now=NOW)  # message 1: k1
        again = {"task_id": 1, "app_pk": 1, "target": "", "title": "T", "content": "C"}
        conn.execute(
            insert(messages),
            [
                {**again, "pk": 2, "msg_key": "k1", "created_at": NOW + DAY_MS},
                {**again, "pk": 3, "msg_key": "k2", "created_at": NOW + DAY_MS},
            ],
        )
        subscribed(conn, "message.accepted")
        row = {"endpoint_pk": 1, "event_type": "e", "payload": "{}", "state": "pending"}
        times = {"attempts": 0, "created_at": NOW, "next_attempt_at": NOW}
        conn.execute(
            insert(webhook_outbox),
            [{**row, **times, "msg_key": key} for key in ("k1", "k2", None, "k1", "gone")],
        )
    upgrade(engine, "head")
    with engine.connect() as conn:
        query = select(webhook_outbox.c.msg_key, webhook_outbox.c.message_pk)
        found = conn.execute(query.order_by(webhook_outbox.c.pk)).all()
        traced = [r.pk for r in traces.webhooks_of(conn, sent_under(conn, 1, "k1"), 100)]
    assert [tuple(r) for r in found] == [
        ("k1", 2),
        ("k2", 3),
        (None, None),
        ("k1", 2),
        ("gone", None),
    ]
    assert traced == [1, 4]


def test_an_sqlite_without_json_functions_is_refused() -> None:
    """The webhook outbox builds events with json_object: an SQLite lacking it must stop the
    start (Database.migrate checks), naming what it needs, instead of failing the first write
    that records an event."""
    _require_json(sqlite3.connect(":memory:"))  # this machine's SQLite has them

    def missing(*args: object) -> None:
        raise sqlite3.OperationalError("no such function: json_object")

    lacking = sqlite3.connect(":memory:")
    lacking.create_function("json_object", 2, missing)  # shadows the built-in
    with pytest.raises(RuntimeError, match=r"SQLite 3\.38 or newer"):
        _require_json(lacking)
