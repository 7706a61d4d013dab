"""A/B of the deliveries' expiry index: (status, expires_at) over every delivery ("whole")
against the same columns over the open deliveries only ("open": status 0 or 1).

Two copies of the deliveries table, each beside SETTLED settled and PENDING pending deliveries,
one per index; the same work on each in turn, alternating which goes first. CPU per operation:
this thread's on SQLite (in process), the server backend's on PostgreSQL (/proc/<pid>/schedstat
of the connection's backend, on this machine). Foreign keys are left out (the same cost on both).
The copies are kept for the next run (/tmp/tidings_expiry_index/, schemas expiry_index_*).

    python bench/expiry_index.py sqlite|postgresql [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path

from sqlalchemy import Connection, create_engine, event, func, select, text

from tidings.contract import OPEN, Status
from tidings.store import deliveries as store
from tidings.store import health, revocations
from tidings.store.database import SQLITE_PRAGMAS
from tidings.store.tables import deliveries, metadata

SETTLED = int(os.environ.get("SETTLED", 1_000_000))
PENDING = int(os.environ.get("PENDING", 100_000))
DEVICES = 100_000
NOW = 1_800_000_000_000
TTL = 86_400_000
WHOLE = "ix_deliveries_status_expires_at"
OPEN_BY_EXPIRY = "ix_deliveries_open_by_expiry"
OPEN_ONLY = "status = 0 OR status = 1"  # "open": the index of those only
COLUMNS = ("id", "task_id", "message_pk", "app_pk", "device_pk", "channel", "status")
COLUMNS += ("attempts", "created_at", "expires_at", "updated_at", "stat_pk")


def engine_for(kind: str, variant: str):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        path = Path(f"/tmp/tidings_expiry_index/{variant}.db")
        path.parent.mkdir(exist_ok=True)
        fresh = not path.exists()
        engine = create_engine(f"sqlite:///{path}")

        @event.listens_for(engine, "connect")
        def pragmas(dbapi, record):  # type: ignore[no-untyped-def]
            for pragma in SQLITE_PRAGMAS:
                dbapi.execute(pragma.replace("foreign_keys=ON", "foreign_keys=OFF"))

        return engine, fresh
    schema = f"expiry_index_{variant}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as conn:
        fresh = not conn.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).first()
        if fresh:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    return create_engine(url), fresh


def populate(engine, kind: str, variant: str) -> None:  # type: ignore[no-untyped-def]
    metadata.create_all(engine)
    with engine.begin() as conn:
        if kind == "postgresql":
            for fk in ("device_pk_devices", "task_id_tasks", "message_pk_messages"):
                conn.exec_driver_sql(f"ALTER TABLE deliveries DROP CONSTRAINT fk_deliveries_{fk}")
        for name in (WHOLE, OPEN_BY_EXPIRY):  # whichever the schema of this tree has
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        where = f" WHERE {OPEN_ONLY}" if variant == "open" else ""
        name = OPEN_BY_EXPIRY if variant == "open" else WHOLE
        conn.exec_driver_sql(f"CREATE INDEX {name} ON deliveries (status, expires_at){where}")
        conn.exec_driver_sql("CREATE TABLE src (pk INTEGER PRIMARY KEY)")
        series = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"
            " SELECT i FROM n"
            if kind == "sqlite"
            else "SELECT i FROM generate_series(1, {count}) AS n(i)"
        )
        conn.exec_driver_sql(f"INSERT INTO src (pk) {series.format(count=DEVICES)}")
        # settled: 80 % acked, 10 % expired, 10 % revoked, in tasks of DEVICES deliveries,
        # expiring over the past days; then PENDING pending in one task, valid for a day
        percent = "%%" if kind == "postgresql" else "%"  # psycopg reads % as a placeholder
        status = f"CASE WHEN i {percent} 10 = 0 THEN 3 WHEN i {percent} 10 = 1 THEN 4 ELSE 2 END"
        conn.exec_driver_sql(
            f"INSERT INTO deliveries ({', '.join(COLUMNS)}) SELECT i, 1 + (i - 1) / {DEVICES},"
            f" 1 + (i - 1) / {DEVICES}, 1, 1 + (i - 1) {percent} {DEVICES}, 'selfbuilt',"
            f" {status}, 0,"
            f" {NOW - 10 * TTL} + i * 10, {NOW - 9 * TTL} + i * 10, {NOW} - i, 1"
            f" FROM ({series.format(count=SETTLED)}) AS s"
        )
        task = 1 + SETTLED // DEVICES + 1
        conn.exec_driver_sql(
            f"INSERT INTO deliveries ({', '.join(COLUMNS)}) SELECT {SETTLED} + i, {task},"
            f" {task}, 1, i, 'selfbuilt', 0, 0, {NOW}, {NOW + TTL}, {NOW}, 1"
            f" FROM ({series.format(count=PENDING)}) AS s"
        )
    if kind == "postgresql":
        with engine.begin() as conn:  # the ids above were not drawn from the sequence
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), max(id)) FROM deliveries"
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE deliveries")
            conn.exec_driver_sql("VACUUM ANALYZE src")


def whole_overdue(conn: Connection, statuses: Collection[int], now_ms: int, limit: int) -> object:
    """store.overdue as it was beside the index of every delivery."""
    query = (
        select(deliveries.c.id, deliveries.c.channel)
        .where(deliveries.c.status.in_(list(statuses)), deliveries.c.expires_at <= now_ms)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(conn.execute(query))


def whole_count(conn: Connection, status: int, now_ms: int) -> int:
    """health.deliveries_open as it was beside the index of every delivery."""
    query = select(func.count()).where(
        deliveries.c.status == status, deliveries.c.expires_at > now_ms
    )
    return conn.execute(query).scalar_one()


class Meter:
    """CPU of the work measured: this thread's (SQLite), or the backend's (PostgreSQL)."""

    def __init__(self, conn: Connection, kind: str) -> None:
        self.path = None
        if kind == "postgresql":
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.commit()
            self.path = f"/proc/{pid}/schedstat"

    def now(self) -> int:
        if self.path is None:
            return time.thread_time_ns()
        with open(self.path) as f:
            return int(f.read().split()[0])


class Bench:
    def __init__(self, kind: str, variant: str) -> None:
        self.kind, self.variant = kind, variant
        self.engine, fresh = engine_for(kind, variant)
        if fresh:
            started = time.time()
            populate(self.engine, kind, variant)
            print(f"populated {kind} {variant} in {time.time() - started:.0f} s", flush=True)
        self.conn = self.engine.connect()
        self.meter = Meter(self.conn, kind)
        self.task = 1000 + int(time.time()) % 100_000 * 100  # new tasks: no unique clash
        self.pending = (
            self.conn.execute(
                text("SELECT id FROM deliveries WHERE +status = 0 ORDER BY id DESC LIMIT 20000")
                if kind == "sqlite"
                else text("SELECT id FROM deliveries WHERE status = 0 ORDER BY id DESC LIMIT 20000")
            )
            .scalars()
            .all()
        )
        self.conn.commit()
        self.took: dict[str, list[float]] = {}

    def measure(self, name: str, work: Callable[[Connection], object]) -> None:
        started = self.meter.now()
        work(self.conn)
        self.conn.commit()
        self.took.setdefault(name, []).append((self.meter.now() - started) / 1e6)

    def round(self) -> None:
        self.task += 1
        task = self.task
        ids = store.new_delivery_ids(self.conn, 100)
        rows = [
            (i, task, task, 1, d, "selfbuilt", 0, 0, NOW, NOW + TTL, NOW, 1)
            for i, d in zip(ids, range(1, 101), strict=True)
        ]
        self.conn.commit()
        self.measure("insert 100 (multi-row)", lambda c: store.insert_deliveries(c, COLUMNS, rows))
        self.task += 1
        task = self.task
        select_sql = (
            "INSERT INTO deliveries (task_id, message_pk, app_pk, device_pk, channel, status,"
            " attempts, created_at, expires_at, updated_at, stat_pk) SELECT"
            f" {task}, {task}, 1, pk, 'selfbuilt', 0, 0, {NOW}, {NOW + TTL}, {NOW}, 1"
            " FROM src WHERE pk <= 5000"
        )
        self.measure("insert…select 5000", lambda c: c.exec_driver_sql(select_sql))
        chosen, self.pending = self.pending[:100], self.pending[100:]
        values = {"status": Status.ACKED, "acked_at": NOW, "updated_at": NOW}
        self.measure("settle (ack) 100", lambda c: store.settle(c, chosen, (0, 3), values))
        if self.variant == "open":
            overdue, count = store.overdue, health.deliveries_open
        else:
            overdue, count = whole_overdue, whole_count
        self.measure("overdue (none due)", lambda c: overdue(c, OPEN, NOW, 1000))
        self.measure("deliveries_open pending", lambda c: count(c, 0, NOW))
        self.measure("deliveries_open no_bind", lambda c: count(c, 1, NOW))
        self.measure(
            "count acked of a task", lambda c: revocations.count_deliveries(c, 2, task_ids=[3])
        )
        acked = [i for i in range(200_002, 200_202) if i % 10 > 1][:100]  # settled, not revoked
        self.measure("restore 100 (none revoked)", lambda c: revocations.restore(c, acked, 4, 2))


def main() -> None:
    kind = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    benches = [Bench(kind, "whole"), Bench(kind, "open")]
    for r in range(rounds):
        for bench in benches if r % 2 == 0 else reversed(benches):
            bench.round()
    print(f"{kind}: {SETTLED} settled + {PENDING} pending, {rounds} rounds, loadavg", end=" ")
    print(Path("/proc/loadavg").read_text().strip())
    print(f"{'ms CPU, min / median':28} {'whole':>16} {'open only':>16}")
    for name in benches[0].took:
        cells = [
            f"{min(b.took[name]):7.2f} / {statistics.median(b.took[name]):6.2f}" for b in benches
        ]
        print(f"{name:28} {cells[0]:>16} {cells[1]:>16}")
    for bench in benches:
        bench.conn.close()
        bench.engine.dispose()


if __name__ == "__main__":
    main()
