"""The reads of a few deliveries by device or by id go through the index of what they are
looked up by, however many deliveries are pending for other devices: a broadcast to 100,000
offline devices left that many pending, and SQLite's planner (with no statistics) took the
(status, expires_at) index instead, walking all of them for a connecting device's owed read
(30 ms) and for every batch of acks (33 ms for 20). The retry sweep (every 10 s) walked them
all too, for the few vendor deliveries due again (100 ms beside 1,000,000 pending on SQLite;
on PostgreSQL a scan of the whole table), until they had an index of their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event

from tests.support.servers import postgres_schema
from tidings.contract import SELFBUILT, Status
from tidings.store import deliveries as store
from tidings.store.tables import RETRIES, metadata


def _ran(engine: Engine, conn: Connection, work: Callable[[Connection], object]) -> list:
    """The statements, with their parameters, that ``work`` runs on ``conn``."""
    ran: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        work(conn)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return ran


def _plans(tmp_path: Path, work: Callable[[Connection], object]) -> list[list[str]]:
    """SQLite's query plan of each statement ``work`` runs on the deliveries schema."""
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        statements = _ran(engine, conn, work)
        return [
            [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)]
            for sql, parameters in statements
        ]


def test_the_pending_deliveries_of_devices_are_found_by_the_device_index(tmp_path: Path) -> None:
    (plan,) = _plans(
        tmp_path,
        lambda conn: store.pending_outbound(conn, [7, 8], Status.PENDING, SELFBUILT, 1_000, 100),
    )
    searches = [step for step in plan if step.startswith("SEARCH deliveries USING INDEX")]
    assert searches == [
        "SEARCH deliveries USING INDEX ix_deliveries_device_pk_status (device_pk=? AND status=?)"
    ], plan


def test_settled_deliveries_are_found_by_id(tmp_path: Path) -> None:
    plans = _plans(
        tmp_path,
        lambda conn: store.settle(conn, [3, 4], (Status.PENDING,), {"status": Status.ACKED}),
    )
    assert len(plans) == 2, plans  # the count of what changes, and the change
    for plan in plans:
        assert "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        assert not any("INDEX" in step for step in plan), plan


def test_the_due_retries_are_found_by_the_index_of_retryable_deliveries(tmp_path: Path) -> None:
    (plan,) = _plans(
        tmp_path, lambda conn: store.due_retries(conn, Status.PENDING, SELFBUILT, 1_000, 500)
    )
    searches = [step for step in plan if step.startswith("SEARCH deliveries")]
    assert searches == [
        f"SEARCH deliveries USING INDEX {RETRIES} (status=? AND next_attempt_at<?)"
    ], plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # taken in the index's order


def test_the_due_retries_are_found_by_that_index_in_a_generic_plan_on_postgresql() -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    plan it once for any parameters: a status bound as a parameter could not show that the
    rows lie within the partial index."""
    with postgres_schema() as url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        metadata.create_all(engine)
        with engine.connect() as conn:
            ((statement, parameters),) = _ran(
                engine,
                conn,
                lambda conn: store.due_retries(conn, Status.PENDING, SELFBUILT, 1_000, 500),
            )
            names: list[str] = []
            numbered = re.sub(
                r"%\((\w+)\)s",
                lambda m: names.append(m[1]) or f"${len(names)}",
                statement,
            )
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql("SET enable_seqscan = off")  # the table is empty
            conn.exec_driver_sql(f"PREPARE retries AS {numbered}")
            values = ", ".join(repr(parameters[name]) for name in names)
            plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE retries({values})")]
        engine.dispose()
    assert any(f"Index Scan using {RETRIES} on deliveries" in step for step in plan), plan
