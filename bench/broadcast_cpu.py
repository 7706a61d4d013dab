"""Broadcast materialisation micro-bench: the CPU of resolving one due broadcast into deliveries,
set against the insert-select floor of bench/broadcast.py, in process and in one thread.

Each run makes a fresh database (SQLite file, or a fresh PostgreSQL schema with
``--database-url``) holding ``--devices`` Android devices of one app (rows like
bench/broadcast.py's) and one accepted PushBroadcast to every device, then calls
``resolve_batch`` (delivery/audience_batches.py) a transaction at a time, as dispatch's writer
does (first, untimed, once for another app's broadcast to a few devices, as a server has run
its statements before), until the broadcast is dispatched, timed by the thread's CPU clock
(on PostgreSQL the database server's CPU is not in it: read the seconds there). Then the floor
writes the same rows into a fresh copy (bench/broadcast.py ``floor``, insert-select). The event
loop, the API call and telling online devices are left out: bench/broadcast.py measures them
with the rest (in its server, the writer thread holds nearly all the CPU of a broadcast).
Prints the CPU (and seconds) per delivery of both, and their ratio, min and median of
``--runs``, with the load average.

    python bench/broadcast_cpu.py [--devices 100000] [--runs 5] [--database-url URL]
                                  [--side tidings|floor|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select, update

from tidings.contract import SELFBUILT
from tidings.delivery.audience import Audience, Window
from tidings.delivery.audience_batches import resolve_batch
from tidings.store.chunks import chunks
from tidings.store.database import Database
from tidings.store.rows import insert_rows
from tidings.store.tables import apps, deliveries, messages, tasks
from tidings.tasks import DISPATCHED

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.rows import one_push

from broadcast import DEVICE_COLUMNS, copy_push, floor, offline_devices
from procs import fresh_database

WARM_UP = 10


def tidings_side(url: str, count: int) -> tuple[float, float]:
    """CPU seconds and seconds of resolving a broadcast to ``count`` devices, page by page."""
    db = Database(url)
    db.migrate()
    now = int(time.time() * 1000)
    with db.engine.begin() as conn:
        one_push(conn, action="PushBroadcast", delivery_type=1, now=now)
        for chunk in chunks(offline_devices(1, count), 10_000):
            insert_rows(conn, "devices", DEVICE_COLUMNS, chunk)
        # the warm-up: app 2's broadcast, due first, to a few devices of its own
        conn.execute(
            insert(apps).values(pk=2, workspace_pk=1, app_id="b", timezone="UTC", created_at=0)
        )
        copy_push(conn, 2)
        conn.execute(update(tasks).where(tasks.c.id == 2).values(app_pk=2, due_at=now - 1))
        conn.execute(update(messages).where(messages.c.pk == 2).values(app_pk=2))
        insert_rows(conn, "devices", DEVICE_COLUMNS, offline_devices(2, WARM_UP))
        audience = Audience("android", Window(), Window()).to_json()
        conn.execute(update(tasks).values(state="accepted", audience=audience))
    channels = frozenset({SELFBUILT})
    # untimed, one page: a server has its statements compiled already
    resolve(db, now, channels, pages=1)
    started = time.perf_counter()
    cpu = time.thread_time()
    resolve(db, now, channels)
    took = time.thread_time() - cpu, time.perf_counter() - started
    with db.engine.connect() as conn:
        assert conn.execute(select(tasks.c.state).where(tasks.c.id == 1)).scalar() == DISPATCHED
        made = select(func.count()).where(deliveries.c.task_id == 1)
        assert conn.execute(made).scalar() == count
    asyncio.run(db.aclose())
    return took


def resolve(db: Database, now: int, channels: frozenset[str], pages: int | None = None) -> None:
    """Resolve what is due, a page a transaction, until nothing is (or ``pages`` pages)."""
    while pages is None or pages > 0:
        with db.engine.begin() as conn:
            if not resolve_batch(conn, now, channels).claimed:
                return
        pages = None if pages is None else pages - 1


def floor_side(url: str, count: int) -> tuple[float, float]:
    seconds, cpu = asyncio.run(floor(url, count, "insert-select", earlier=0))
    return cpu, seconds


SIDES = {"tidings": tidings_side, "floor": floor_side}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (a fresh schema)")
    parser.add_argument("--side", choices=("tidings", "floor", "both"), default="both")
    args = parser.parse_args()
    sides = list(SIDES) if args.side == "both" else [args.side]
    found: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for number in range(args.runs):
        for side in sides:
            with (
                tempfile.TemporaryDirectory(prefix="tidings-broadcast-cpu-") as directory,
                fresh_database(args.database_url, Path(directory), f"{side}{number}") as url,
            ):
                found[side].append(SIDES[side](url, args.devices))
    load = os.getloadavg()[0]
    for side, runs in found.items():
        cpu = [c * 1e6 / args.devices for c, _ in runs]
        wall = [s * 1e6 / args.devices for _, s in runs]
        print(
            f"{side:8} CPU µs a delivery: min {min(cpu):5.2f} median {statistics.median(cpu):5.2f}"
            f"   wall µs: min {min(wall):5.2f} median {statistics.median(wall):5.2f}"
            f"  (load {load:.1f})"
        )
    if len(found) == 2:
        ratios = [f[0] / t[0] for t, f in zip(found["tidings"], found["floor"], strict=True)]
        print(
            f"CPU ratio floor/tidings (pairs): min {min(ratios):.2f}"
            f" median {statistics.median(ratios):.2f} max {max(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
