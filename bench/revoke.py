"""Revoke benchmark: RevokePushTask of a broadcast to 100,000 offline devices, and what it does to
every other write meanwhile.

SQLite has one writer: while a revocation holds it, every other write (a PushMultiple's
acceptance, a batch of acks, a dispatch) waits. This isolates that: in one process, the
services on a fresh data directory (or PostgreSQL schema with ``--database-url``) with
``--devices`` devices written in bulk (bench/broadcast.py's set-up), the dispatcher running.
Each run, untimed, sends a PushBroadcast to every device through the services and waits until
its deliveries are written; then, timed, revokes it while a probe submits a one-row write every
``PROBE_MS`` ms and times each until it commits.

Figures, each min and median over ``--runs`` runs (five by default, each a new broadcast beside
the earlier, revoked ones): the revocation's whole time, the number of write transactions it
took, the longest one (wall and CPU of the thread, inside the transaction, commit excluded), the
CPU of all of them, and the probe's longest and median wait: how long a small write waits
behind the revocation.

    python bench/revoke.py [--devices 100000] [--runs 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from tidings.config import Settings
from tidings.openapi.pushcalls import BroadcastFields
from tidings.revoke.service import Revocations
from tidings.services import Services
from tidings.store.database import Database
from tidings.store.tables import tasks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.push.test_broadcast import CALL

from broadcast import APP_ID, TEMPLATE, WORKSPACE, setup
from procs import console, fresh_database, spread_table

PROBE_MS = 2  # how often the probe submits its write


class TimedWrites:
    """A Database for the revocation alone: each of its writes timed inside its transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.held: list[tuple[float, float]] = []  # (wall, thread CPU) seconds of each write

    async def read(self, work: Callable[..., Any], *args: Any) -> Any:
        return await self._db.read(work, *args)

    async def write(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def timed(conn: Connection, *args: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return work(conn, *args, **kwargs)
            finally:
                self.held.append((time.perf_counter() - wall, time.thread_time() - cpu))

        return await self._db.write(timed, *args)


def broadcast_call() -> BroadcastFields:
    """PushBroadcast to every device (PushStatus 1), with the bench's template."""
    return replace(
        CALL,
        template_name=TEMPLATE,
        template_key_value='{"name": "user", "news": "maintenance"}',
        msg_key=uuid.uuid4().hex,
        push_status="1",
        unbind_period="4",
    )


def touch(conn: Connection, task_id: int) -> None:
    """The probe: a one-row write, as small as any the server makes."""
    conn.execute(update(tasks).where(tasks.c.id == task_id).values(name=tasks.c.name))


async def probe(db: Database, task_id: int, stop: asyncio.Event, waits: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await db.write(touch, task_id)
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(PROBE_MS / 1000)


async def dispatched(db: Database, task_id: int) -> None:
    state = select(tasks.c.state).where(tasks.c.id == task_id)
    while await db.read(lambda conn: conn.execute(state).scalar()) != "dispatched":
        await asyncio.sleep(0.05)


async def one_run(services: Services, figures: dict[str, list[float]]) -> None:
    app = await services.tenancy.resolve_app(WORKSPACE, APP_ID, None)
    task_id = await services.pushes.push_broadcast(app, broadcast_call().call())
    await dispatched(services.db, task_id)
    timed = TimedWrites(services.db)
    revocations = Revocations(timed, services.channels)  # type: ignore[arg-type]
    stop, waits = asyncio.Event(), []
    probing = asyncio.create_task(probe(services.db, task_id, stop, waits))
    await asyncio.sleep(0.05)  # the probe's first writes, before the revocation
    started = time.perf_counter()
    result = await revocations.revoke_task(app.pk, str(task_id))
    took = time.perf_counter() - started
    stop.set()
    await probing
    console.print(f"{result} (load {os.getloadavg()[0]:.1f})")
    for name, value in {
        "RevokePushTask (s)": took,
        "its write transactions": len(timed.held),
        "longest of them (ms)": max(wall for wall, _ in timed.held) * 1000,
        "longest of them, CPU (ms)": max(cpu for _, cpu in timed.held) * 1000,
        "all of them, CPU (ms)": sum(cpu for _, cpu in timed.held) * 1000,
        "a small write's longest wait (ms)": max(waits) * 1000,
        "a small write's median wait (ms)": statistics.median(waits) * 1000,
    }.items():
        figures.setdefault(name, []).append(value)


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    console.print(f"writing {args.devices:,} offline devices ...")
    await setup(settings, args.devices)
    services = await Services.open(settings)
    figures: dict[str, list[float]] = {}
    try:
        services.delivery.start()
        for number in range(1, args.runs + 1):
            console.rule(f"run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
            await one_run(services, figures)
    finally:
        await services.aclose()
    rows = []
    for name, values in figures.items():
        shape = "{:.2f}" if "(s)" in name else "{:,.1f}"
        rows.append((name, {"min": [min(values)], "median": [statistics.median(values)]}, shape))
    title = (
        f"RevokePushTask of a broadcast to {args.devices:,} devices (load {os.getloadavg()[0]:.1f})"
    )
    console.print(spread_table(title, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (a fresh schema)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tidings-revoke-") as directory,
        fresh_database(args.database_url, Path(directory), "server") as url,
    ):
        args.database_url = None if args.database_url is None else url
        asyncio.run(run(args, Path(directory)))


if __name__ == "__main__":
    main()
