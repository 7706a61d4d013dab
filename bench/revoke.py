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
behind the revocation; and the event loop's longest stall meanwhile (how late a 1 ms sleep
woke: what the revocation's work on the loop, such as building a batch's Outbounds, and a
collection held it).

Then the vendor leg, as many runs: the same broadcast, its deliveries made over as accepted by a
vendor that recalls (``hms``, untimed), revoked with an in-process vendor channel that takes
every one back at once. Its pages only mark the deliveries as being asked; the vendor's
agreements are written after, a page of them at a time (each delivery moved to revoked), and
these writes are timed apart: their number, the longest (wall and CPU), the CPU of all of them.
The same figures run on main's code (``PYTHONPATH=/work/main/src``). ``--unreached`` makes the
vendor out of reach instead (every recall to be asked again: that answer's write, with its
trace event, is timed; this branch's code only).

    python bench/revoke.py [--devices 100000] [--runs 5] [--database-url URL] [--no-vendor]
        [--unreached]
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
from tidings.contract import NotRecalled
from tidings.openapi.pushcalls import BroadcastFields
from tidings.revoke.service import Revocations
from tidings.services import Services
from tidings.store.database import Database
from tidings.store.tables import deliveries, tasks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.push.test_broadcast import CALL

from broadcast import APP_ID, TEMPLATE, WORKSPACE, setup
from procs import console, fresh_database, spread_table

PROBE_MS = 2  # how often the probe submits its write
VENDOR = "hms"  # a vendor that recalls
ACKED = 2  # contract.Status.ACKED: a vendor accepted it


class TimedWrites:
    """A Database for the revocation alone: each of its writes timed inside its transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.held: list[tuple[float, float]] = []  # (wall, thread CPU) seconds of each write
        self.names: list[str] = []  # the work of each write

    async def read(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self._db.read(work, *args, **kwargs)

    async def write(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def timed(conn: Connection, *args: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return work(conn, *args, **kwargs)
            finally:
                self.held.append((time.perf_counter() - wall, time.thread_time() - cpu))
                self.names.append(work.__name__)

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


class AgreeingVendor:
    """A vendor channel that recalls and takes back every delivery it is asked for at once (or,
    ``unreached``, cannot be reached for any): what is timed is Tidings' writing of the
    answers, not a vendor's latency."""

    name = VENDOR
    can_recall = True
    recall_asks_vendor = True

    def __init__(self, unreached: bool) -> None:
        self._unreached = unreached

    async def recall(self, device_pks: Any, delivered: Any = ()) -> list[Any]:
        if not self._unreached:
            return []
        return [NotRecalled(out.id, 2107, "503", unreached=True) for out in delivered]

    async def send(self, batch: Any) -> list[Any]:
        return []

    async def aclose(self) -> None:
        pass


def made_over_to_the_vendor(conn: Connection, task_id: int, now_ms: int) -> None:
    """The broadcast's deliveries as if the vendor had accepted them all."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.task_id == task_id)
        .values(channel=VENDOR, status=ACKED, sent_at=now_ms, updated_at=now_ms)
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


async def stalls(stop: asyncio.Event, gaps: list[float]) -> None:
    """The event loop's stalls: how late each 1 ms sleep wakes (the longest is reported)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        gaps.append(time.perf_counter() - started - 0.001)


async def dispatched(db: Database, task_id: int) -> None:
    state = select(tasks.c.state).where(tasks.c.id == task_id)
    while await db.read(lambda conn: conn.execute(state).scalar()) != "dispatched":
        await asyncio.sleep(0.05)


async def one_run(
    services: Services, figures: dict[str, list[float]], vendor: bool, unreached: bool = False
) -> None:
    app = await services.tenancy.resolve_app(WORKSPACE, APP_ID, None)
    task_id = await services.pushes.push_broadcast(app, broadcast_call().call())
    await dispatched(services.db, task_id)
    channels = dict(services.channels)
    if vendor:
        await services.db.write(made_over_to_the_vendor, task_id, int(time.time() * 1000))
        channels[VENDOR] = AgreeingVendor(unreached)  # type: ignore[assignment]
    timed = TimedWrites(services.db)
    revocations = Revocations(timed, channels)  # type: ignore[arg-type]
    stop, waits = asyncio.Event(), []
    probing = asyncio.create_task(probe(services.db, task_id, stop, waits))
    gaps: list[float] = []
    watching = asyncio.create_task(stalls(stop, gaps))
    await asyncio.sleep(0.05)  # the probe's first writes, before the revocation
    started = time.perf_counter()
    result = await revocations.revoke_task(app.pk, str(task_id))
    took = time.perf_counter() - started
    stop.set()
    await probing
    await watching
    console.print(f"{result} (load {os.getloadavg()[0]:.1f})")
    if vendor:
        answers = [
            held for held, name in zip(timed.held, timed.names, strict=True) if name == "_answered"
        ]
        assert answers, "no vendor answers were written"
        for name, value in {
            "RevokePushTask (s)": took,
            "its write transactions": len(timed.held),
            "longest of them, CPU (ms)": max(cpu for _, cpu in timed.held) * 1000,
            "all of them, CPU (ms)": sum(cpu for _, cpu in timed.held) * 1000,
            "the answers' writes": len(answers),
            "longest answer write (ms)": max(wall for wall, _ in answers) * 1000,
            "longest answer write, CPU (ms)": max(cpu for _, cpu in answers) * 1000,
            "all answer writes, CPU (ms)": sum(cpu for _, cpu in answers) * 1000,
            "a small write's longest wait (ms)": max(waits) * 1000,
            "a small write's median wait (ms)": statistics.median(waits) * 1000,
            "the event loop's longest stall (ms)": max(gaps) * 1000,
        }.items():
            figures.setdefault(name, []).append(value)
        return
    for name, value in {
        "RevokePushTask (s)": took,
        "its write transactions": len(timed.held),
        "longest of them (ms)": max(wall for wall, _ in timed.held) * 1000,
        "longest of them, CPU (ms)": max(cpu for _, cpu in timed.held) * 1000,
        "all of them, CPU (ms)": sum(cpu for _, cpu in timed.held) * 1000,
        "a small write's longest wait (ms)": max(waits) * 1000,
        "a small write's median wait (ms)": statistics.median(waits) * 1000,
        "the event loop's longest stall (ms)": max(gaps) * 1000,
    }.items():
        figures.setdefault(name, []).append(value)


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    console.print(f"writing {args.devices:,} offline devices ...")
    await setup(settings, args.devices)
    services = await Services.open(settings)
    figures: dict[str, list[float]] = {}
    by_vendor: dict[str, list[float]] = {}
    try:
        services.delivery.start()
        for number in range(1, args.runs + 1):
            console.rule(f"run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
            await one_run(services, figures, vendor=False)
        for number in range(1, args.runs + 1 if args.vendor else 1):
            console.rule(f"vendor run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
            await one_run(services, by_vendor, vendor=True, unreached=args.unreached)
    finally:
        await services.aclose()
    title = (
        f"RevokePushTask of a broadcast to {args.devices:,} devices (load {os.getloadavg()[0]:.1f})"
    )
    console.print(spread_table(title, table_rows(figures)))
    if by_vendor:
        title = (
            f"RevokePushTask of a broadcast to {args.devices:,} devices {VENDOR} accepted and "
            f"{'cannot be reached for' if args.unreached else 'takes back'} "
            f"(load {os.getloadavg()[0]:.1f})"
        )
        console.print(spread_table(title, table_rows(by_vendor)))


def table_rows(figures: dict[str, list[float]]) -> list[tuple[str, dict[str, list[float]], str]]:
    rows = []
    for name, values in figures.items():
        shape = "{:.2f}" if "(s)" in name else "{:,.1f}"
        rows.append((name, {"min": [min(values)], "median": [statistics.median(values)]}, shape))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (a fresh schema)")
    parser.add_argument(
        "--no-vendor", dest="vendor", action="store_false", help="without the vendor leg"
    )
    parser.add_argument(
        "--unreached", action="store_true", help="the vendor leg's vendor cannot be reached"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tidings-revoke-") as directory,
        fresh_database(args.database_url, Path(directory), "server") as url,
    ):
        args.database_url = None if args.database_url is None else url
        asyncio.run(run(args, Path(directory)))


if __name__ == "__main__":
    main()
