"""The message trace finds the webhook events about a message through the index of their
message_pk, from the message found by its msgKey, on both databases: the index of
(endpoint_pk, msg_key) it used before cost every event written a random place in it, and the
planner, offered the endpoint's index instead, would walk every event the app's endpoints were
ever owed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event

from tests.support.rows import one_push
from tests.support.servers import postgres_schema
from tidings.store import traces
from tidings.store.msg_keys import sent_under
from tidings.store.tables import metadata

BY_MESSAGE = "ix_webhook_outbox_message_pk_pk"


def _trace_statement(engine: Engine, conn: Connection) -> tuple[str, object]:
    """The statement the trace's webhook read of message k1 runs."""
    one_push(conn, action="PushSimple", delivery_type=1, now=0)
    sent = sent_under(conn, 1, "k1")
    ran: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        traces.webhooks_of(conn, sent, 100)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    (statement,) = ran
    return statement


def test_the_traced_webhook_events_are_found_by_their_message_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        statement, parameters = _trace_statement(engine, conn)
        plan = [
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    engine.dispose()
    outbox = [step for step in plan if "webhook_outbox" in step]
    assert outbox == [f"SEARCH webhook_outbox USING INDEX {BY_MESSAGE} (message_pk=?)"], plan


def test_the_traced_webhook_events_are_found_by_their_message_on_postgresql() -> None:
    with postgres_schema() as url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        metadata.create_all(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # the tables are empty
            statement, parameters = _trace_statement(engine, conn)
            plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
        engine.dispose()
    outbox = [step for step in plan if "on webhook_outbox" in step]
    assert outbox and all(f"using {BY_MESSAGE} on webhook_outbox" in s for s in outbox), plan
