"""The reads of a few deliveries by device or by id go through the index of what they are
looked up by, however many deliveries are pending for other devices: a broadcast to 100,000
offline devices left that many pending, and SQLite's planner (with no statistics) took the
(status, expires_at) index instead, walking all of them for a connecting device's owed read
(30 ms) and for every batch of acks (33 ms for 20). The retry sweep (every 10 s) walked them
all too, for the few vendor deliveries due again (100 ms beside 1,000,000 pending on SQLite;
on PostgreSQL a scan of the whole table), until they had an index of their own. The expiry
sweep and /metrics read the open deliveries by a partial index of those only; revoking a task's
deliveries walked every acked one while that index held every delivery, and now revokes them a
range of ids at a time. Moving deliveries whose
vendor token died to the self-built channel walked every pending one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event

from tests.support.servers import postgres_schema
from tidings.contract import OPEN, SELFBUILT, Status
from tidings.store import deliveries as store
from tidings.store import health, revocations
from tidings.store.tables import OPEN_BY_EXPIRY, RECALLS, RETRIES, metadata


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


def _traced_plans(tmp_path: Path, work: Callable[[Connection], object]) -> list[list[str]]:
    """SQLite's query plan of each statement ``work`` runs through the driver's cursor
    (store/plain.py), which SQLAlchemy's events do not see: as SQLite traces it, with its
    values written in (the driver's own BEGIN left out)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        ran: list[str] = []
        conn.connection.driver_connection.set_trace_callback(ran.append)  # type: ignore[union-attr]
        try:
            work(conn)
        finally:
            conn.connection.driver_connection.set_trace_callback(None)  # type: ignore[union-attr]
        return [
            [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            for sql in ran
            if sql != "BEGIN "
        ]


def test_settled_deliveries_are_found_by_id(tmp_path: Path) -> None:
    plans = _traced_plans(
        tmp_path,
        lambda conn: store.settle(conn, [3, 4, 5], (Status.PENDING,), {"status": Status.ACKED}),
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


def test_overdue_deliveries_are_found_by_the_index_of_open_deliveries(tmp_path: Path) -> None:
    plans = _plans(tmp_path, lambda conn: store.overdue(conn, OPEN, 1_000, 500))
    # in the index's order, up to the limit: no sorting of every overdue delivery first
    step = f"SEARCH deliveries USING INDEX {OPEN_BY_EXPIRY} (status=? AND expires_at<?)"
    assert plans == [[step], [step]], plans


def test_open_deliveries_are_counted_in_the_index_of_open_deliveries(tmp_path: Path) -> None:
    plans = _plans(
        tmp_path,
        lambda conn: [health.deliveries_open(conn, s, 1_000) for s in sorted(OPEN)],
    )
    step = f"SEARCH deliveries USING COVERING INDEX {OPEN_BY_EXPIRY} (status=? AND expires_at>?)"
    assert plans == [[step], [step]], plans


def test_a_page_of_revoked_deliveries_is_one_range_of_the_message_index(tmp_path: Path) -> None:
    """Not by their status (acked deliveries are most of the table), nor by the task, whose
    index would be walked whole for every page: a broadcast's 100,000 deliveries for each of its
    pages of 1,000. An occurrence's are found the same way, its task checked on each row."""

    def revoke(conn: Connection) -> None:
        for scope in (revocations.Scope((3,)), revocations.Scope((3, 4), task_id=9)):
            page = (10, 20)
            revocations.revoke_deliveries(conn, 1_000, Status.REVOKED, OPEN, scope, page)
            revocations.recall_delivered(
                conn, 1_000, 2_000, Status.REVOKED, Status.ACKED, scope, page, ["sb"], ["hms"]
            )
            revocations.count_deliveries(conn, Status.ACKED, scope, page)

    plans = _traced_plans(tmp_path, revoke)  # run through the driver
    assert len(plans) == 6, plans
    for plan in plans:
        assert plan == [
            "SEARCH deliveries USING INDEX ix_deliveries_message_pk "
            "(message_pk=? AND rowid>? AND rowid<?)"
        ], plan


def test_recalls_are_taken_and_settled_by_id(tmp_path: Path) -> None:
    plans = _traced_plans(  # recalled runs through the driver
        tmp_path,
        lambda conn: (
            revocations.claim_recalls(conn, [1, 2], 1_000, 2_000),
            revocations.recalled(conn, [3, 4], Status.ACKED, Status.REVOKED, 1_000),
            revocations.not_recalled(conn, [5, 6]),
        ),
    )
    assert plans == [["SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"]] * 3, plans


def test_recalls_left_unanswered_are_found_by_the_index_of_recalls(tmp_path: Path) -> None:
    (plan,) = _plans(tmp_path, lambda conn: revocations.overdue_recalls(conn, 1_000, ["hms"], 100))
    assert plan == [
        f"SEARCH deliveries USING INDEX {RECALLS} (recall_due_at>? AND recall_due_at<?)"
    ], plan  # in the index's order, up to the limit


def _generic_plan(work: Callable[[Connection], object]) -> list[str]:
    """PostgreSQL's generic plan of the one statement ``work`` runs: psycopg prepares a
    statement run five times on a connection, and PostgreSQL may then plan it once for any
    parameters, where a status bound as a parameter could not show that the rows lie within a
    partial index."""
    with postgres_schema() as url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        metadata.create_all(engine)
        with engine.connect() as conn:
            ((statement, parameters),) = _ran(engine, conn, work)
            names: list[str] = []
            numbered = re.sub(
                r"%\((\w+)\)s",
                lambda m: names.append(m[1]) or f"${len(names)}",
                statement,
            )
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql("SET enable_seqscan = off")  # the table is empty
            conn.exec_driver_sql(f"PREPARE generic AS {numbered}")
            values = ", ".join(repr(parameters[name]) for name in names)
            plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE generic({values})")]
        engine.dispose()
    return plan


def test_the_due_retries_are_found_by_that_index_in_a_generic_plan_on_postgresql() -> None:
    plan = _generic_plan(
        lambda conn: store.due_retries(conn, Status.PENDING, SELFBUILT, 1_000, 500)
    )
    assert any(f"Index Scan using {RETRIES} on deliveries" in step for step in plan), plan


def test_overdue_deliveries_are_found_by_the_open_index_in_a_generic_plan_on_postgresql() -> None:
    for status in OPEN:
        plan = _generic_plan(lambda conn, status=status: store.overdue(conn, {status}, 1_000, 500))
        assert any(f"Index Scan using {OPEN_BY_EXPIRY} on deliveries" in step for step in plan), (
            plan
        )


def test_pending_deliveries_are_counted_in_the_open_index_in_a_generic_plan_on_postgresql() -> None:
    """(The waiting ones may be counted in the partial index of waiting deliveries.)"""
    plan = _generic_plan(lambda conn: health.deliveries_open(conn, Status.PENDING, 1_000))
    assert any(f"Index Only Scan using {OPEN_BY_EXPIRY} on deliveries" in step for step in plan), (
        plan
    )


def test_the_expiry_sweep_does_not_scan_the_table_on_postgresql() -> None:
    """Beside many settled deliveries whose validity is over and open ones still valid,
    PostgreSQL's statistics (status and expiry counted apart) promised open overdue ones all
    over the table, so that reading on until 500 were found looked cheapest: a scan of the
    whole table every sweep, finding none (116 ms beside 1,000,000 settled deliveries)."""
    with postgres_schema() as url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no references
            conn.exec_driver_sql(
                "INSERT INTO deliveries (task_id, message_pk, app_pk, device_pk, status,"
                " attempts, created_at, expires_at, updated_at)"
                " SELECT 1, 1, 1, i, CASE WHEN i <= 50000 THEN 2 ELSE 0 END, 0, 0,"
                " CASE WHEN i <= 50000 THEN i ELSE 1000000 + i END, 0"
                " FROM generate_series(1, 60000) AS s(i)"
            )
            conn.exec_driver_sql("ANALYZE deliveries")
            ran = _ran(engine, conn, lambda conn: store.overdue(conn, OPEN, 500_000, 500))
            plans = [
                [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
                for statement, parameters in ran
            ]
        engine.dispose()
    assert plans and not any("Seq Scan" in step for plan in plans for step in plan), plans


def test_deliveries_moved_to_another_channel_are_found_by_id(tmp_path: Path) -> None:
    (plan,) = _plans(
        tmp_path,
        lambda conn: store.move_to_channel(conn, [3, 4], [], SELFBUILT, Status.PENDING, 1_000),
    )
    assert "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    assert not any("INDEX" in step for step in plan), plan


def test_recalls_left_unanswered_are_found_by_that_index_in_a_generic_plan_on_postgresql() -> None:
    plan = _generic_plan(lambda conn: revocations.overdue_recalls(conn, 1_000, ["hms"], 100))
    assert any(f"Index Scan on {RECALLS}" in step for step in plan), plan  # a bitmap one
