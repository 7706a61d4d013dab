"""What a device is owed is read through the deliveries' device index, however many deliveries
are pending for other devices: a broadcast to 100,000 offline devices left that many pending,
and SQLite's planner (with no statistics) took the (status, expires_at) index for the read of a
connecting device, walking all of them (30 ms a connect)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event

from tidings.contract import SELFBUILT, Status
from tidings.store import deliveries as store
from tidings.store.tables import metadata


def test_the_pending_deliveries_of_devices_are_found_by_the_device_index(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'owed.db'}")
    metadata.create_all(engine)
    ran: list[tuple[str, tuple]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        ran.append((statement, parameters))

    with engine.connect() as conn:
        store.pending_outbound(conn, [7, 8], Status.PENDING, SELFBUILT, 1_000, 100)
        ((statement, parameters),) = ran
        plan = [
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    searches = [step for step in plan if step.startswith("SEARCH deliveries USING INDEX")]
    assert searches == [
        "SEARCH deliveries USING INDEX ix_deliveries_device_pk_status (device_pk=? AND status=?)"
    ], plan
