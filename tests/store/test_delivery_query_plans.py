"""The reads of a few deliveries by device or by id go through the index of what they are
looked up by, however many deliveries are pending for other devices: a broadcast to 100,000
offline devices left that many pending, and SQLite's planner (with no statistics) took the
(status, expires_at) index instead, walking all of them for a connecting device's owed read
(30 ms) and for every batch of acks (33 ms for 20)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, create_engine, event

from tidings.contract import SELFBUILT, Status
from tidings.store import deliveries as store
from tidings.store.tables import metadata


def _plans(tmp_path: Path, work: Callable[[Connection], object]) -> list[list[str]]:
    """SQLite's query plan of each statement ``work`` runs on the deliveries schema."""
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    metadata.create_all(engine)
    ran: list[tuple[str, tuple]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        ran.append((statement, parameters))

    with engine.connect() as conn:
        work(conn)
        statements = list(ran)  # not the EXPLAINs that follow
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
